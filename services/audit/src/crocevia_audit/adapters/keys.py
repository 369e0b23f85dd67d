"""The log's Ed25519 checkpoint key, kept outside the audit's database.

Whoever can edit the database must not be able to re-sign a rewritten trail, so the
private key lives elsewhere; the first of these that is set is used:

- ``CROCEVIA_AUDIT_SIGNING_KEY``: the key itself (standard base64 of the 32-byte seed), an
  environment secret;
- ``CROCEVIA_AUDIT_SIGNING_KEY_FILE``: a file holding it;
- otherwise ``checkpoint-signing.key`` in the service's data directory.

A key file that does not exist is made on first start (0600): with the key an earlier
version kept in the database if there is one (it moves out), else a new one. A database
that still holds a private key goes on using it only while nothing is configured, and says
in the log that the key should move out; once a key is configured, the database's copy is
removed. The database keeps the public key of every key the log has signed with
(``log_keys``), so a checkpoint signed by another key is named by ``/verify``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

from nacl.signing import SigningKey
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from crocevia_audit.adapters.tables import log_keys, signing_keys
from crocevia_audit.domain.note import verifier_key
from crocevia_audit.settings import AuditSettings
from crocevia_common.db import Database

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = "checkpoint-signing.key"
SEED_SIZE = 32
KEY_VARIABLE = "CROCEVIA_AUDIT_SIGNING_KEY"
FILE_VARIABLE = "CROCEVIA_AUDIT_SIGNING_KEY_FILE"


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
        log.warning("the checkpoint key file %s can be read by others than its owner: make it 0600", path)
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


async def stored_private_key(db: Database, name: str) -> SigningKey | None:
    """The private key an earlier version kept in the database, if it is still there."""
    async with db.sessions() as session:
        seed = (await session.execute(select(signing_keys.c.seed).where(signing_keys.c.name == name))).scalar()
    return None if seed is None else SigningKey(bytes(seed))


async def record_public_key(db: Database, name: str, key: SigningKey) -> None:
    """Remember that the log signs with ``key`` (its public half only)."""
    public = bytes(key.verify_key)
    async with db.sessions() as session:
        known = (await session.execute(select(log_keys.c.name).where(log_keys.c.public_key == public))).scalar()
    if known is not None:
        return
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(log_keys).values(public_key=public, name=name, first_used_at=datetime.now(UTC))
            )
    except IntegrityError:  # another replica recorded it first
        pass


async def _forget_private_keys(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(delete(signing_keys))


async def load_signing_key(db: Database, settings: AuditSettings) -> SigningKey:
    """The key that signs the log's checkpoints, from where the settings say (see above)."""
    name = settings.origin
    legacy = await stored_private_key(db, name)
    if settings.audit_signing_key is not None:
        key = parse_seed(settings.audit_signing_key.get_secret_value(), KEY_VARIABLE)
        where = KEY_VARIABLE
    else:
        path = settings.audit_signing_key_file or settings.data_dir / DEFAULT_KEY_FILE
        found = read_key_file(path)
        if found is None and legacy is not None and settings.audit_signing_key_file is None:
            log.warning(
                "the checkpoint signing key %s is still in the audit's database, where whoever can edit the"
                " trail can re-sign it: set %s (the key moves to that file at the next start) or %s",
                verifier_key(name, bytes(legacy.verify_key)),
                FILE_VARIABLE,
                KEY_VARIABLE,
            )
            await record_public_key(db, name, legacy)
            return legacy
        key = found or write_key_file(path, legacy or SigningKey.generate())
        where = str(path)
    await record_public_key(db, name, key)
    if legacy is not None:
        await _forget_private_keys(db)
        same = bytes(legacy.verify_key) == bytes(key.verify_key)
        log.warning(
            "the private key %s was removed from the audit's database (its public key stays recorded)%s",
            verifier_key(name, bytes(legacy.verify_key)),
            "" if same else "; the configured key is another one: /verify names the checkpoints the old one signed",
        )
    log.info("checkpoints are signed with %s (from %s)", verifier_key(name, bytes(key.verify_key)), where)
    return key
