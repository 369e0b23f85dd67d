"""The keys a service verifies other parties with, pinned in its own database.

The rule of which keys to take is ``crocevia_contracts.trust.next_pin``; this keeps its
outcome: the first keys a party publishes are pinned, later ones only through a rotation the
pinned key endorsed or the operator's confirmation. Every consumer of a service (the nodes,
the notifications, the audit) verifies through one ``KeyRing``.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

from sqlalchemy import select, update

from crocevia_common.db import Database, insert_missing
from crocevia_common.directory import DirectoryUnavailable, DirectoryView
from crocevia_common.messaging.tables import MessagingTables
from crocevia_contracts.directory import PublicKeys
from crocevia_contracts.sealing import SealError, verify_event
from crocevia_contracts.trust import Pin, next_pin

log = logging.getLogger(__name__)


class NoKeys(Exception):
    """No keys of a party are known yet (the directory may still be on its way)."""


class KeyRing:
    """Pinned keys of every party this service has verified, kept in its database."""

    def __init__(
        self, db: Database, tables: MessagingTables, directory: DirectoryView, operator_key: bytes | None = None
    ) -> None:
        self._db = db
        self._table = tables.pins
        self.directory = directory
        self._operator_key = operator_key
        self._pins: dict[str, PublicKeys] = {}
        self._refusals_logged: set[tuple[str, str]] = set()

    @staticmethod
    def operator_key_from(text: str | None) -> bytes | None:
        """The operator's public key from its base64 form (a setting), or None."""
        if not text:
            return None
        key = base64.b64decode(text, validate=True)
        if len(key) != 32:
            raise ValueError("the operator's public key must be 32 bytes of Ed25519, in base64")
        return key

    async def load(self) -> None:
        """Read the pins kept by earlier runs."""
        async with self._db.connect() as session:
            rows = await session.execute(select(self._table))
            self._pins = {r.party: PublicKeys(box=r.box, signing=r.signing) for r in rows}

    def pinned(self, party: str) -> PublicKeys | None:
        return self._pins.get(party)

    async def keys_of(self, party: str) -> PublicKeys:
        """The keys to verify (or seal to) ``party`` with; raise NoKeys when there are none."""
        pin = self._decide(party, self._pins.get(party))
        if pin is None:
            try:
                await self.directory.refresh(party)
            except DirectoryUnavailable as exc:
                raise NoKeys(str(exc)) from None
            pin = self._decide(party, self._pins.get(party))
        if pin is None:
            raise NoKeys(f"no keys of {party} in the directory")
        if pin.change is not None:
            return await self._store(party)
        return pin.keys

    def _decide(self, party: str, pinned: PublicKeys | None) -> Pin | None:
        published, history = self.directory.published_keys(party)
        pin = next_pin(party, pinned, published, history, self.directory.confirmation(party), self._operator_key)
        if pin is not None and pin.refused and published is not None:
            seen = (party, published.signing)
            if seen not in self._refusals_logged:
                self._refusals_logged.add(seen)
                log.warning("keys of %s not taken: %s", party, pin.refused)
        return pin

    async def _store(self, party: str) -> PublicKeys:
        """Pin what the directory now warrants, deciding again against the stored pin (another
        replica may have pinned in the meantime)."""
        t = self._table
        async with self._db.transaction() as session:
            query = select(t).where(t.c.party == party).with_for_update()
            row = (await session.execute(query)).first()
            stored = PublicKeys(box=row.box, signing=row.signing) if row else None
            pin = self._decide(party, stored)
            if pin is None:
                raise NoKeys(f"no keys of {party} in the directory")
            if pin.change is not None:
                values = {"box": pin.keys.box, "signing": pin.keys.signing, "change": pin.change.value}
                now = datetime.now(UTC)
                if row is None:  # the first pin: a concurrent first pin of the same keys waits
                    await insert_missing(session, t, {"party": party, "pinned_at": now, **values})
                    row = (await session.execute(query)).first()
                    assert row is not None
                    if (row.box, row.signing) != (pin.keys.box, pin.keys.signing):
                        raise NoKeys(f"keys of {party} were pinned at the same time as others: try again")
                else:
                    await session.execute(update(t).where(t.c.party == party).values(pinned_at=now, **values))
                log.info("keys of %s pinned (%s)", party, pin.change.value)
        self._pins[party] = pin.keys
        return pin.keys

    async def verify(self, party: str, signature: str | None, payload: bytes) -> PublicKeys:
        """Check ``party``'s ``Crocevia-Signature`` of ``payload`` with its pinned keys; return
        the keys. Raise SealError when it does not verify, NoKeys when no keys are known."""
        keys = await self.keys_of(party)
        try:
            verify_event(signature, keys, payload)
            return keys
        except SealError:
            # A rotation the watch has not brought yet: read the entry again, once.
            try:
                await self.directory.refresh(party)
            except DirectoryUnavailable:
                raise
            renewed = await self.keys_of(party)
            if renewed == keys:
                raise
            verify_event(signature, renewed, payload)
            return renewed
