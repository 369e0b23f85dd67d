"""The development network's witness: one, its own process on the port after the agencies',
cosigning the audit's checkpoints. Its key and the audit's checkpoint key are made (or read)
before either starts, so that each is told the other's (``witness_setup``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crocevia.witness_setup import PlannedWitness, logs_setting, witnesses_setting
from crocevia_common.key_files import load_or_create_key_file

WITNESS = "witness"
WITNESS_NAME = "witness.crocevia.localhost/dev"
ORIGIN = "crocevia.example/trail"  # the audit's origin on the development network


@dataclass(frozen=True, slots=True)
class DevWitness:
    """The witness of a development network kept in ``data_dir``, listening at ``url``."""

    data_dir: Path
    audit_data_dir: Path
    url: str

    @property
    def planned(self) -> PlannedWitness:
        return PlannedWitness(WITNESS_NAME, self.url, self.data_dir / "secrets" / "witness.key")

    @property
    def log_key_file(self) -> Path:
        """The audit's checkpoint key: where the audit keeps it by default."""
        return self.audit_data_dir / "checkpoint-signing.key"

    def witness_settings(self) -> dict[str, str]:
        """The witness's ``CROCEVIA_WITNESS_*`` settings: its key, its database, the audit's log."""
        return {
            "CROCEVIA_WITNESS_NAME": WITNESS_NAME,
            "CROCEVIA_WITNESS_KEY_FILE": str(self.planned.key_file),
            "CROCEVIA_WITNESS_DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / WITNESS}.db",
            "CROCEVIA_WITNESS_LOGS": logs_setting(ORIGIN, load_or_create_key_file(self.log_key_file)),
        }

    def audit_settings(self) -> dict[str, str]:
        """What the audit is told: its origin and key file, and the witness to submit to."""
        return {
            "CROCEVIA_ORIGIN": ORIGIN,
            "CROCEVIA_AUDIT_SIGNING_KEY_FILE": str(self.log_key_file),
            "CROCEVIA_WITNESSES": witnesses_setting([self.planned]),
        }
