"""Bearer JWTs: who (``sub``), of which agency, in which roles.

A development issuer signs HS256 tokens with a key file on this machine (claims ``agency``
and ``roles``); in production the services verify tokens from any OIDC provider through its
JWKS (``CROCEVIA_AUTH_JWKS_URL``), reading the agency and the roles where the provider puts
them (:class:`ClaimMapping`). The pages' single sign-on reads ID tokens with the same mapping,
so a person is the same Principal on the pages and on the API.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
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
# An agency's id, as the contracts spell it (and the columns hold it).
AGENCY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"  # an agency's auditor: the trail of its own agency's referrals
    NETWORK_AUDITOR = "network-auditor"  # the steering committee: the whole network's trail
    ADMIN = "admin"
    SYSTEM = "system"
    DPO = "dpo"  # the agency's data protection officer: reads its node's access log


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    agency: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class UnusableClaims(ValueError):
    """A token whose claims do not make a Principal; ``claim`` names what is wrong."""

    def __init__(self, claim: str, detail: str) -> None:
        super().__init__(detail)
        self.claim = claim


def claim_at(claims: Mapping[str, Any], name: str) -> Any:
    """The claim ``name``, else the value at its dotted path (``realm_access.roles``)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass(frozen=True)
class ClaimMapping:
    """Where a provider's tokens carry the agency and the roles, and which of its role or
    group names are which Crocevia roles. Without a map, Crocevia's own role names count;
    with one, only the names it lists. Other names are ignored."""

    agency_claim: str = "agency"
    roles_claim: str = "roles"
    role_map: Mapping[str, Role] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: ServiceSettings) -> ClaimMapping:
        """The mapping of the settings; ValueError naming the setting for a role Crocevia
        does not have."""
        known = {r.value for r in Role}
        wrong = sorted(v for v in settings.oidc_role_map.values() if v not in known)
        if wrong:
            raise ValueError(f"CROCEVIA_OIDC_ROLE_MAP maps to roles Crocevia does not have: {', '.join(wrong)}")
        roles = {name: Role(value) for name, value in settings.oidc_role_map.items()}
        return cls(settings.oidc_agency_claim, settings.oidc_roles_claim, roles)

    def roles(self, claims: Mapping[str, Any]) -> frozenset[Role]:
        names = claim_at(claims, self.roles_claim)
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list):
            return frozenset()
        if self.role_map:
            return frozenset(self.role_map[n] for n in names if isinstance(n, str) and n in self.role_map)
        return frozenset(Role(n) for n in names if isinstance(n, str) and n in Role.__members__.values())

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The person of verified ``claims``; UnusableClaims without a usable sub or agency."""
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 1 <= len(sub) <= MAX_SUB:
            # Services keep ``sub`` (who did what) in columns of this length.
            raise UnusableClaims("sub", f"claim sub must be 1 to {MAX_SUB} characters")
        agency = claim_at(claims, self.agency_claim)
        if isinstance(agency, list) and len(agency) == 1:  # a multivalued attribute with one value
            agency = agency[0]
        if not isinstance(agency, str) or not AGENCY.match(agency):
            raise UnusableClaims(
                "agency", f"claim {self.agency_claim} must hold the agency's id (lowercase letters, digits, dashes)"
            )
        return Principal(sub=sub, agency=agency, roles=self.roles(claims))


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
        # The development issuer writes Crocevia's claims; a provider, where it is told to.
        self.claims = ClaimMapping.of(settings) if self._jwks is not None else ClaimMapping()

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
        try:
            return self.claims.principal(claims)
        except UnusableClaims as exc:
            raise Problem(401, "invalid-token", "Invalid token", str(exc)) from None


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
