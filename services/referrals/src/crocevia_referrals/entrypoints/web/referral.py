"""A referral's page: status, timeline, the personal details this agency may read, and a
form for each action the lifecycle allows now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import Form, PageRefused, read_form
from crocevia_contracts.lifecycle import TransitionRefused
from crocevia_referrals.adapters import repository
from crocevia_referrals.domain.codes import CODES_BY_ACTION
from crocevia_referrals.entrypoints.http import allowed_names, view
from crocevia_referrals.entrypoints.schemas import ActionBody
from crocevia_referrals.entrypoints.web.deps import (
    Staff,
    agency_names,
    own_node,
    problem_text,
    target_of,
    validation_errors,
)
from crocevia_referrals.handlers.actions import Action, act
from crocevia_referrals.handlers.errors import Invalid, NotFound
from crocevia_referrals.handlers.node import Node
from crocevia_referrals.handlers.sending import redirect

router = APIRouter(prefix="/ui")
NOTE_REQUIRED = ("request-info", "provide-info")
DANGER = ("reject", "cancel", "fail", "withdraw-consent")


@dataclass(frozen=True)
class ActionForm:
    """The fields of one action's form."""

    name: str
    code_field: str | None = None
    codes: tuple[str, ...] = ()
    code_required: bool = False
    suggests_agency: bool = False
    note_required: bool = False
    danger: bool = False


def action_form(name: str) -> ActionForm:
    field, codes = CODES_BY_ACTION.get(name, (None, ()))
    return ActionForm(
        name,
        field,
        codes,
        code_required=field is not None and name != "hold",
        suggests_agency=name == "reject",
        note_required=name in NOTE_REQUIRED,
        danger=name in DANGER,
    )


async def render_referral(
    request: Request,
    node: Node,
    referral_id: str,
    *,
    status: int = 200,
    action: str | None = None,
    errors: dict[str, str] | None = None,
    form: Form | None = None,
    problem: str | None = None,
) -> HTMLResponse:
    async with node.db.sessions() as session:
        row = await repository.get(session, referral_id)
        if row is None:
            raise PageRefused(404, "refused.no-referral", id=referral_id)
        referral = view(row, await repository.timeline(session, referral_id))
    names = agency_names(node)
    counterpart = referral.sender_agency if referral.direction == "incoming" else referral.receiver_agency
    entry = node.directory.get(referral.receiver_agency)
    service = entry.service(referral.service_id) if entry else None
    return pages_of(request).render(
        request,
        "referral.html",
        status=status,
        r=referral,
        names=names,
        counterpart=counterpart,
        service=service,
        target=target_of(node, referral.receiver_agency, referral.service_id, referral.priority),
        forms=[action_form(a) for a in referral.allowed_actions],
        failed_action=action,
        errors=errors or {},
        values=form or Form({}),
        problem=problem,
        done=request.query_params.get("done"),
        suggestions=sorted(
            (a, n) for a, n in names.items() if a not in (referral.sender_agency, referral.receiver_agency)
        ),
        now=datetime.now(UTC),
        redirect_targets=_redirect_targets(node, referral) if referral.allows_redirect else [],
    )


def _redirect_targets(node: Node, referral: Any) -> list[tuple[str, str]]:
    """Every service of the other agencies that takes referrals, the suggested agency's first."""
    names = agency_names(node)
    suggested = next((h.details.get("suggested_agency") for h in referral.history or [] if h.event == "rejected"), None)
    targets = [
        (f"{entry.organization.id}/{s.id}", f"{names.get(entry.organization.id, entry.organization.id)} · {s.name}")
        for entry in node.directory.all()
        if entry.organization.id not in (node.agency_id, referral.receiver_agency)
        for s in entry.services
        if s.accepts_referrals
    ]
    return sorted(targets, key=lambda t: (not t[0].startswith(f"{suggested}/"), t[1]))


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
async def referral_page(referral_id: str, request: Request, principal: Staff) -> HTMLResponse:
    return await render_referral(request, own_node(request, principal), referral_id)


def _action_body(form: Form) -> dict[str, Any]:
    return {name: form.optional(name) for name in ("reason_code", "outcome", "suggested_agency", "note")}


@router.post("/referrals/{referral_id}/redirect", response_model=None)
async def redirect_from_page(referral_id: str, request: Request, principal: Staff) -> Response:
    node = own_node(request, principal)
    form = await read_form(request)
    t = Translator(request_language(request))
    agency, _, service_id = (form.optional("target") or "").partition("/")
    try:
        if not agency or not service_id:
            raise Invalid("no-target", "choose an agency and a service", "target")
        sent = await redirect(node, principal, referral_id, agency, service_id)
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except Invalid as exc:
        errors = {"target": problem_text(t, exc.slug, exc.detail)}
        return await render_referral(
            request, node, referral_id, status=422, action="redirect", form=form, errors=errors
        )
    return RedirectResponse(f"/ui/referrals/{sent.referral_id}?done=redirect", status_code=303)


@router.post("/referrals/{referral_id}/{action}", response_model=None)
async def act_from_page(referral_id: str, action: str, request: Request, principal: Staff) -> Response:
    node = own_node(request, principal)
    form = await read_form(request)
    t = Translator(request_language(request))
    if action not in allowed_names():
        raise PageRefused(404, "refused.no-action", action=action)
    try:
        body = ActionBody.model_validate(_action_body(form))
        if body.suggested_agency and node.directory.get(body.suggested_agency) is None:
            raise Invalid("unknown-agency", f"no agency {body.suggested_agency!r}", "suggested_agency")
        await act(
            node,
            principal,
            referral_id,
            Action(
                name=action,
                reason_code=body.reason_code,
                outcome=body.outcome,
                suggested_agency=body.suggested_agency,
                note=body.note,
            ),
        )
    except ValidationError as exc:
        return await render_referral(
            request, node, referral_id, status=422, action=action, form=form, errors=validation_errors(t, exc)
        )
    except NotFound:
        raise PageRefused(404, "refused.no-referral", id=referral_id) from None
    except TransitionRefused as exc:
        return await render_referral(
            request,
            node,
            referral_id,
            status=409,
            problem=t("referral.refused", status=t.code("status", exc.current.value)),
        )
    except Invalid as exc:
        errors = {exc.field or "note": problem_text(t, exc.slug, exc.detail)}
        return await render_referral(request, node, referral_id, status=422, action=action, form=form, errors=errors)
    return RedirectResponse(f"/ui/referrals/{referral_id}?done={action}", status_code=303)
