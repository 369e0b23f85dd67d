"""Single sign-on's two steps. To the provider: a fresh state, nonce and PKCE verifier, kept
for this browser only in a signed pre-session cookie. Back from it: the state must be this
browser's, the code is exchanged with the verifier, the ID token must hold, its claims must
name an agency and a Crocevia role; then the session starts and the browser goes to the
page it asked for. Any wrong step answers a page that says so, and starts no session.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from crocevia_common.auth import Principal, TokenVerifier, UnusableClaims
from crocevia_common.problems import Problem
from crocevia_common.web.access import WebAccess, access_of
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.oidc import ProviderUnavailable, SignInFailed
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, safe_next

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

FLOW_COOKIE = "crocevia_oidc"
FLOW_SECONDS = 600  # time to sign in at the provider
ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")
# What each way of failing answers.
STATUS = {
    "signin.oidc.no-flow": 400,
    "signin.oidc.wrong-state": 400,
    "signin.oidc.other-issuer": 400,
    "signin.oidc.no-code": 400,
    "signin.oidc.provider-error": 400,
    "signin.oidc.refused": 400,
    "signin.oidc.bad-token": 401,
    "signin.oidc.no-agency": 403,
    "signin.oidc.no-role": 403,
    "signin.oidc.unavailable": 502,
}


class Flow(BaseModel):
    """A sign-in under way in one browser."""

    state: str = Field(min_length=32, max_length=64)
    nonce: str = Field(min_length=32, max_length=64)
    verifier: str = Field(min_length=43, max_length=128)  # RFC 7636
    next: str = Field(max_length=2000)
    started: int


def callback_url(request: Request) -> str:
    configured = access_of(request).settings.oidc_redirect_url
    return configured or str(request.url_for("oidc_callback"))


def _flow(request: Request, access: WebAccess) -> Flow | None:
    value = request.cookies.get(FLOW_COOKIE, "")
    payload = access.sessions.unsign("oidc-flow", value) if value else None
    if payload is None:
        return None
    try:
        flow = Flow.model_validate_json(payload)
    except ValidationError:
        return None
    return flow if 0 <= access.sessions.now() - flow.started <= FLOW_SECONDS else None


@router.get("/signin/oidc")
async def to_provider(request: Request, next: Annotated[str, Query(max_length=2000)] = "") -> Response:
    access = access_of(request)
    if access.oidc is None:
        raise PageRefused(404, "refused.no-sso")
    flow = Flow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        next=safe_next(next, request.app.state.sign_in_choices.home),
        started=access.sessions.now(),
    )
    try:
        url = await access.oidc.authorization_url(
            callback_url(request), state=flow.state, nonce=flow.nonce, verifier=flow.verifier
        )
    except ProviderUnavailable as exc:
        log.warning("single sign-on: the provider is unavailable: %s", exc)
        raise PageRefused(502, "signin.oidc.unavailable") from None
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        access.sessions.sign("oidc-flow", flow.model_dump_json().encode()),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",  # sent back on the provider's redirect, a top-level navigation
        secure=access.secure(request),
        path="/signin",
    )
    return response


async def _person(
    request: Request, flow: Flow | None, state: str, code: str, error: str, issuer: str
) -> tuple[Principal, str | None]:
    """The person the callback signs in and a token the API accepts for them; SignInFailed."""
    access = access_of(request)
    assert access.oidc is not None
    if flow is None:
        raise SignInFailed("signin.oidc.no-flow", "no sign-in under way in this browser")
    if not hmac.compare_digest(flow.state.encode(), state.encode()):
        raise SignInFailed("signin.oidc.wrong-state", "state does not match this browser's sign-in")
    if issuer and issuer != access.oidc.config.issuer:  # RFC 9207: an answer meant for another provider's flow
        raise SignInFailed("signin.oidc.other-issuer", "the answer names another issuer")
    if error:
        raise SignInFailed("signin.oidc.provider-error", f"provider: {error if ERROR_CODE.match(error) else '?'}")
    if not code:
        raise SignInFailed("signin.oidc.no-code", "no code")
    claims, tokens = await access.oidc.sign_in(
        code, verifier=flow.verifier, nonce=flow.nonce, redirect_uri=callback_url(request)
    )
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        person = verifier.claims.principal(claims)
    except UnusableClaims as exc:
        raise SignInFailed(
            "signin.oidc.no-agency" if exc.claim == "agency" else "signin.oidc.bad-token", str(exc)
        ) from None
    if not person.roles:
        raise SignInFailed("signin.oidc.no-role", f"no role in {verifier.claims.roles_claim}")
    return person, await api_bearer(verifier, tokens, person)


async def api_bearer(verifier: TokenVerifier, tokens: dict[str, Any], person: Principal) -> str | None:
    """The first of the provider's tokens that the services' API accepts as this same
    person (the bell relays it to the notifications); None when none is."""
    for name in ("access_token", "id_token"):
        token = tokens.get(name)
        if not isinstance(token, str):
            continue
        try:
            if await asyncio.to_thread(verifier.verify, token) == person:
                return token
        except Problem:
            continue
    return None


@router.get("/signin/callback", name="oidc_callback")
async def from_provider(
    request: Request,
    code: Annotated[str, Query(max_length=4096)] = "",
    state: Annotated[str, Query(max_length=512)] = "",
    error: Annotated[str, Query(max_length=256)] = "",
    iss: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    access = access_of(request)
    if access.oidc is None:
        raise PageRefused(404, "refused.no-sso")
    flow = _flow(request, access)
    try:
        person, bearer = await _person(request, flow, state, code, error, iss)
    except (SignInFailed, ProviderUnavailable) as exc:
        reason = exc.reason if isinstance(exc, SignInFailed) else "signin.oidc.unavailable"
        log.warning("single sign-on refused (%s): %s", reason, exc)
        t = Translator(request_language(request))
        again = f"/signin?{urlencode({'next': flow.next})}" if flow else "/signin"
        page = pages_of(request).render(
            request,
            "message.html",
            status=STATUS[reason],
            title=t(f"{reason}.title"),
            text=t(reason),
            again=again,
            again_label="layout.signin-once-more",
        )
        page.delete_cookie(FLOW_COOKIE, path="/signin", httponly=True, samesite="lax")
        return page
    assert flow is not None
    response = RedirectResponse(flow.next, status_code=303)
    access.sessions.set(response, access.sessions.start(person, "oidc", bearer=bearer), secure=access.secure(request))
    response.delete_cookie(FLOW_COOKIE, path="/signin", httponly=True, samesite="lax")
    return response
