"""Who is looking at a page: the session in its HttpOnly cookie (``session_cookie.py``).

API routes read the ``Authorization`` header only (an event stream may also read the
session, :func:`header_or_cookie`). A page view renews the session; a page without one
leads to the sign-in, and one with an ended or forged session says so (401) and leads there
too. Forms that change something carry a token derived from the session, which a page of
another site cannot know (double-submit, on top of ``SameSite=Lax``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crocevia_common.auth import Principal, Role, current_principal
from crocevia_common.problems import Problem
from crocevia_common.web.access import access_of
from crocevia_common.web.session_cookie import SESSION_COOKIE, Session, SessionRefused

CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 64 * 1024
# Kept in the request's own scope: the session read, and the renewed cookie a page view
# leaves for :class:`SessionRenewal`.
SESSION = "crocevia.session"
RENEWED = "crocevia.renewed_session"


class SignInRequired(Exception):
    """No session: the page answers with a way to the sign-in page."""


class SessionEnded(Exception):
    """A session cookie that no longer counts (``expired``) or never did (``invalid``)."""

    def __init__(self, reason: Literal["invalid", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason


class PageRefused(Exception):
    """A page that cannot be shown to this person, with a message key and details."""

    def __init__(self, status: int, message: str, **values: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.values = values


def read_session(request: Request) -> Session | None:
    """The session of the request's cookie, None without one; SessionRefused for a cookie
    that does not count. Reading does not renew it."""
    cached: Session | None = request.scope.get(SESSION)
    if cached is not None:
        return cached
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    session = access_of(request).sessions.read(value)
    request.scope[SESSION] = session
    return session


def session_of(request: Request) -> Session | None:
    """The request's live session, or None (none, ended or not ours)."""
    try:
        return read_session(request)
    except SessionRefused:
        return None


def principal_of(request: Request) -> Principal | None:
    """The person of the session, or None when there is none or it does not count."""
    session = session_of(request)
    return session.principal if session else None


async def header_or_cookie(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> Principal:
    """For a Server-Sent Events stream, which a browser's EventSource opens with cookies but
    no headers: the ``Authorization`` header, else the pages' session (not renewed: an open
    stream is not someone at the keyboard). Never the URL."""
    if credentials is None and request.cookies.get(SESSION_COOKIE):
        try:
            session = read_session(request)
        except SessionRefused as refused:
            if refused.reason == "expired":
                raise Problem(401, "session-expired", "Session ended", "sign in again") from None
            raise Problem(401, "invalid-session", "Invalid session", "the session cookie is not valid") from None
        if session is not None:
            return session.principal
    return await current_principal(request, credentials)


async def signed_in(request: Request) -> Principal:
    """A page dependency: the signed-in person, whose session this view renews; else
    SignInRequired (no session) or SessionEnded."""
    try:
        session = read_session(request)
    except SessionRefused as refused:
        raise SessionEnded(refused.reason) from None
    if session is None:
        raise SignInRequired
    access = access_of(request)
    renewed = access.sessions.renewed(session)
    request.scope[SESSION] = renewed
    request.scope[RENEWED] = access.sessions.cookie(renewed, secure=access.secure(request))
    request.state.principal = session.principal
    return session.principal


def page_roles(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A page dependency admitting signed-in people holding any of ``roles``."""

    async def dependency(request: Request) -> Principal:
        principal = await signed_in(request)
        if not principal.has(*roles):
            raise PageRefused(403, "refused.role", roles=", ".join(r.value for r in roles))
        return principal

    return dependency


def csrf_token(request: Request) -> str:
    """The form token of the request's session; empty without one."""
    session = session_of(request)
    return access_of(request).sessions.form_token(session) if session else ""


class SessionRenewal:
    """Adds the renewed session cookie a page view left (see :func:`signed_in`) to its
    answer, whatever the page answered with."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A lifespan's state may be one dict for every request: what a request leaves in its
        # state (the person) must stay its own.
        scope["state"] = dict(scope.get("state") or {})

        async def send_renewed(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get(RENEWED):
                MutableHeaders(scope=message).append("set-cookie", scope[RENEWED])
            await send(message)

        await self.app(scope, receive, send_renewed)


class Form:
    """The fields of an ``application/x-www-form-urlencoded`` body."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]

    def optional(self, name: str) -> str | None:
        return self.get(name) or None


async def read_form(request: Request, *, check_csrf: bool = True) -> Form:
    """Parse a posted form; refuse one without this session's form token."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageRefused(413, "refused.too-large")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    form = Form(fields)
    if check_csrf:
        check_form_token(request, form.get(CSRF_FIELD))
    return form


def check_form_token(request: Request, given: str | None) -> None:
    """Refuse a form (or its header) without this session's form token."""
    expected = csrf_token(request)
    given = given or request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected, given):
        raise PageRefused(403, "refused.csrf")


def safe_next(target: str | None, default: str = "/ui") -> str:
    """A local path to go back to after signing in; never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
