"""The audit service's settings: the shared ones plus the trail's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from crocevia_common.settings import ServiceSettings, setting_from_file
from crocevia_common.tlog.cosignature import CosignerKey, parse_cosigner_key
from crocevia_common.tlog.note import NoteError
from crocevia_common.tlog.policy import WitnessPolicy


class WitnessSetting(BaseModel):
    """A witness the audit asks to cosign its checkpoints: where it listens, and its key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500, description="its submission prefix")
    key: str = Field(description="its verifier key, <name>+<key id>+<base64(0x04 || key)> (GET /key)")

    @field_validator("key")
    @classmethod
    def _cosigner_key(cls, key: str) -> str:
        try:
            parse_cosigner_key(key)
        except NoteError as error:
            raise ValueError(f"not a witness key: {error.reason}") from None
        return key

    @property
    def cosigner(self) -> CosignerKey:
        return parse_cosigner_key(self.key)


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    database_url: str = "sqlite+aiosqlite:///.data/audit.db"

    # The log's unique name: the first line of every checkpoint and the name of its key.
    origin: str = Field(default="crocevia.example/trail", pattern=r"^[^\s+]+$")

    # Appends: larger batches than the other services (``batch_size``); an idle pull waits
    # this long for the first message.
    batch_size: int = Field(default=100, ge=1, le=1000)
    fetch_wait_seconds: float = Field(default=1.0, gt=0)
    # Off a referral's path: entries may be recorded this much later, in fewer transactions
    # (in the network bench's flow, 45% less of the audit's CPU than without).
    linger_seconds: float = Field(default=0.05, ge=0, le=1)

    # A checkpoint is signed once this many entries wait, or this many seconds after the
    # first of them arrived, whichever comes first.
    checkpoint_every_entries: int = Field(default=1000, ge=1)
    checkpoint_every_seconds: float = Field(default=10.0, gt=0)

    # A missing sequence number is raised as an event when it stays missing this long.
    gap_grace_seconds: float = Field(default=600.0, ge=0)
    gap_check_seconds: float = Field(default=5.0, gt=0)

    # After a change of the directory, the due times stored with the running totals are
    # held to its targets and restated where a target changed (the indicators count the
    # others one at a time until then); at most once per this many seconds.
    due_times_check_seconds: float = Field(default=60.0, gt=0)

    # The Ed25519 key that signs checkpoints lives outside the database, so whoever can edit
    # the database cannot re-sign a rewritten trail: the key itself (standard base64 of the
    # 32-byte seed, e.g. `openssl rand -base64 32`), else a file holding it (made, 0600, on
    # first start if missing), else the file `checkpoint-signing.key` in `data_dir`.
    audit_signing_key: SecretStr | None = None
    audit_signing_key_file: Path | None = None

    # The witnesses each new checkpoint is sent to (JSON: [{"url": ..., "key": ...}]), how
    # many of them a checkpoint needs to be trusted (unset: all), and how often a witness
    # that did not cosign the latest checkpoint is asked again.
    witnesses: list[WitnessSetting] = Field(default_factory=list)
    witnesses_file: Path | None = None  # the same list in a JSON file, when ``witnesses`` is unset
    witness_quorum: int | None = Field(default=None, ge=0)
    witness_retry_seconds: float = Field(default=5.0, gt=0)
    witness_timeout_seconds: float = Field(default=10.0, gt=0)

    # The export reads the trail in pages of this many rows (memory stays flat).
    export_page_size: int = Field(default=1000, ge=10, le=10000)

    @model_validator(mode="before")
    @classmethod
    def _witnesses_from_file(cls, data: Any) -> Any:
        return setting_from_file(data, "witnesses", "witnesses_file")

    @model_validator(mode="after")
    def _quorum_can_be_met(self) -> AuditSettings:
        self.witness_policy()
        return self

    def witness_policy(self) -> WitnessPolicy:
        """The k of n policy the audit's checkpoints are held to (``ValueError`` if it cannot be met)."""
        witnesses = tuple(witness.cosigner for witness in self.witnesses)
        quorum = len(witnesses) if self.witness_quorum is None else self.witness_quorum
        return WitnessPolicy(witnesses, quorum)

    @field_validator("audit_signing_key", "audit_signing_key_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable on as an empty string. The key is checked
        # where it is read (adapters/keys.py): a validation error here would print it.
        return None if isinstance(value, str) and not value.strip() else value
