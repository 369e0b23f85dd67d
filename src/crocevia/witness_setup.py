"""Telling the audit and its witnesses about each other: the witnesses' addresses and
verifier keys for the audit (``CROCEVIA_WITNESSES``), the log's verifier key for the witnesses
(``CROCEVIA_WITNESS_LOGS``). Keys are read from their files, or made there (0600) when missing;
only public keys are written out. ``crocevia up`` and ``crocevia witness-config`` (compose) use it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from crocevia_common.key_files import load_or_create_key_file
from crocevia_common.tlog.cosignature import CosignerKey
from crocevia_common.tlog.note import verifier_key


@dataclass(frozen=True, slots=True)
class PlannedWitness:
    """A witness to run: its key name, where the audit reaches it, its key file."""

    name: str
    url: str
    key_file: Path

    @classmethod
    def parse(cls, text: str) -> PlannedWitness:
        """``NAME=URL=KEY_FILE``, as the command line gives it."""
        parts = text.split("=", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"a witness is NAME=URL=KEY_FILE, not {text!r}")
        return cls(parts[0], parts[1], Path(parts[2]))

    def cosigner(self) -> CosignerKey:
        return CosignerKey(self.name, bytes(load_or_create_key_file(self.key_file).verify_key))


def witnesses_setting(witnesses: Sequence[PlannedWitness]) -> str:
    """The audit's ``CROCEVIA_WITNESSES``: each witness's address and verifier key."""
    return json.dumps([{"url": w.url, "key": str(w.cosigner())} for w in witnesses])


def logs_setting(origin: str, log_key: SigningKey) -> str:
    """A witness's ``CROCEVIA_WITNESS_LOGS``: the audit's log, by its verifier key."""
    return json.dumps([{"keys": [verifier_key(origin, bytes(log_key.verify_key))]}])


def write_config(
    origin: str, log_key: SigningKey, witnesses: Sequence[PlannedWitness], witnesses_file: Path, logs_file: Path
) -> None:
    """Write both settings as files (public keys only): the audit's ``CROCEVIA_WITNESSES_FILE``
    and the witnesses' ``CROCEVIA_WITNESS_LOGS_FILE``."""
    for path, text in ((witnesses_file, witnesses_setting(witnesses)), (logs_file, logs_setting(origin, log_key))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
