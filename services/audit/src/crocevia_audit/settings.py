"""The audit service's settings: the shared ones plus the trail's own."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from crocevia_common.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    database_url: str = "sqlite+aiosqlite:///.data/audit.db"

    # The log's unique name: the first line of every checkpoint and the name of its key.
    origin: str = Field(default="crocevia.example/trail", pattern=r"^[^\s+]+$")

    # Appends: larger batches than the other services (``batch_size``); an idle pull waits
    # this long for the first message.
    batch_size: int = Field(default=100, ge=1, le=1000)
    fetch_wait_seconds: float = Field(default=1.0, gt=0)

    # A checkpoint is signed once this many entries wait, or this many seconds after the
    # first of them arrived, whichever comes first.
    checkpoint_every_entries: int = Field(default=1000, ge=1)
    checkpoint_every_seconds: float = Field(default=10.0, gt=0)

    # A missing sequence number is raised as an event when it stays missing this long.
    gap_grace_seconds: float = Field(default=600.0, ge=0)
    gap_check_seconds: float = Field(default=5.0, gt=0)

    # The Ed25519 key that signs checkpoints lives outside the database, so whoever can edit
    # the database cannot re-sign a rewritten trail: the key itself (standard base64 of the
    # 32-byte seed, e.g. `openssl rand -base64 32`), else a file holding it (made, 0600, on
    # first start if missing), else the file `checkpoint-signing.key` in `data_dir`.
    audit_signing_key: SecretStr | None = None
    audit_signing_key_file: Path | None = None

    # The export reads the trail in pages of this many rows (memory stays flat).
    export_page_size: int = Field(default=1000, ge=10, le=10000)

    @field_validator("audit_signing_key", "audit_signing_key_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable on as an empty string. The key is checked
        # where it is read (adapters/keys.py): a validation error here would print it.
        return None if isinstance(value, str) and not value.strip() else value
