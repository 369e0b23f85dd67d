"""The pages' session: who signed in, when, and when they were last seen, in an HttpOnly
cookie signed with the service's session key (HMAC-SHA256), so nothing is kept server-side
and every replica of a service reads it.

A session ends after ``CROCEVIA_SESSION_IDLE_MINUTES`` without a page view and, whatever
happens, ``CROCEVIA_SESSION_HOURS`` after signing in. Every page view renews the cookie
(a new "last seen"); a live stream (the bell) reads it without renewing it, so an open tab
alone does not keep a shared computer signed in. Signing out removes the cookie from the
browser; a copy taken before still works until it would have ended by itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from crocevia_common.auth import MAX_SUB, Principal, Role, ensure_dev_key
from crocevia_common.settings import ServiceSettings

SESSION_COOKIE = "crocevia_session"
# Browsers keep cookies up to 4096 bytes; a session that would not fit leaves out its bearer.
MAX_COOKIE = 4000

Clock = Callable[[], float]


class Session(BaseModel):
    """What the cookie holds. ``bearer`` is a token the services' API accepts for this
    person (the provider's access token, or the development token), relayed by the bell to
    the notifications; None when there is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    sid: str = Field(min_length=16, max_length=64)  # the session's own id: forms' tokens derive from it
    sub: str = Field(min_length=1, max_length=MAX_SUB)
    agency: str = Field(min_length=1, max_length=64)
    roles: tuple[Role, ...]
    via: Literal["dev", "oidc"]
    started: int
    seen: int
    bearer: str | None = Field(default=None, max_length=3000)

    @property
    def principal(self) -> Principal:
        return Principal(sub=self.sub, agency=self.agency, roles=frozenset(self.roles))


class SessionRefused(Exception):
    """A session cookie that does not count: ``reason`` is ``invalid`` (not ours: forged,
    altered, signed with another key) or ``expired``."""

    def __init__(self, reason: Literal["invalid", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_key(settings: ServiceSettings) -> bytes:
    """The key this service signs sessions with: ``CROCEVIA_SESSION_KEY_FILE`` (made on first
    use), else derived from the OIDC client secret, else, in development (no JWKS), from the
    development key. Without any way to sign in, a key of this process (no session is ever
    made). ValueError for a public OIDC client without a key file."""
    if settings.session_key_file is not None:
        return ensure_dev_key(settings.session_key_file)
    if settings.oidc_client_id:
        if settings.oidc_client_secret_file is None:
            raise ValueError("single sign-on without a client secret needs CROCEVIA_SESSION_KEY_FILE")
        secret = settings.oidc_client_secret_file.read_text(encoding="utf-8").strip().encode()
        return _derived(secret)
    if settings.auth_jwks_url is None and settings.auth_dev_key_file is not None:
        return _derived(ensure_dev_key(settings.auth_dev_key_file))
    return secrets.token_bytes(32)


def _derived(secret: bytes) -> bytes:
    return hmac.new(secret, b"crocevia-session-key", hashlib.sha256).digest()


class Sessions:
    """Starts, signs, reads and renews one service's page sessions."""

    def __init__(self, key: bytes, *, idle_seconds: float, lifetime_seconds: float, clock: Clock = time.time) -> None:
        self._key = key
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds
        self.clock = clock

    @classmethod
    def of(cls, settings: ServiceSettings, clock: Clock = time.time) -> Sessions:
        return cls(
            session_key(settings),
            idle_seconds=settings.session_idle_minutes * 60,
            lifetime_seconds=settings.session_hours * 3600,
            clock=clock,
        )

    def now(self) -> int:
        return int(self.clock())

    def start(self, principal: Principal, via: Literal["dev", "oidc"], bearer: str | None = None) -> Session:
        now = self.now()
        return Session(
            sid=secrets.token_urlsafe(24),
            sub=principal.sub,
            agency=principal.agency,
            roles=tuple(sorted(principal.roles)),
            via=via,
            started=now,
            seen=now,
            bearer=bearer,
        )

    def renewed(self, session: Session) -> Session:
        return session.model_copy(update={"seen": self.now()})

    def encode(self, session: Session) -> str:
        value = self.sign("session", session.model_dump_json().encode())
        if len(value) > MAX_COOKIE and session.bearer is not None:
            return self.encode(session.model_copy(update={"bearer": None}))
        return value

    def read(self, value: str) -> Session:
        """The session of a cookie's value; SessionRefused when it is not ours or has ended."""
        payload = self.unsign("session", value)
        if payload is None:
            raise SessionRefused("invalid")
        try:
            session = Session.model_validate_json(payload)
        except ValidationError:
            raise SessionRefused("invalid") from None
        now = self.now()
        if now - session.seen > self.idle_seconds or now - session.started > self.lifetime_seconds:
            raise SessionRefused("expired")
        return session

    def form_token(self, session: Session) -> str:
        """The token this session's forms carry (double submit): stable for the session,
        unknown to another site."""
        return hmac.new(self._key, b"crocevia-form:" + session.sid.encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, purpose: str, payload: bytes) -> str:
        """``payload`` with a MAC bound to ``purpose`` (a session, a sign-in in progress)."""
        body = _b64(payload)
        return f"{body}.{_b64(self._mac(purpose, body))}"

    def unsign(self, purpose: str, value: str) -> bytes | None:
        """The payload of a value :meth:`sign` made for ``purpose``; None for anything else."""
        body, _, mac = value.partition(".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(purpose, body)):
                return None
            return _unb64(body)
        except (binascii.Error, ValueError):
            return None

    def _mac(self, purpose: str, body: str) -> bytes:
        return hmac.new(self._key, f"crocevia-{purpose}:{body}".encode(), hashlib.sha256).digest()

    def cookie(self, session: Session, *, secure: bool) -> str:
        """The ``Set-Cookie`` value keeping ``session`` (until its absolute end at most)."""
        response = Response()
        self.set(response, session, secure=secure)
        return response.headers["set-cookie"]

    def set(self, response: Response, session: Session, *, secure: bool) -> None:
        left = session.started + int(self.lifetime_seconds) - self.now()
        response.set_cookie(
            SESSION_COOKIE,
            self.encode(session),
            max_age=max(left, 0),
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )


def clear(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
