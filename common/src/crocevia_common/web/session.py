"""Who is looking at a page: the bearer token kept in an HttpOnly cookie.

API routes read the ``Authorization`` header only (an event stream may also read the
cookie, :func:`header_or_cookie`); pages read the cookie that the development sign-in sets
(in production, whatever put the identity provider's token there). Forms that change
something carry a token derived from the session cookie, which a page of another site
cannot know (double-submit, on top of ``SameSite=Lax``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from crocevia_common.auth import Principal, Role, TokenVerifier, current_principal
from crocevia_common.problems import Problem

TOKEN_COOKIE = "crocevia_token"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 64 * 1024


class SignInRequired(Exception):
    """No valid session: the page answers with a way to the sign-in page."""


class PageRefused(Exception):
    """A page that cannot be shown to this person, with a message key and details."""

    def __init__(self, status: int, message: str, **values: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.values = values


def principal_of(request: Request) -> Principal | None:
    """The person of the session cookie, or None when there is none or it is not valid."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(token)
    except Problem:
        return None


async def header_or_cookie(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> Principal:
    """For a Server-Sent Events stream, which a browser's EventSource opens with cookies but
    no headers: the ``Authorization`` header, else the pages' cookie. Never the URL."""
    token = request.cookies.get(TOKEN_COOKIE)
    if credentials is None and token:
        verifier: TokenVerifier = request.app.state.token_verifier
        return verifier.verify(token)
    return await current_principal(request, credentials)


async def signed_in(request: Request) -> Principal:
    """A page dependency: the signed-in person, else SignInRequired."""
    principal = principal_of(request)
    if principal is None:
        raise SignInRequired
    request.state.principal = principal
    return principal


def page_roles(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A page dependency admitting signed-in people holding any of ``roles``."""

    async def dependency(request: Request) -> Principal:
        principal = await signed_in(request)
        if not principal.has(*roles):
            raise PageRefused(403, "refused.role", roles=", ".join(r.value for r in roles))
        return principal

    return dependency


def csrf_token(request: Request) -> str:
    token = request.cookies.get(TOKEN_COOKIE, "")
    return hashlib.sha256(b"crocevia-form:" + token.encode()).hexdigest()[:32] if token else ""


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
        expected = csrf_token(request)
        given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected, given):
            raise PageRefused(403, "refused.csrf")
    return form


def safe_next(target: str | None, default: str = "/ui") -> str:
    """A local path to go back to after signing in; never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
