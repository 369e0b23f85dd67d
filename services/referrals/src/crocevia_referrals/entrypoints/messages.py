"""Messages between the two agencies of a referral over HTTP: write one (JSON, or a
``multipart/form-data`` form with files), read the thread, mark messages read, download a
file. Reading a thread or a file is recorded in the access log like any read of a person's
details."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from crocevia_common.auth import Principal, Role, require
from crocevia_common.inputs import IdText
from crocevia_common.multipart import MultipartError, Part, is_multipart, parse_form_data
from crocevia_common.problems import Problem
from crocevia_referrals import message_views
from crocevia_referrals.domain.access_log import Channel, Purpose
from crocevia_referrals.domain.messages import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from crocevia_referrals.entrypoints.deps import answered_as_problems, node_of, not_found, own_agency, reads_of
from crocevia_referrals.handlers.access_log import record_reads
from crocevia_referrals.handlers.messages import Upload, mark_read, send_message
from crocevia_referrals.message_views import MessageQueries, Thread

router = APIRouter(tags=["messages"])
Staff = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.SYSTEM))]
Actor = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]

# What a route that takes files accepts: every file at its largest, and a margin for the rest.
MESSAGE_BODY_BYTES = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + 1024 * 1024
MAX_PARTS = MAX_ATTACHMENTS + 2  # the files, the text, a page's form token
MESSAGE_ROUTES = (r"/referrals/[^/]+/messages", r"/ui/referrals/[^/]+/messages")


def message_queries_of(request: Request) -> MessageQueries:
    queries: MessageQueries = request.app.state.message_reads
    return queries


def bad_form(detail: str) -> Problem:
    return Problem(400, "invalid-message", "Not a message", detail)


def read_parts(parts: list[Part]) -> tuple[str, list[Upload]]:
    """The text and the files of a message form (fields ``text`` and ``files``; a file input
    left empty sends a part without name nor bytes); raise MultipartError for another form."""
    texts = [p.text for p in parts if p.name == "text" and p.filename is None]
    files = [p for p in parts if p.name == "files"]
    if len(texts) > 1 or len(texts) + len(files) != len(parts):
        raise MultipartError("a message form holds one field text and files named files")
    chosen = [Upload(p.filename or "", p.content) for p in files if p.filename or p.content]
    return (texts[0] if texts else ""), chosen


async def message_of(request: Request) -> tuple[str, list[Upload]]:
    """A message as posted: JSON ``{"text": ...}``, or a form with its files."""
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if is_multipart(content_type):
        try:
            return read_parts(parse_form_data(content_type, body, MAX_PARTS))
        except MultipartError as exc:
            raise bad_form(str(exc)) from None
    try:
        posted = json.loads(body)
    except ValueError:
        raise bad_form('send JSON {"text": ...} or a multipart/form-data form') from None
    if not isinstance(posted, dict) or set(posted) != {"text"} or not isinstance(posted["text"], str):
        raise bad_form('a JSON message is {"text": "..."}; files go in a multipart/form-data form')
    return posted["text"], []


@router.post(
    "/referrals/{referral_id}/messages",
    status_code=201,
    summary="Write to the other agency of a referral, with files (PDF, PNG, JPEG) if any",
)
async def post_message(referral_id: IdText, principal: Actor, request: Request) -> JSONResponse:
    own_agency(request, principal, referral_id)
    text, uploads = await message_of(request)
    with answered_as_problems(referral_id):
        message_id = await send_message(node_of(request), principal, referral_id, text, uploads)
    location = {"Location": f"/referrals/{referral_id}/messages#{message_id}"}
    return JSONResponse({"id": message_id, "referral_id": referral_id}, status_code=201, headers=location)


@router.get("/referrals/{referral_id}/messages", response_model=Thread, summary="A referral's messages")
async def get_messages(
    referral_id: IdText, principal: Staff, request: Request, purpose: Purpose = Purpose.CARE
) -> Thread:
    own_agency(request, principal, referral_id)
    found = await message_views.thread(reads_of(request), message_queries_of(request), referral_id)
    if found is None:
        raise not_found(referral_id)
    await record_reads(node_of(request), principal, [referral_id], purpose, Channel.API)
    return found


@router.post("/referrals/{referral_id}/messages/read", summary="Mark every message of the other agency read")
async def read_all(referral_id: IdText, principal: Actor, request: Request) -> dict[str, int]:
    own_agency(request, principal, referral_id)
    with answered_as_problems(referral_id):
        marked = await mark_read(node_of(request), principal, referral_id)
    return {"marked": marked}


@router.post("/referrals/{referral_id}/messages/{message_id}/read", summary="Mark a message read")
async def read_one(referral_id: IdText, message_id: IdText, principal: Actor, request: Request) -> dict[str, int]:
    own_agency(request, principal, referral_id)
    with answered_as_problems(referral_id):
        marked = await mark_read(node_of(request), principal, referral_id, [message_id])
    return {"marked": marked}


@router.get(
    "/referrals/{referral_id}/attachments/{attachment_id}",
    summary="A file of a referral's messages, with the type its bytes showed",
    response_class=Response,
)
async def get_attachment(
    referral_id: IdText, attachment_id: IdText, principal: Staff, request: Request, purpose: Purpose = Purpose.CARE
) -> Response:
    own_agency(request, principal, referral_id)
    found = await message_views.attachment(message_queries_of(request), referral_id, attachment_id)
    if found is None:
        detail = f"no attachment {attachment_id} on referral {referral_id} here"
        raise Problem(404, "attachment-not-found", "No such attachment", detail)
    await record_reads(node_of(request), principal, [referral_id], purpose, Channel.API)
    info, content = found
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(info.name)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=info.media_type, headers=headers)
