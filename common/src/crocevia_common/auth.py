"""Bearer JWTs with the claims ``sub``, ``agency``, ``roles``.

A development issuer signs HS256 tokens with a key file on this machine; in production the
services verify tokens from any OIDC provider through its JWKS (``CROCEVIA_AUTH_JWKS_URL``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crocevia_common.problems import Problem
from crocevia_common.settings import ServiceSettings

# The longest ``sub`` claim the services accept.
MAX_SUB = 200


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"  # an agency's auditor: the trail of its own agency's referrals
    NETWORK_AUDITOR = "network-auditor"  # the steering committee: the whole network's trail
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    agency: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


def ensure_dev_key(path: Path) -> bytes:
    """Read the development signing key, making one on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def issue_dev_token(
    key: bytes,
    *,
    agency: str,
    roles: list[str],
    sub: str,
    issuer: str = "crocevia-dev",
    audience: str = "crocevia",
    ttl_seconds: int = 12 * 3600,
) -> str:
    """A signed development token the services accept."""
    for role in roles:
        Role(role)  # refuse unknown roles early
    now = int(time.time())
    claims = {
        "sub": sub,
        "agency": agency,
        "roles": roles,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, key, algorithm="HS256")


class TokenVerifier:
    """Checks a bearer token and turns it into a Principal."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._issuer = settings.auth_issuer
        self._audience = settings.auth_audience
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None
        self._dev_key = (
            ensure_dev_key(settings.auth_dev_key_file) if self._jwks is None and settings.auth_dev_key_file else None
        )
        if self._jwks is None and self._dev_key is None:
            raise ValueError("set CROCEVIA_AUTH_JWKS_URL or CROCEVIA_AUTH_DEV_KEY_FILE")

    def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "EdDSA"]
            else:
                key, algorithms = self._dev_key, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise Problem(401, "invalid-token", "Invalid token", str(exc)) from None
        roles = claims.get("roles") or []
        agency = claims.get("agency")
        if not isinstance(agency, str) or not isinstance(roles, list):
            raise Problem(401, "invalid-token", "Invalid token", "claims agency and roles are required")
        sub = claims["sub"]
        if not isinstance(sub, str) or not 1 <= len(sub) <= MAX_SUB:
            # Services keep ``sub`` (who did what) in columns of this length.
            raise Problem(401, "invalid-token", "Invalid token", f"claim sub must be 1 to {MAX_SUB} characters")
        known = frozenset(Role(r) for r in roles if r in Role.__members__.values())
        return Principal(sub=sub, agency=agency, roles=known)


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the ``Authorization: Bearer`` header only: a token in a URL would
    land in access logs, spans and browser history."""
    token = credentials.credentials if credentials else None
    if not token:
        raise Problem(401, "unauthenticated", "Authentication required", "send a bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(token)


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits callers holding any of ``roles``."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(*roles):
            wanted = ", ".join(r.value for r in roles)
            raise Problem(403, "forbidden", "Not allowed", f"this needs one of the roles: {wanted}")
        return principal

    return dependency
