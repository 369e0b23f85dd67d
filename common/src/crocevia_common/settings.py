"""Settings from environment variables (prefix ``CROCEVIA_``), one typed object per service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def setting_from_file(data: Any, field: str, file_field: str) -> Any:
    """Settings ``data`` with ``field`` read as JSON from the file ``file_field`` names, when
    the file is given and the field is not (for a ``mode="before"`` model validator)."""
    if not isinstance(data, dict) or not data.get(file_field) or data.get(field):
        return data
    path = Path(data[file_field])
    try:
        return {**data, field: json.loads(path.read_text())}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file_field}: {path} does not hold JSON: {exc}") from None


class WebSettings(BaseSettings):
    """What the web pages need: where the other services are, who the demo staff are."""

    model_config = SettingsConfigDict(env_prefix="CROCEVIA_", extra="ignore")

    # ``network.json`` of ``crocevia up``: every service's URL, read at each request, so a
    # page links across services without restarting anything.
    network_file: Path | None = None
    # Without a network file: the URLs of the services, as in production.
    node_urls: dict[str, str] = Field(default_factory=dict)
    notifications_url: str | None = None
    audit_url: str | None = None
    # Staff directory files (one YAML per agency) offered by the development sign-in.
    staff_dir: Path | None = Path("deploy/demo/staff")
    # A page session ends after this long without a page view (shared office computers)...
    session_idle_minutes: float = Field(default=30.0, gt=0)
    # ...and this long after signing in, whatever happens.
    session_hours: float = Field(default=8.0, gt=0)


class ServiceSettings(WebSettings):
    """What every service needs (its pages' settings included); each service subclasses it
    with its own fields. Read once, in the service's bootstrap, and passed down."""

    model_config = SettingsConfigDict(env_prefix="CROCEVIA_", extra="ignore")

    service_name: str = "crocevia"
    nats_url: str = "nats://127.0.0.1:14222"
    # The NATS user this service connects as, and the file holding its password (kept out
    # of the URL, which ends up in logs). Unset on a server without users.
    nats_user: str | None = None
    nats_password_file: Path | None = None
    database_url: str = "sqlite+aiosqlite:///.data/crocevia.db"
    # PostgreSQL connections this process keeps, and how many more it opens at a peak.
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=5, ge=0, le=100)
    data_dir: Path = Path(".data")

    # Authentication: a development HS256 key file, or an OIDC provider's JWKS in production.
    auth_dev_key_file: Path | None = Path(".data/dev-jwt.key")
    auth_jwks_url: str | None = None
    auth_issuer: str = "crocevia-dev"
    auth_audience: str = "crocevia"
    # The web pages' development sign-in (pick an agency and a role, get a token): only when
    # set, and only with the development key file. ``crocevia up`` sets it; nothing else does.
    dev_signin: bool = False

    # Single sign-on for the pages: OpenID Connect with the provider whose issuer is
    # ``auth_issuer`` (its tokens are verified through ``auth_jwks_url``). On when a client id
    # is set. The redirect URL is this service's ``/signin/callback`` as the provider knows it
    # (unset: taken from the request, fine without a proxy in front).
    oidc_client_id: str | None = None
    oidc_client_secret_file: Path | None = None  # unset: a public client (PKCE only)
    oidc_redirect_url: str | None = None
    oidc_scopes: str = "openid profile"
    oidc_provider_name: str | None = None  # "Sign in with <name>"; unset: the issuer's host
    # Where a provider's tokens (ID tokens for the pages, access tokens for the API) carry the
    # agency and the roles: a claim's name, or a dotted path into nested claims
    # (``realm_access.roles``). The role map turns the provider's role or group names into
    # Crocevia's roles (``{"/crocevia/operators": "operator"}``); with a map, names it does
    # not list are ignored; without one, only Crocevia's own role names count.
    oidc_agency_claim: str = "agency"
    oidc_roles_claim: str = "roles"
    oidc_role_map: dict[str, str] = Field(default_factory=dict)
    # The key page sessions are signed with, the same for every replica of a service; made on
    # first use when missing. Unset: derived from the OIDC client secret, or in development
    # from the development key.
    session_key_file: Path | None = None

    # Telemetry: spans go to an OTLP/HTTP collector when an endpoint is set.
    otel_exporter_otlp_endpoint: str | None = None

    # Consumers: how long a failed message waits before it is redelivered.
    redelivery_delay_seconds: float = 2.0
    # How long a delivered message may stay unacknowledged before JetStream delivers it again:
    # after a crash, or when a stopping service's last fetch was cut short. Set when a durable
    # consumer is created; an existing one keeps its own (change it with `nats consumer edit`).
    consumer_ack_wait_seconds: float = Field(default=30.0, gt=0)
    # How many times a message is tried (counting redeliveries) before it is dead-lettered.
    consumer_max_deliveries: int = Field(default=5, ge=1, le=100)
    # At most this many messages applied in one transaction (a batch is whatever the stream
    # has ready, up to this; one per transaction again after a batch fails).
    batch_size: int = Field(default=64, ge=1, le=1000)
    # After a batch smaller than ``batch_size``, the service's consumers wait this long before
    # they fetch again, so that what comes meanwhile is applied as one batch: fewer
    # transactions and acknowledgements per event, at the cost of up to this much delay. 0 on
    # a node (a referral's hand-off waits for it); the audit and notifications set their own.
    linger_seconds: float = Field(default=0.0, ge=0, le=1)
    outbox_poll_seconds: float = 0.5

    # Reply subjects of this connection; default ``_INBOX.<user>`` when the URL names a user.
    nats_inbox_prefix: str | None = None

    # JetStream: 1 on a single server, 3 on a cluster.
    stream_replicas: int = 1

    # The network operator's Ed25519 public key (base64): its confirmations of a party's new
    # keys (`crocevia keys confirm`) are taken. Without it, only rotations are.
    operator_public_key: str | None = None
