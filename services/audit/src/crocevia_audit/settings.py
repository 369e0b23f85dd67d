"""The audit service's settings: the shared ones plus the trail's own."""

from __future__ import annotations

from pydantic import Field

from crocevia_common.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    database_url: str = "sqlite+aiosqlite:///.data/audit.db"

    # The log's unique name: the first line of every checkpoint and the name of its key.
    origin: str = Field(default="crocevia.example/trail", pattern=r"^[^\s+]+$")

    # Appends: at most this many events per transaction (a batch is whatever the stream
    # has ready, up to this); an idle pull waits this long for the first message.
    batch_size: int = Field(default=100, ge=1, le=1000)
    fetch_wait_seconds: float = Field(default=1.0, gt=0)

    # A checkpoint is signed once this many entries wait, or this many seconds after the
    # first of them arrived, whichever comes first.
    checkpoint_every_entries: int = Field(default=1000, ge=1)
    checkpoint_every_seconds: float = Field(default=10.0, gt=0)

    # A missing sequence number is raised as an event when it stays missing this long.
    gap_grace_seconds: float = Field(default=600.0, ge=0)
    gap_check_seconds: float = Field(default=5.0, gt=0)

    # The export reads the trail in pages of this many rows (memory stays flat).
    export_page_size: int = Field(default=1000, ge=10, le=10000)
