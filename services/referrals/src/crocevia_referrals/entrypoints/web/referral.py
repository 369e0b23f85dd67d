"""A referral's page: status, timeline, the personal details this agency may read (each
showing recorded in the access log, with its purpose: ``?purpose=``, care by default), what
is due, a form for each action the lifecycle allows now, and the messages with the other
agency (those not read yet marked as new, then read)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import Form, PageRefused, read_form
from crocevia_contracts.lifecycle import TransitionRefused
from crocevia_referrals import message_views, views
from crocevia_referrals.domain.access_log import Channel, Purpose
from crocevia_referrals.domain.actions import STAFF_ACTIONS, needs_of
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.domain.sending import WARNINGS
from crocevia_referrals.entrypoints.deps import node_of, reads_of
from crocevia_referrals.entrypoints.messages import message_queries_of
from crocevia_referrals.entrypoints.schemas import ActionBody
from crocevia_referrals.entrypoints.web.deps import (
    Staff,
    own_agency,
    problem_text,
    purpose_of,
    staff_choices,
    validation_errors,
)
from crocevia_referrals.handlers.access_log import record_reads
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.messages import mark_read
from crocevia_referrals.handlers.sending import close_rejection, redirect

router = APIRouter(prefix="/ui")
DANGER = ("reject", "cancel", "fail", "withdraw-consent")
ACTION_FIELDS = ("reason_code", "outcome", "suggested_agency", "note")  # what a form may post


async def render_referral(
    request: Request,
    referral_id: str,
    reader: Principal,
    *,
    purpose: Purpose = Purpose.CARE,
    status: int = 200,
    action: str | None = None,
    errors: dict[str, str] | None = None,
    form: Form | None = None,
    problem: str | None = None,
) -> HTMLResponse:
    reads = reads_of(request)
    detail = await views.referral_detail(reads, referral_id, node_of(request).clock())
    if detail is None:
        raise PageRefused(404, "refused.no-referral", id=referral_id)
    r = detail.referral
    thread = await message_views.thread(reads, message_queries_of(request), referral_id)
    # Every page that shows the personal part is a read of it.
    await record_reads(node_of(request), reader, views.with_personal([r]), purpose, Channel.PAGE)
    if thread is not None and thread.unread:  # shown marked as new this once, read from now on
        await mark_read(node_of(request), reader, referral_id)
    names = views.agency_names(reads)
    entry = reads.directory.get(r.receiver_agency)
    return pages_of(request).render(
        request,
        "referral.html",
        status=status,
        r=r,
        names=names,
        services=views.service_names(reads) if r.pathway_services else {},
        counterpart=detail.counterpart,
        service=entry.service(r.service_id) if entry else None,
        due=detail.due,
        waiting=detail.waiting,
        forms=detail.actions,
        danger=DANGER,
        failed_action=action,
        errors=errors or {},
        values=form or Form({}),
        problem=problem,
        done=request.query_params.get("done"),
        warnings=[code for code in request.query_params.getlist("warn") if code in WARNINGS],
        suggestions=sorted((a, n) for a, n in names.items() if a not in (r.sender_agency, r.receiver_agency)),
        redirect_targets=detail.redirect_targets,
        staff=staff_choices(request),
        suggested_target=detail.suggested_target,
        thread=thread,
    )


def fields_of(action: str) -> set[str]:
    """The fields of an action's form (``referral.html``)."""
    needs = needs_of(action)
    return {
        "note",
        *([needs.code_field] if needs.code_field else []),
        *(["suggested_agency"] if needs.suggests_agency else []),
    }


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
async def referral_page(referral_id: str, request: Request, principal: Staff) -> HTMLResponse:
    own_agency(request, principal)
    if request.query_params.get("print") == "1":
        return await print_page(referral_id, request, principal)
    return await render_referral(request, referral_id, principal, purpose=purpose_of(request))


@router.get("/referrals/{referral_id}/print", response_class=HTMLResponse)
async def print_page(referral_id: str, request: Request, principal: Staff) -> HTMLResponse:
    """The referral for the paper file: its facts, the person, the timeline; nothing to click."""
    own_agency(request, principal)
    reads, now = reads_of(request), node_of(request).clock()
    detail = await views.referral_detail(reads, referral_id, now)
    if detail is None:
        raise PageRefused(404, "refused.no-referral", id=referral_id)
    r, entry = detail.referral, reads.directory.get(detail.referral.receiver_agency)
    await record_reads(node_of(request), principal, views.with_personal([r]), purpose_of(request), Channel.PRINT)
    service = entry.service(r.service_id) if entry else None
    names = views.agency_names(reads)
    return pages_of(request).render(request, "print.html", r=r, due=detail.due, names=names, service=service, now=now)


@router.post("/referrals/{referral_id}/redirect", response_model=None)
async def redirect_from_page(referral_id: str, request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    form = await read_form(request)
    t = Translator(request_language(request))
    agency, _, service_id = (form.optional("target") or "").partition("/")
    try:
        if not agency or not service_id:
            raise Invalid("no-target", "choose an agency and a service", "target")
        sent = await redirect(node_of(request), principal, referral_id, agency, service_id)
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except Invalid as exc:
        errors = {"target": problem_text(t, exc.slug, exc.detail)}
        return await render_referral(
            request, referral_id, principal, status=422, action="redirect", form=form, errors=errors
        )
    return RedirectResponse(f"/ui/referrals/{sent.referral_id}?done=redirect", status_code=303)


@router.post("/referrals/{referral_id}/close", response_model=None)
async def close_from_page(referral_id: str, request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    await read_form(request)
    try:
        await close_rejection(node_of(request), referral_id)
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except Invalid as exc:
        problem = problem_text(Translator(request_language(request)), exc.slug, exc.detail)
        return await render_referral(request, referral_id, principal, status=422, problem=problem)
    return RedirectResponse(f"/ui/referrals/{referral_id}?done=close", status_code=303)


@router.post("/referrals/{referral_id}/{action}", response_model=None)
async def act_from_page(referral_id: str, action: str, request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    form = await read_form(request)
    t = Translator(request_language(request))
    if action not in STAFF_ACTIONS:
        raise PageRefused(404, "refused.no-action", action=action)
    errors: dict[str, str] = {}
    try:
        body = ActionBody.model_validate({name: form.optional(name) for name in ACTION_FIELDS})
        await act(node_of(request), principal, referral_id, body.action(action))
    except ValidationError as exc:
        errors = validation_errors(t, exc)
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except TransitionRefused as exc:
        problem = t("referral.refused", status=t.code("status", exc.current.value))
        return await render_referral(request, referral_id, principal, status=409, problem=problem)
    except Invalid as exc:
        errors = {exc.field or "": problem_text(t, exc.slug, exc.detail)}
    if errors:
        # Next to the field of the action's form, or above the forms for one it does not have.
        fields = fields_of(action)
        shown = {name: text for name, text in errors.items() if name in fields}
        above = "; ".join(text for name, text in errors.items() if name not in fields) or None
        return await render_referral(
            request, referral_id, principal, status=422, action=action, form=form, errors=shown, problem=above
        )
    return RedirectResponse(f"/ui/referrals/{referral_id}?done={action}", status_code=303)
