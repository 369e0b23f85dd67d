"""A household pathway's pages: one form for several services of the directory, the person
typed once; and the pathway with every referral's status in one place."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import Form, PageRefused, read_form
from crocevia_referrals import pathway_views, views
from crocevia_referrals.domain.access_log import Channel
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.sending import WARNINGS
from crocevia_referrals.entrypoints.deps import node_of, reads_of
from crocevia_referrals.entrypoints.schemas import CreatePathway
from crocevia_referrals.entrypoints.web.deps import Staff, own_agency, problem_text, purpose_of, validation_errors
from crocevia_referrals.entrypoints.web.new_referral import find_services, first_values, referral_from
from crocevia_referrals.handlers.access_log import record_reads
from crocevia_referrals.handlers.pathways import Opened, open_pathway
from crocevia_referrals.handlers.sending import Idempotency

router = APIRouter(prefix="/ui")
# A refusal about one of the services is said next to the services.
SERVICE_FIELDS = {"to_agency": "services", "service_id": "services", "legal_basis": "legal_basis"}


def pathway_from(form: Form) -> dict[str, Any]:
    """The API's request body from the form: the services checked, each with the one priority
    and reason, and the legal basis and person as a new referral's form has them."""
    one = referral_from(form)
    chosen = [choice.partition("/") for choice in form.getlist("services")]
    services = [
        {"to_agency": agency, "service_id": service_id, "priority": one["priority"], "reason": one["reason"]}
        for agency, _, service_id in chosen
    ]
    return {
        "services": services,
        "needs": one["needs"],
        "person": one["person"],
        "legal_basis": one["legal_basis"],
        "share_within_pathway": form.get("share_within_pathway") == "yes",
    }


def _page(
    request: Request, values: dict[str, str], chosen: list[str], errors: dict[str, str], status: int
) -> HTMLResponse:
    services = find_services(reads_of(request), {})
    return pages_of(request).render(
        request, "new_pathway.html", status=status, services=services, values=values, chosen=chosen, errors=errors
    )


@router.get("/pathways/new", response_class=HTMLResponse)
async def new_pathway_page(request: Request, principal: Staff) -> HTMLResponse:
    own_agency(request, principal)
    return _page(request, {**first_values(principal), "idempotency_key": uuid.uuid4().hex}, [], {}, 200)


def _opened(opened: Opened) -> RedirectResponse:
    """To the pathway's page, which says it was sent and what the sender is warned of."""
    codes = dict.fromkeys(w.code for sent in opened.referrals for w in sent.warnings)
    query = urlencode([("done", "sent"), *(("warn", code) for code in codes)])
    return RedirectResponse(f"/ui/pathways/{opened.pathway_id}?{query}", status_code=303)


@router.post("/pathways/new", response_model=None)
async def send_pathway_from_page(request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    form = await read_form(request)
    t = Translator(request_language(request))
    values = {name: form.get(name) for name in form.fields}
    try:
        body = CreatePathway.model_validate(pathway_from(form))
    except ValidationError as exc:
        errors = {k.split(".")[0] if k.startswith("services") else k: v for k, v in validation_errors(t, exc).items()}
    else:
        try:
            key = form.get("idempotency_key")[:100]
            idempotency = Idempotency(f"web:{key}", body.digest()) if key else None
            return _opened(await open_pathway(node_of(request), principal, body.request(), idempotency))
        except Invalid as exc:
            errors = {
                SERVICE_FIELDS.get(exc.field or "", exc.field or "services"): problem_text(t, exc.slug, exc.detail)
            }
    if not form.getlist("services"):
        errors["services"] = t("pathway.error.services")
    return _page(request, values, form.getlist("services"), errors, 422)


@router.get("/pathways/{pathway_id}", response_class=HTMLResponse)
async def pathway_page(pathway_id: str, request: Request, principal: Staff) -> HTMLResponse:
    own_agency(request, principal)
    reads = reads_of(request)
    purpose = purpose_of(request)
    found = await pathway_views.pathway(reads, pathway_id)
    if found is None:
        raise PageRefused(404, "refused.no-pathway", id=pathway_id)
    # The page shows the person: a read of each referral's personal part.
    await record_reads(node_of(request), principal, views.with_personal(found.referrals), purpose, Channel.PAGE)
    return pages_of(request).render(
        request,
        "pathway.html",
        p=found,
        names=views.agency_names(reads),
        services=views.service_names(reads),
        done=request.query_params.get("done"),
        warnings=[code for code in request.query_params.getlist("warn") if code in WARNINGS],
    )
