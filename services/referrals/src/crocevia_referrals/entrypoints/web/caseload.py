"""The caseload's pages: this agency's referrals, searched and paged ("Assigned to me" is
the search by assignee ``me``; each referral listed with its person's details recorded in
the access log, with its purpose: ``?purpose=``, care by default), and assigning a referral
from its page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.inputs import InvalidCursor
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, read_form
from crocevia_contracts.lifecycle import Status
from crocevia_referrals import views
from crocevia_referrals.domain.access_log import Channel
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.entrypoints.deps import node_of, reads_of
from crocevia_referrals.entrypoints.schemas import AssignBody, ReferralSearch
from crocevia_referrals.entrypoints.web.deps import (
    Staff,
    own_agency,
    problem_text,
    purpose_of,
    staff_choices,
    validation_errors,
)
from crocevia_referrals.entrypoints.web.referral import render_referral
from crocevia_referrals.handlers.access_log import record_reads
from crocevia_referrals.handlers.caseload import assign
from crocevia_referrals.view_models import ReferralPage

router = APIRouter(prefix="/ui")
LISTED = ("status",)  # the search's fields that may be given more than once


def _asked(request: Request) -> dict[str, object]:
    """The search form as submitted; an empty field is no filter."""
    query = request.query_params
    skip = (*LISTED, "lang", "purpose")
    asked: dict[str, object] = {k: v for k, v in query.items() if v != "" and k not in skip}
    for name in LISTED:
        asked[name] = [v for v in query.getlist(name) if v != ""]
    return asked


@router.get("/referrals", response_class=HTMLResponse)
async def referrals_page(request: Request, principal: Staff) -> HTMLResponse:
    own_agency(request, principal)
    purpose = purpose_of(request)
    reads, t = reads_of(request), Translator(request_language(request))
    asked = _asked(request)
    errors: dict[str, str] = {}
    found = ReferralPage(items=[], next_cursor=None)
    try:
        search = ReferralSearch.model_validate(asked)
        flt = search.filter(reads, principal.sub)
        found = await views.referrals(reads, flt, search.limit, search.cursor, node_of(request).clock())
    except ValidationError as exc:
        errors = validation_errors(t, exc)
    except InvalidCursor:
        errors = {"cursor": problem_text(t, "invalid-cursor", "start again from the first page")}
    except ValueError as exc:
        errors = {"created_to": problem_text(t, "invalid-dates", str(exc))}
    # Every page that shows a person's details is a read of them.
    await record_reads(node_of(request), principal, views.with_personal(found.items), purpose, Channel.PAGE)
    services = views.service_names(reads)
    return pages_of(request).render(
        request,
        "referrals.html",
        status=422 if errors else 200,
        found=found,
        asked=asked,
        errors=errors,
        mine=asked.get("assignee") == "me",
        names=views.agency_names(reads),
        services=services,
        service_options=sorted({(service_id, name) for (_, service_id), name in services.items()}),
        statuses=[s.value for s in Status],
        staff=staff_choices(request),
        next_url=str(request.url.include_query_params(cursor=found.next_cursor)) if found.next_cursor else None,
    )


@router.post("/referrals/{referral_id}/assign", response_model=None)
async def assign_from_page(referral_id: str, request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    form = await read_form(request)
    t = Translator(request_language(request))
    try:
        body = AssignBody.model_validate({"assignee": form.optional("assignee")})
        await assign(node_of(request), principal, referral_id, body.assignee)
    except ValidationError as exc:
        errors = validation_errors(t, exc)
        return await render_referral(
            request, referral_id, principal, status=422, action="assign", form=form, errors=errors
        )
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except Invalid as exc:  # Forbidden too: said next to the field
        errors = {"assignee": problem_text(t, exc.slug, exc.detail)}
        return await render_referral(
            request, referral_id, principal, status=422, action="assign", form=form, errors=errors
        )
    return RedirectResponse(f"/ui/referrals/{referral_id}?done=assign", status_code=303)
