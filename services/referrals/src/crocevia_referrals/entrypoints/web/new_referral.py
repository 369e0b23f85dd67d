"""A new referral: search the directory, pick a service and see its response targets,
record the legal basis, enter the person's details, send."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal
from crocevia_common.inputs import shifted
from crocevia_common.web.i18n import LOCAL_ZONE, Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import Form, read_form
from crocevia_contracts.directory import Capacity, Domain
from crocevia_referrals import views
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.entrypoints.deps import node_of, reads_of
from crocevia_referrals.entrypoints.schemas import CreateReferral
from crocevia_referrals.entrypoints.web.deps import Staff, own_agency, problem_text, validation_errors
from crocevia_referrals.handlers.sending import Idempotency, Sent, send_referral
from crocevia_referrals.views import Reads

router = APIRouter(prefix="/ui")
PERSON_FIELDS = ("given_name", "family_name", "birth_date", "phone", "email", "address", "household")
BASIS_FIELDS = ("basis", "captured_by", "scope", "document_ref")
SERVICE_FIELDS = {"to_agency": "service", "service_id": "service", "legal_basis": "legal_basis"}


def _choice(enum: Any, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def find_services(reads: Reads, filters: dict[str, str]) -> list[dict[str, Any]]:
    """The directory's services matching ``filters``, other agencies' only, open ones first."""
    found = views.services(
        reads,
        domain=_choice(Domain, filters.get("domain")),
        language=filters.get("language") or None,
        capacity=_choice(Capacity, filters.get("capacity")),
    )
    others = [s for s in found if s["agency"]["id"] != reads.agency_id]
    return sorted(
        others, key=lambda s: (not s["accepts_referrals"] or s["status"] != "active", s["agency"]["name"], s["name"])
    )


def chosen_domain(reads: Reads, choice: str) -> str:
    agency, _, service_id = choice.partition("/")
    entry = reads.directory.get(agency)
    service = entry.service(service_id) if entry else None
    return service.domain.value if service else ""


def languages_of(reads: Reads) -> list[str]:
    return sorted({lang for entry in reads.directory.all() for s in entry.services for lang in s.languages})


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in ("domain", "language", "capacity")}


def _page(
    request: Request,
    services: list[dict[str, Any]],
    filters: dict[str, str],
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return pages_of(request).render(
        request,
        "new_referral.html",
        status=status,
        services=services,
        filters=filters,
        values=values,
        errors=errors or {},
        domains=[d.value for d in Domain],
        capacities=[c.value for c in Capacity],
        languages=languages_of(reads_of(request)),
    )


@router.get("/referrals/new", response_class=HTMLResponse)
async def new_referral_page(request: Request, principal: Staff) -> HTMLResponse:
    own_agency(request, principal)
    filters = _filters(request)
    values = {**first_values(principal), "idempotency_key": uuid.uuid4().hex}
    return _page(request, find_services(reads_of(request), filters), filters, values=values)


def first_values(principal: Principal) -> dict[str, str]:
    """A new form's values: a consent captured now by the person filling it in, routine."""
    now = datetime.now(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")
    return {
        "legal_basis.basis": "consent",
        "legal_basis.captured_by": principal.sub,
        "legal_basis.captured_at": now,
        "priority": "routine",
    }


@router.get("/referrals/new/services", response_class=HTMLResponse)
async def services_fragment(request: Request, principal: Staff) -> HTMLResponse:
    """The service list alone, for htmx to swap in as the filters change."""
    own_agency(request, principal)
    services = find_services(reads_of(request), _filters(request))
    return pages_of(request).render(request, "_services.html", services=services, values={}, errors={})


def _local(text: str, end_of_day: bool = False) -> str | None:
    """A ``datetime-local`` or ``date`` value, read in the agencies' time zone, as RFC 3339."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # let validation say what is wrong with it, next to the field
    if end_of_day and len(text) == 10:
        moment = shifted(moment, timedelta(days=1)) or moment  # past the calendar: validation says so
    return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)).isoformat()


def referral_from(form: Form) -> dict[str, Any]:
    """The API's request body from the form, whose inputs are named like its fields."""
    to_agency, _, service_id = form.get("service").partition("/")
    basis: dict[str, Any] = {k: form.get(f"legal_basis.{k}") for k in BASIS_FIELDS if form.get(f"legal_basis.{k}")}
    basis["captured_at"] = _local(form.get("legal_basis.captured_at"))
    basis["expires_at"] = _local(form.get("legal_basis.expires_at"), end_of_day=True)
    person: dict[str, Any] = {k: form.get(f"person.{k}") for k in PERSON_FIELDS if form.get(f"person.{k}")}
    person.setdefault("given_name", "")
    person.setdefault("family_name", "")
    person["languages"] = [x for x in re.split(r"[\s,;]+", form.get("person.languages")) if x]
    return {
        "to_agency": to_agency,
        "service_id": service_id,
        "priority": form.get("priority") or "routine",
        "reason": form.get("reason"),
        "needs": form.get("needs"),
        "person": person,
        "legal_basis": {k: v for k, v in basis.items() if v is not None},
    }


def _sent(sent: Sent) -> RedirectResponse:
    """To the new referral's page, which says it was sent and what the sender is warned of."""
    query = urlencode([("done", "sent"), *(("warn", w.code) for w in sent.warnings)])
    return RedirectResponse(f"/ui/referrals/{sent.referral_id}?{query}", status_code=303)


@router.post("/referrals/new", response_model=None)
async def send_from_page(request: Request, principal: Staff) -> Response:
    own_agency(request, principal)
    reads = reads_of(request)
    form = await read_form(request)
    t = Translator(request_language(request))
    values = {name: form.get(name) for name in form.fields}
    filters = {"domain": chosen_domain(reads, form.get("service"))}  # the chosen service among its kind
    errors: dict[str, str] = {}
    try:
        body = CreateReferral.model_validate(referral_from(form))
    except ValidationError as exc:
        errors = {SERVICE_FIELDS.get(k, k): v for k, v in validation_errors(t, exc).items()}
        if not form.get("service"):
            errors["service"] = t("new.error.service")
    else:
        key = form.get("idempotency_key")[:100]
        idempotency = Idempotency(f"web:{key}", body.digest()) if key else None
        try:
            return _sent(await send_referral(node_of(request), principal, body.request(), idempotency))
        except Invalid as exc:
            field = SERVICE_FIELDS.get(exc.field or "", exc.field or "service")
            errors = {field: problem_text(t, exc.slug, exc.detail)}
    return _page(request, find_services(reads, filters), filters, values=values, errors=errors, status=422)
