"""Single sign-on's client side: the OpenID Connect authorization code flow with PKCE, with
Authlib as the client. The provider's endpoints come from its discovery document (whose
issuer must be the configured one); an ID token counts only when its signature verifies
with a key of the provider's JWKS and its issuer, audience, nonce and times are right.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from crocevia_common.settings import ServiceSettings
from crocevia_common.web.session_cookie import Clock

with warnings.catch_warnings():
    # Authlib would rather drive httpx2; the services use httpx, which it still drives.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger(__name__)
# Asymmetric signatures only: never "none", never a shared secret.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# How long discovery and keys are kept before they are read again (a new key is read at once).
METADATA_SECONDS = 3600
# Clock skew allowed between the provider and this service.
LEEWAY_SECONDS = 60


class ProviderUnavailable(Exception):
    """The provider cannot be reached, or answers what OpenID Connect does not allow."""


class SignInFailed(Exception):
    """The provider's answer does not sign anyone in; ``reason`` is a message key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class OidcConfig:
    """The single sign-on settings of one service."""

    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    redirect_url: str | None
    provider_name: str

    @classmethod
    def of(cls, settings: ServiceSettings) -> OidcConfig | None:
        """None without a client id; ValueError for settings that cannot work."""
        if not settings.oidc_client_id:
            return None
        if settings.auth_jwks_url is None:
            raise ValueError("single sign-on (CROCEVIA_OIDC_CLIENT_ID) needs the provider's CROCEVIA_AUTH_JWKS_URL")
        issuer = settings.auth_issuer
        if urlsplit(issuer).scheme not in ("https", "http") or not urlsplit(issuer).hostname:
            raise ValueError("single sign-on needs CROCEVIA_AUTH_ISSUER: the provider's issuer URL")
        if "openid" not in settings.oidc_scopes.split():
            raise ValueError("CROCEVIA_OIDC_SCOPES must include openid")
        secret_file = settings.oidc_client_secret_file
        secret = secret_file.read_text(encoding="utf-8").strip() if secret_file is not None else None
        return cls(
            issuer=issuer,
            client_id=settings.oidc_client_id,
            client_secret=secret or None,
            scopes=settings.oidc_scopes,
            redirect_url=settings.oidc_redirect_url,
            provider_name=settings.oidc_provider_name or urlsplit(issuer).hostname or issuer,
        )


class OpenIdClient:
    """Talks to one OpenID provider for one client."""

    def __init__(
        self, config: OidcConfig, *, clock: Clock = time.time, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._clock = clock
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._loaded_at = 0.0

    def _oauth(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            token_endpoint_auth_method="client_secret_basic" if self.config.client_secret else "none",
            scope=self.config.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
            trust_env=False,
            transport=self._transport,
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=10.0, trust_env=False, transport=self._transport) as http:
                answer = await http.get(url, headers={"Accept": "application/json"})
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return document

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document; ProviderUnavailable when it names another
        issuer or lacks an endpoint the flow needs."""
        if self._metadata is not None and self._clock() - self._loaded_at < METADATA_SECONDS:
            return self._metadata
        issuer = self.config.issuer
        document = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if document.get("issuer") != issuer:
            raise ProviderUnavailable("the discovery document names another issuer")
        for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(needed), str):
                raise ProviderUnavailable(f"the discovery document has no {needed}")
        self._metadata, self._keys, self._loaded_at = document, None, self._clock()
        return document

    async def authorization_url(self, redirect_uri: str, *, state: str, nonce: str, verifier: str) -> str:
        """Where to send the browser: the provider's sign-in for this client, with the
        flow's state, nonce and PKCE challenge (S256 of ``verifier``)."""
        metadata = await self.metadata()
        async with self._oauth(redirect_uri) as oauth:
            url, _state = oauth.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        return str(url)

    async def sign_in(
        self, code: str, *, verifier: str, nonce: str, redirect_uri: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Exchange ``code`` at the token endpoint and validate the ID token: its claims and
        the token endpoint's answer. SignInFailed when the provider refuses the code or
        the ID token does not hold."""
        metadata = await self.metadata()
        try:
            async with self._oauth(redirect_uri) as oauth:
                tokens = dict(
                    await oauth.fetch_token(
                        metadata["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=verifier
                    )
                )
        except OAuthError as exc:
            raise SignInFailed("signin.oidc.refused", f"token endpoint: {exc.error}") from None
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}") from None
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("signin.oidc.bad-token", "the token endpoint gave no ID token")
        return await self.id_token_claims(id_token, nonce=nonce, access_token=tokens.get("access_token")), tokens

    async def id_token_claims(self, id_token: str, *, nonce: str, access_token: Any = None) -> dict[str, Any]:
        """The claims of a valid ID token for this client and this flow's ``nonce``."""
        metadata = await self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in ALGORITHMS if a in offered]
        try:
            token = await self._verified(id_token, algorithms)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "value": self.config.issuer},
                    "aud": {"essential": True, "value": self.config.client_id},
                },
                {"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token},
            )
            claims.validate(now=int(self._clock()), leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError) as exc:
            # The library's message names the claim or the check, never a value.
            raise SignInFailed("signin.oidc.bad-token", f"ID token: {exc}") from None
        return dict(claims)

    async def _verified(self, id_token: str, algorithms: list[str]) -> jwt.Token:
        for fresh in (False, True):  # a key the provider added since: read its keys again, once
            keys = await self._key_set(fresh)
            try:
                return jwt.decode(id_token, keys, algorithms=algorithms)
            except InvalidKeyIdError:
                if fresh:
                    raise
        raise AssertionError("unreachable")

    async def _key_set(self, fresh: bool) -> KeySet:
        metadata = await self.metadata()
        if self._keys is None or fresh:
            self._keys = await self._get_json(metadata["jwks_uri"])
        try:
            return KeySet.import_key_set(self._keys)  # type: ignore[arg-type]
        except (ValueError, JoseError, TypeError) as exc:
            raise ProviderUnavailable(f"jwks_uri: {type(exc).__name__}") from None

    async def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """The provider's RP-initiated logout for this client, when it offers one."""
        try:
            metadata = await self.metadata()
        except ProviderUnavailable:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        query = httpx.QueryParams(client_id=self.config.client_id, post_logout_redirect_uri=post_logout_redirect_uri)
        return str(httpx.URL(endpoint).copy_merge_params(query))
