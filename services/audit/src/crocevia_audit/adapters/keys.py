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

import logging
from datetime import UTC, datetime

from nacl.signing import SigningKey
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from crocevia_audit.adapters.tables import log_keys, signing_keys
from crocevia_audit.settings import AuditSettings
from crocevia_common.db import Database
from crocevia_common.key_files import parse_seed, read_key_file, write_key_file
from crocevia_common.tlog.note import verifier_key

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = "checkpoint-signing.key"
KEY_VARIABLE = "CROCEVIA_AUDIT_SIGNING_KEY"
FILE_VARIABLE = "CROCEVIA_AUDIT_SIGNING_KEY_FILE"


async def stored_private_key(db: Database, name: str) -> SigningKey | None:
    """The private key an earlier version kept in the database, if it is still there."""
    async with db.connect() as session:
        seed = (await session.execute(select(signing_keys.c.seed).where(signing_keys.c.name == name))).scalar()
    return None if seed is None else SigningKey(bytes(seed))


async def record_public_key(db: Database, name: str, key: SigningKey) -> None:
    """Remember that the log signs with ``key`` (its public half only)."""
    public = bytes(key.verify_key)
    async with db.connect() as session:
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
