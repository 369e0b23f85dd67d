"""The network operator's key work: its own signing key, the keys every party publishes,
confirming a party's new keys, and rotating a service's own keys.

Every service pins the keys a party first publishes. A party that rotates signs its new keys
with the old one, and consumers follow. A party that lost its old key (a restored server, a
broken disk) needs the operator: the party reads out its new key id by a channel the operator
trusts (a phone call, a signed letter), and the operator confirms exactly that key.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey
from nats.aio.client import Client
from sqlalchemy import MetaData

from crocevia.streams import connect_as
from crocevia_common.db import Database
from crocevia_common.directory import DirectoryView
from crocevia_common.keystore import rotate_keys
from crocevia_common.messaging.connection import NatsLogin
from crocevia_common.messaging.streams import directory_bucket
from crocevia_common.messaging.tables import messaging_tables
from crocevia_contracts.directory import KeyConfirmation
from crocevia_contracts.trust import confirm, signing_key_id


class KeyProblem(Exception):
    """A key operation that cannot be done; the message says why."""


def operator_key(path: Path) -> SigningKey:
    """The network operator's Ed25519 key, made on first use in a file only its owner reads."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = SigningKey.generate()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(base64.b64encode(bytes(key)).decode() + "\n")
        return key
    return SigningKey(base64.b64decode(path.read_text().strip()))


def public_key_text(key: SigningKey) -> str:
    """What services are given as ``CROCEVIA_OPERATOR_PUBLIC_KEY``."""
    return base64.b64encode(bytes(key.verify_key)).decode()


@dataclass(frozen=True, slots=True)
class PublishedKeys:
    party: str
    key_id: str | None
    rotations: int
    confirmed_key_id: str | None


async def _view(nats_url: str, login: NatsLogin) -> tuple[Client, DirectoryView]:
    nc = await connect_as(nats_url, login, wait=5)
    js = nc.jetstream()
    view = DirectoryView(await directory_bucket(js, create_missing=False), js)
    await view.start()
    return nc, view


async def published(nats_url: str, login: NatsLogin) -> list[PublishedKeys]:
    """The keys every agency and service publishes in the directory, and any confirmation."""
    nc, view = await _view(nats_url, login)
    try:
        parties = [e.organization.id for e in view.all()] + [f"service.{s}" for s in sorted(view.services())]
        rows = []
        for party in parties:
            keys, history = view.published_keys(party)
            confirmation = view.confirmation(party)
            rows.append(
                PublishedKeys(
                    party,
                    signing_key_id(keys) if keys else None,
                    len(history),
                    signing_key_id(confirmation.keys) if confirmation else None,
                )
            )
        return rows
    finally:
        await view.stop()
        await nc.close()


async def confirm_keys(
    nats_url: str, login: NatsLogin, operator: SigningKey, party: str, key_id: str
) -> KeyConfirmation:
    """Confirm the keys ``party`` publishes now, if their signing key id is ``key_id`` (the id
    the party read out to the operator); write the confirmation to the directory."""
    nc, view = await _view(nats_url, login)
    try:
        keys, _ = view.published_keys(party)
        if keys is None:
            raise KeyProblem(f"{party} publishes no keys in the directory")
        if signing_key_id(keys) != key_id:
            raise KeyProblem(
                f"{party} publishes key {signing_key_id(keys)}, not {key_id}: confirm only the key the party "
                "read out to you"
            )
        confirmation = confirm(operator, party, keys)
        await view.put_confirmation(confirmation)
        return confirmation
    finally:
        await view.stop()
        await nc.close()


async def rotate_own_keys(database_url: str, party: str) -> str:
    """Make ``party``'s next keys in its own database (the service stopped; it publishes them,
    endorsed by the old key, when it starts); return the new signing key id."""
    db = Database(database_url)
    try:
        keys = await rotate_keys(db, messaging_tables(MetaData()), party)
    finally:
        await db.dispose()
    return signing_key_id(keys.public())
