"""Settings from environment variables (prefix ``CROCEVIA_``), one typed object per service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # How long the development sign-in keeps a person signed in.
    session_hours: float = 8.0


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
    data_dir: Path = Path(".data")

    # Authentication: a development HS256 key file, or an OIDC provider's JWKS in production.
    auth_dev_key_file: Path | None = Path(".data/dev-jwt.key")
    auth_jwks_url: str | None = None
    auth_issuer: str = "crocevia-dev"
    auth_audience: str = "crocevia"
    # The web pages' development sign-in (pick an agency and a role, get a token): only when
    # set, and only with the development key file. ``crocevia up`` sets it; nothing else does.
    dev_signin: bool = False

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
    outbox_poll_seconds: float = 0.5

    # Reply subjects of this connection; default ``_INBOX.<user>`` when the URL names a user.
    nats_inbox_prefix: str | None = None

    # JetStream: 1 on a single server, 3 on a cluster.
    stream_replicas: int = 1

    # The network operator's Ed25519 public key (base64): its confirmations of a party's new
    # keys (`crocevia keys confirm`) are taken. Without it, only rotations are.
    operator_public_key: str | None = None
