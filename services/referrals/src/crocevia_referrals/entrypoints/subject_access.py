"""A person's access request (GDPR Art. 15) at the node: everything it holds about them, as
JSON (``GET /subject-access?person=``) or a printable page (``/ui/subject-access``), for the
agency's supervisors and data protection officer. The export is itself a read of the
person's details, recorded with the purpose ``own-request``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from crocevia_common.auth import Principal
from crocevia_common.problems import Problem
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, page_roles
from crocevia_referrals import access_views, views
from crocevia_referrals.access_views import SubjectAccess
from crocevia_referrals.domain.access_log import Channel, Purpose
from crocevia_referrals.domain.caseload import search_words
from crocevia_referrals.entrypoints.access_log import READERS, Reader
from crocevia_referrals.entrypoints.deps import access_reads_of, node_of, own_agency, reads_of
from crocevia_referrals.entrypoints.messages import message_queries_of
from crocevia_referrals.handlers.access_log import record_reads

router = APIRouter()
PageReader = Annotated[Principal, Depends(page_roles(*READERS))]
Person = Annotated[str, Query(min_length=1, max_length=200, description="words of the person's details")]


async def _export(request: Request, principal: Principal, person: str) -> SubjectAccess | None:
    """The export, recorded as read; None when the words name nothing to search."""
    words = search_words(person)
    if not words:
        return None
    node = node_of(request)
    messages = message_queries_of(request)
    found = await access_views.subject_access(
        reads_of(request), access_reads_of(request), messages, words, node.clock()
    )
    await record_reads(node, principal, views.with_personal(found.referrals), Purpose.OWN_REQUEST, Channel.EXPORT)
    return found


@router.get(
    "/subject-access",
    tags=["access log"],
    summary="Everything this node holds about one person, for their access request (recorded as a read)",
    response_model=SubjectAccess,
)
async def subject_access(
    request: Request, principal: Reader, person: Person, format: Literal["json", "html"] = "json"
) -> Response:
    own_agency(request, principal)
    found = await _export(request, principal, person)
    if found is None:
        raise Problem(422, "no-search-words", "Nothing to search", "name the person: words of their details")
    if format == "html":
        return _page(request, found, person)
    headers = {"Content-Disposition": 'attachment; filename="subject-access.json"'}
    return JSONResponse(found.model_dump(mode="json"), headers=headers)


@router.get("/ui/subject-access", include_in_schema=False, response_class=HTMLResponse)
async def subject_access_page(request: Request, principal: PageReader, person: str = "") -> HTMLResponse:
    own_agency(request, principal)
    if len(person) > 200:
        raise PageRefused(400, "refused.access-filters")
    found = await _export(request, principal, person) if person.strip() else None
    return _page(request, found, person)


def _page(request: Request, found: SubjectAccess | None, person: str) -> HTMLResponse:
    reads = reads_of(request)
    return pages_of(request).render(
        request,
        "subject_access.html",
        found=found,
        person=person,
        names=views.agency_names(reads),
        services=views.service_names(reads),
    )
