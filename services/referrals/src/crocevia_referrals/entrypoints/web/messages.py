"""A referral's messages on its page: writing one with files (a ``multipart/form-data`` form
carrying the session's form token), and a file opened from the thread (recorded in the access
log like the page)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from crocevia_common.multipart import MultipartError, parse_form_data
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.session import CSRF_FIELD, Form, PageRefused, check_form_token
from crocevia_referrals import message_views
from crocevia_referrals.domain.access_log import Channel
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.entrypoints.deps import node_of
from crocevia_referrals.entrypoints.messages import MAX_PARTS, message_queries_of, read_parts
from crocevia_referrals.entrypoints.web.deps import Staff, own_agency, problem_text, purpose_of
from crocevia_referrals.entrypoints.web.referral import render_referral
from crocevia_referrals.handlers.access_log import record_reads
from crocevia_referrals.handlers.messages import send_message

router = APIRouter(prefix="/ui")


@router.post("/referrals/{referral_id}/messages", response_model=None)
async def message_from_page(referral_id: str, request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    try:
        parts = parse_form_data(request.headers.get("content-type", ""), await request.body(), MAX_PARTS)
    except MultipartError:
        raise PageRefused(400, "refused.bad-form") from None
    check_form_token(request, next((p.text for p in parts if p.name == CSRF_FIELD and p.filename is None), None))
    try:
        text, uploads = read_parts([p for p in parts if p.name != CSRF_FIELD])
        await send_message(node_of(request), principal, referral_id, text, uploads)
    except MultipartError:
        raise PageRefused(400, "refused.bad-form") from None
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except Invalid as exc:
        error = problem_text(Translator(request_language(request)), exc.slug, exc.detail)
        form = Form({"text": [text]})
        return await render_referral(
            request, referral_id, principal, status=422, action="message", form=form, errors={"text": error}
        )
    return RedirectResponse(f"/ui/referrals/{referral_id}?done=message#messages", status_code=303)


@router.get("/referrals/{referral_id}/attachments/{attachment_id}", response_model=None)
async def attachment_from_page(referral_id: str, attachment_id: str, request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    found = await message_views.attachment(message_queries_of(request), referral_id, attachment_id)
    if found is None:
        raise PageRefused(404, "refused.no-attachment", id=attachment_id)
    await record_reads(node_of(request), principal, [referral_id], purpose_of(request), Channel.PAGE)
    info, content = found
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(info.name)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=info.media_type, headers=headers)
