"""The development network's witness: one, its own process on the port after the agencies',
cosigning the audit's checkpoints. Its key and the audit's checkpoint key are made (or read)
before either starts, so that each is told the other's: the witness the log's verifier key,
the audit the witness's address and verifier key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from crocevia_common.key_files import load_or_create_key_file
from crocevia_common.tlog.cosignature import CosignerKey
from crocevia_common.tlog.note import verifier_key

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
    def key_file(self) -> Path:
        return self.data_dir / "secrets" / "witness.key"

    @property
    def log_key_file(self) -> Path:
        """The audit's checkpoint key: where the audit keeps it by default."""
        return self.audit_data_dir / "checkpoint-signing.key"

    def log_vkey(self) -> str:
        return verifier_key(ORIGIN, bytes(load_or_create_key_file(self.log_key_file).verify_key))

    def cosigner(self) -> CosignerKey:
        return CosignerKey(WITNESS_NAME, bytes(load_or_create_key_file(self.key_file).verify_key))

    def witness_settings(self) -> dict[str, str]:
        """The witness's ``CROCEVIA_WITNESS_*`` settings: its key, its database, the audit's log."""
        return {
            "CROCEVIA_WITNESS_NAME": WITNESS_NAME,
            "CROCEVIA_WITNESS_KEY_FILE": str(self.key_file),
            "CROCEVIA_WITNESS_DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / WITNESS}.db",
            "CROCEVIA_WITNESS_LOGS": json.dumps([{"keys": [self.log_vkey()]}]),
        }

    def audit_settings(self) -> dict[str, str]:
        """What the audit is told: its origin and key file, and the witness to submit to."""
        return {
            "CROCEVIA_ORIGIN": ORIGIN,
            "CROCEVIA_AUDIT_SIGNING_KEY_FILE": str(self.log_key_file),
            "CROCEVIA_WITNESSES": json.dumps([{"url": self.url, "key": str(self.cosigner())}]),
        }
