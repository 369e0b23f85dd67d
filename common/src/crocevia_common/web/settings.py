"""What the web pages need besides a service's own settings: where the other services are
and who the demo staff are. Read from ``CROCEVIA_*`` variables like every setting."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
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
