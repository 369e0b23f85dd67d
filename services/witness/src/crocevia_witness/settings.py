"""The witness's settings, from ``CROCEVIA_WITNESS_*`` variables, read once by its bootstrap.

``CROCEVIA_WITNESS_LOGS`` lists the logs it cosigns for, as JSON::

    [{"keys": ["crocevia.example/trail+1a2b3c4d+AU..."]}]

each with the log's verifier keys (``GET /checkpoint/key`` of the audit), its ``origin``
when that is not the keys' name, and optionally the ``initial_size`` and ``initial_root``
(base64) of a checkpoint checked out of band, which the first one cosigned must extend;
without them the witness trusts the first checkpoint it is sent (trust on first use).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crocevia_common.settings import setting_from_file
from crocevia_common.tlog.note import NoteError, parse_verifier_key
from crocevia_witness.adapters.tables import MAX_ORIGIN
from crocevia_witness.domain.witnessing import TreeHead, WitnessedLog

KEY_NAME = r"^[^\s+]+$"  # a note key name: no spaces, no '+'


class LogSetting(BaseModel):
    """One log the witness cosigns for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[str] = Field(min_length=1, description="the log's verifier keys, <name>+<key id>+<key>")
    origin: str | None = Field(default=None, min_length=1, max_length=MAX_ORIGIN, pattern=r"^[^\x00-\x1f]+$")
    initial_size: int | None = Field(default=None, ge=0, le=2**63 - 1)
    initial_root: str | None = None

    @field_validator("keys")
    @classmethod
    def _verifier_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            try:
                parse_verifier_key(key)
            except NoteError as error:
                raise ValueError(f"not a log verifier key: {error.reason}") from None
        return keys

    @model_validator(mode="after")
    def _consistent(self) -> LogSetting:
        if (self.initial_size is None) != (self.initial_root is None):
            raise ValueError("initial_size and initial_root go together")
        if len(self.witnessed().origin) > MAX_ORIGIN:  # also checks the root decodes to a hash
            raise ValueError(f"an origin has at most {MAX_ORIGIN} characters")
        return self

    def witnessed(self) -> WitnessedLog:
        """The log as the witness's rules see it."""
        keys = tuple(parse_verifier_key(key) for key in self.keys)
        initial = None
        if self.initial_size is not None and self.initial_root is not None:
            try:
                root = base64.b64decode(self.initial_root, validate=True)
                initial = TreeHead(self.initial_size, root)
            except (binascii.Error, ValueError):
                raise ValueError("initial_root is the base64 of a 32-byte root hash") from None
        return WitnessedLog(self.origin or keys[0].name, keys, initial)


class WitnessSettings(BaseSettings):
    """Who the witness is, where its key and its state are, and which logs it witnesses."""

    model_config = SettingsConfigDict(env_prefix="CROCEVIA_WITNESS_", extra="ignore")

    # The name in its cosignature lines and its verifier key: a schema-less URL of the
    # party that runs it is customary (it need not be reachable).
    name: str = Field(default="witness.crocevia.example/w1", max_length=200, pattern=KEY_NAME)
    # Its Ed25519 key (standard base64 of the 32-byte seed), made 0600 on first start.
    key_file: Path = Path(".data/witness.key")
    # The checkpoint it cosigned last per log: SQLite or PostgreSQL.
    database_url: str = "sqlite+aiosqlite:///.data/witness.db"
    logs: list[LogSetting] = Field(default_factory=list)
    logs_file: Path | None = None  # the same list in a JSON file, when ``logs`` is unset
    # Where `crocevia-witness serve` listens.
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _logs_from_file(cls, data: Any) -> Any:
        return setting_from_file(data, "logs", "logs_file")

    @field_validator("logs")
    @classmethod
    def _one_entry_per_origin(cls, logs: list[LogSetting]) -> list[LogSetting]:
        origins = [log.witnessed().origin for log in logs]
        if len(set(origins)) != len(origins):
            raise ValueError("each log (origin) is listed once")
        return logs

    def witnessed_logs(self) -> dict[str, WitnessedLog]:
        """The logs it witnesses, by origin."""
        return {log.origin: log for log in (setting.witnessed() for setting in self.logs)}
