"""Ed25519 signing keys kept in a file of their own (0600), outside any database: whoever can
edit a database must not be able to sign with the key of the party that runs it.

A key file holds the 32-byte seed in standard base64 on one line (``openssl rand -base64
32`` makes one). A missing file is made on first start; two processes starting together
end up with the same key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from pathlib import Path

from nacl.signing import SigningKey

log = logging.getLogger(__name__)

SEED_SIZE = 32


class SigningKeyError(RuntimeError):
    """The configured key cannot be used; the message names the setting, never the key."""


def parse_seed(text: str, where: str) -> SigningKey:
    """The key whose seed ``text`` encodes (standard base64 of 32 bytes)."""
    try:
        seed = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{where} is not the standard base64 of a 32-byte Ed25519 seed") from None
    if len(seed) != SEED_SIZE:
        raise SigningKeyError(f"{where} holds {len(seed)} bytes, not a 32-byte Ed25519 seed")
    return SigningKey(seed)


def encode_seed(key: SigningKey) -> str:
    """What a key file holds: the seed in standard base64, one line."""
    return base64.b64encode(bytes(key)).decode() + "\n"


def read_key_file(path: Path) -> SigningKey | None:
    """The key in ``path``, or None when there is no such file."""
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SigningKeyError(f"the key file {path} cannot be read: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the key file %s can be read by others than its owner: make it 0600", path)
    return parse_seed(text, f"the key file {path}")


def write_key_file(path: Path, key: SigningKey) -> SigningKey:
    """Write ``key`` to a new file ``path`` (0600); if another process made the file
    first, return the key it holds instead."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise SigningKeyError(f"the key file {path} cannot be made: {exc.strerror}") from None
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(encode_seed(key))
            file.flush()
            os.fsync(file.fileno())
        os.link(draft, path)  # never replaces an existing file
    except FileExistsError:
        found = read_key_file(path)
        if found is None:  # pragma: no cover - removed in between
            raise SigningKeyError(f"the key file {path} vanished while it was being made") from None
        return found
    finally:
        draft.unlink(missing_ok=True)
    return key


def load_or_create_key_file(path: Path) -> SigningKey:
    """The key in ``path``; a new one, written there (0600), when the file does not exist."""
    return read_key_file(path) or write_key_file(path, SigningKey.generate())
