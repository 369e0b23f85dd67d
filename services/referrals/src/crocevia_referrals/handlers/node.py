"""What the use cases of a node work with: its agency, database, keys, directory, outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common.db import Database
from crocevia_common.directory import DirectoryView
from crocevia_common.messaging.outbox import OutboxRelay, enqueue, next_sequence
from crocevia_common.telemetry import current_traceparent
from crocevia_common.trust import KeyRing, NoKeys
from crocevia_contracts import Envelope, referral_subject
from crocevia_contracts.directory import PublicKeys
from crocevia_contracts.sealing import SIGNATURE_HEADER, PartyKeys, sign_event
from crocevia_referrals.adapters import repository
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.handlers.errors import Invalid


@dataclass
class Node:
    agency_id: str
    db: Database
    keys: PartyKeys
    directory: DirectoryView
    keyring: KeyRing
    relay: OutboxRelay

    async def keys_of(self, agency_id: str) -> PublicKeys:
        """The pinned keys of another agency, to seal to; Invalid when there are none yet."""
        try:
            return await self.keyring.keys_of(agency_id)
        except NoKeys:
            raise Invalid("agency-not-ready", f"{agency_id} has published no keys yet", "to_agency") from None

    async def emit(self, session: AsyncSession, data: Any, to_agency: str) -> Envelope:
        """Put an event about a referral in the outbox, numbered in this node's sequence and
        signed, inside the caller's transaction. The referral's row must exist already."""
        step = await repository.next_step(session, data.referral_id)
        data = data.model_copy(update={"step": step})
        sequence = await next_sequence(session, messaging, self.agency_id)
        envelope = Envelope.build(
            source_agency=self.agency_id, sequence=sequence, data=data, traceparent=current_traceparent()
        )
        payload = envelope.to_json()
        await enqueue(
            session,
            messaging,
            referral_subject(self.agency_id, to_agency, envelope.name),
            envelope.id,
            payload,
            {SIGNATURE_HEADER: sign_event(self.keys, payload)},
        )
        return envelope
