"""The notifications service's settings: the shared ones plus where staff and agencies are
described, how e-mail and webhooks go out, and how often the background work runs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from crocevia_common.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    database_url: str = "sqlite+aiosqlite:///.data/notifications.db"

    # Agency directory entries (YAML, one per agency): the agencies this service knows
    # besides those in the ``directory`` bucket, and their response targets.
    agencies_dir: Path = Path("deploy/demo/agencies")
    # Staff directory files (YAML, one per agency), loaded at start.
    staff_dir: Path = Path("deploy/demo/staff")
    # Each agency's referrals node, for links in notifications: {"cpia2": "http://..."}.
    node_urls: dict[str, str] = Field(default_factory=dict)
    # Events may reach staff this much later, applied in fewer transactions (in the network
    # bench's flow, a third less of this service's CPU than without).
    linger_seconds: float = Field(default=0.05, ge=0, le=1)

    # E-mail: no host, no e-mail (the inbox and webhooks still work).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Crocevia <notifiche@crocevia.invalid>"
    smtp_timeout_seconds: float = 30.0
    # Waits before each retry of a failed e-mail; then it is given up.
    email_retry_seconds: list[float] = Field(default_factory=lambda: [60.0, 300.0, 1800.0, 7200.0])
    # Length of an "hourly" digest window (shorter in tests).
    hourly_digest_seconds: float = 3600.0

    # Webhooks: waits before each retry (Standard Webhooks' schedule after the first try).
    webhook_retry_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_timeout_seconds: float = 15.0
    webhook_concurrency: int = 16
    # After a secret is rotated the previous one keeps signing this long (receivers switch).
    webhook_rotation_grace_seconds: float = Field(default=86400.0, ge=0)
    # Hosts exempt from the guard against internal addresses (tests, development only).
    webhook_allowed_hosts: list[str] = Field(default_factory=list)

    # How often the senders and the timers look for due work when nothing wakes them.
    delivery_poll_seconds: float = 1.0
    timer_poll_seconds: float = 5.0
    # Inbox streams: how often they look when not woken, and send a keep-alive comment.
    inbox_stream_poll_seconds: float = 5.0
    inbox_stream_keepalive_seconds: float = 15.0
