"""How people sign in to one service's pages: its sessions, and either single sign-on with
the agency's OpenID provider or, for ``make up`` only, the development sign-in. Never both:
single sign-on needs the provider's JWKS, and with a JWKS the development sign-in is off."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from starlette.requests import Request

from crocevia_common.auth import ensure_dev_key
from crocevia_common.settings import ServiceSettings
from crocevia_common.web.oidc import OidcConfig, OpenIdClient
from crocevia_common.web.session_cookie import Clock, Sessions


def dev_key(settings: ServiceSettings) -> bytes | None:
    """The key this service mints development tokens with; None unless the sign-in is
    explicitly enabled, with the development key file and no identity provider."""
    if not settings.dev_signin or settings.auth_jwks_url is not None or settings.auth_dev_key_file is None:
        return None
    return ensure_dev_key(settings.auth_dev_key_file)


@dataclass(frozen=True)
class WebAccess:
    settings: ServiceSettings
    sessions: Sessions
    oidc: OpenIdClient | None
    dev_key: bytes | None

    @classmethod
    def of(
        cls, settings: ServiceSettings, *, clock: Clock = time.time, transport: httpx.AsyncBaseTransport | None = None
    ) -> WebAccess:
        """The access of ``settings``; ``clock`` and ``transport`` (how the provider is
        reached) are the real ones unless a test gives others. ValueError for settings
        that cannot work."""
        config = OidcConfig.of(settings)
        client = OpenIdClient(config, clock=clock, transport=transport) if config else None
        return cls(settings, Sessions.of(settings, clock), client, dev_key(settings))

    def secure(self, request: Request) -> bool:
        """Whether cookies get ``Secure``: on https, also behind a proxy that ends TLS."""
        return request.url.scheme == "https" or (self.settings.oidc_redirect_url or "").startswith("https://")


def access_of(request: Request) -> WebAccess:
    access: WebAccess = request.app.state.web_access
    return access
