"""The sign-in page and signing out. With single sign-on the page offers the agency's
OpenID provider (``sso.py``). For ``make up`` only, the development sign-in: pick an agency,
a role and a person, and the service starts a session for them (with a development token
for the API). Only when ``CROCEVIA_DEV_SIGNIN`` is set, with the development key file and no
identity provider; otherwise nothing is minted.

The development form carries a token bound to a pre-session cookie (HMAC with the
development key), so a page of another site cannot sign a browser in as someone of its
choosing (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode, urljoin

import yaml
from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal, Role, issue_dev_token
from crocevia_common.web.access import access_of
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import CSRF_FIELD, PageRefused, read_form, safe_next, session_of
from crocevia_common.web.session_cookie import clear

router = APIRouter(include_in_schema=False)
SUB = re.compile(r"^[A-Za-z0-9._@+-]{1,200}$")
# The pre-session cookie the sign-in form's token is bound to.
SIGNIN_COOKIE = "crocevia_signin"
NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Person:
    sub: str
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SignInChoices:
    """What the picker offers on one service: its own agency only (a node), or every agency
    of the network plus ``extra_agencies`` (e.g. the steering committee on the audit)."""

    roles: tuple[Role, ...]
    own_agency: str | None = None
    extra_agencies: tuple[str, ...] = ()
    home: str = "/ui"


def staff_people(staff_dir: Path | None) -> dict[str, list[Person]]:
    """The demo staff directory: agency -> people; unreadable files are left out."""
    people: dict[str, list[Person]] = {}
    if staff_dir is None or not staff_dir.is_dir():
        return people
    for path in sorted(staff_dir.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            people[str(doc["agency"])] = [
                Person(str(p["sub"]), str(p.get("name", p["sub"])), tuple(p.get("roles", ())))
                for p in doc.get("staff", [])
            ]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            continue
    return people


def form_token(key: bytes, nonce: str) -> str:
    """The sign-in form's token for the pre-session cookie ``nonce``."""
    return hmac.new(key, b"crocevia-signin:" + nonce.encode(), hashlib.sha256).hexdigest()


def _form_is_ours(request: Request, key: bytes, given: str) -> bool:
    nonce = request.cookies.get(SIGNIN_COOKIE, "")
    return bool(NONCE.match(nonce)) and hmac.compare_digest(form_token(key, nonce), given)


def _offer(request: Request) -> tuple[SignInChoices, list[str], dict[str, list[Person]]]:
    choices: SignInChoices = request.app.state.sign_in_choices
    pages = pages_of(request)
    people = staff_people(pages.web.staff_dir)
    if choices.own_agency:
        agencies = [choices.own_agency]
    else:
        agencies = [*choices.extra_agencies, *sorted(set(pages.links().nodes) | set(people))]
    return choices, agencies, {a: people.get(a, []) for a in agencies}


def _page(
    request: Request,
    status: int = 200,
    errors: dict[str, str] | None = None,
    chosen: dict[str, str] | None = None,
    next_url: str = "",
) -> HTMLResponse:
    choices, agencies, people = _offer(request)
    access = access_of(request)
    t = Translator(request_language(request))
    roles = [r.value for r in choices.roles]
    key = access.dev_key
    next_url = safe_next(next_url, choices.home)
    nonce = request.cookies.get(SIGNIN_COOKIE, "")
    if key is not None and not NONCE.match(nonce):
        nonce = secrets.token_urlsafe(32)
    page = pages_of(request).render(
        request,
        "signin.html",
        status=status,
        dev=key is not None,
        form_token=form_token(key, nonce) if key is not None else "",
        agencies=agencies,
        people=people,
        agency_options=[(a, a) for a in agencies],
        roles=roles,
        role_options=[(r, t.code("role", r)) for r in roles],
        errors={k: t(v) for k, v in (errors or {}).items()},
        chosen=chosen or {},
        next_url=next_url,
        issuer=access.settings.auth_issuer,
        provider=access.oidc.config.provider_name if access.oidc else None,
        provider_url=f"/signin/oidc?{urlencode({'next': next_url})}",
        idle_minutes=f"{access.sessions.idle_seconds / 60:g}",
    )
    if key is not None:
        secure = access.secure(request)
        page.set_cookie(
            SIGNIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=secure, path="/signin"
        )
    return page


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "") -> HTMLResponse:
    return _page(request, next_url=next)


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    access = access_of(request)
    key = access.dev_key
    if key is None:
        raise PageRefused(404, "refused.no-dev-sign-in")
    form = await read_form(request, check_csrf=False)
    if not _form_is_ours(request, key, form.get(CSRF_FIELD)):
        raise PageRefused(403, "refused.signin-csrf")
    choices, agencies, people = _offer(request)
    chosen = {name: form.get(name) for name in ("agency", "role", "person")}
    errors: dict[str, str] = {}
    if chosen["agency"] not in agencies:
        errors["agency"] = "signin.error.agency"
    if chosen["role"] not in [r.value for r in choices.roles]:
        errors["role"] = "signin.error.role"
    sub = chosen["person"] or f"{chosen['role']}-{chosen['agency']}"
    known = people.get(chosen["agency"], [])
    if not SUB.match(sub):
        errors["person"] = "signin.error.person-format"
    elif chosen["person"] and known and sub not in {p.sub for p in known}:
        errors["person"] = "signin.error.person-unknown"
    if errors:
        return _page(request, 422, errors, chosen, form.get("next"))
    settings = access.settings
    ttl = int(access.sessions.lifetime_seconds)
    roles = [chosen["role"]]
    token = issue_dev_token(
        key,
        agency=chosen["agency"],
        roles=roles,
        sub=sub,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        ttl_seconds=ttl,
    )
    person = Principal(sub=sub, agency=chosen["agency"], roles=frozenset(Role(r) for r in roles))
    response = RedirectResponse(safe_next(form.get("next"), choices.home), status_code=303)
    access.sessions.set(response, access.sessions.start(person, "dev", bearer=token), secure=access.secure(request))
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", httponly=True, samesite="strict")
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    """End the session; after single sign-on, at the provider too when it offers that."""
    session = session_of(request)
    if session is not None:  # an ended session has nothing left to protect
        await read_form(request)
    access = access_of(request)
    location = "/signin"
    if session is not None and session.via == "oidc" and access.oidc is not None:
        location = await access.oidc.end_session_url(after_sign_out(request)) or location
    response = RedirectResponse(location, status_code=303)
    clear(response)
    return response


def after_sign_out(request: Request) -> str:
    """Where the provider sends the browser back after signing out: this service's sign-in
    page (beside the configured redirect URL, else on the address the request came to)."""
    configured = access_of(request).settings.oidc_redirect_url
    if configured:
        return urljoin(configured, "/signin")
    return str(request.url.replace(path="/signin", query=""))
