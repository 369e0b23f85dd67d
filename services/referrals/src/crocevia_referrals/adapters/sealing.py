"""Sealing what travels to the other agency, and opening what it sealed to this node, with
this node's keys and the keys it pinned of the others."""

from __future__ import annotations

from crocevia_common.messaging.intake import NotYet, Verified
from crocevia_common.trust import KeyRing, NoKeys
from crocevia_contracts.events import SealedPart
from crocevia_contracts.sealing import PartyKeys, open_sealed, seal_for
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.events import Outgoing


def not_ready(agency_id: str) -> Invalid:
    return Invalid("agency-not-ready", f"{agency_id} has published no keys yet", "to_agency")


class NodeSeals:
    def __init__(self, keys: PartyKeys, keyring: KeyRing) -> None:
        self.keys = keys
        self.keyring = keyring

    async def prepare(self, agency_id: str) -> None:
        """Pin the keys ``agency_id`` publishes, if they are not pinned yet (a key swapped in
        the directory is not taken); raise Invalid when there are none. Called before a
        transaction: pinning writes in a transaction of its own."""
        try:
            await self.keyring.keys_of(agency_id)
        except NoKeys:
            raise not_ready(agency_id) from None

    def seal(self, event: Outgoing) -> SealedPart | None:
        """The event's text sealed to the pinned keys of the agency it goes to."""
        if event.sealed_text is None:
            return None
        recipient = self.keyring.pinned(event.to_agency)
        if recipient is None:
            raise not_ready(event.to_agency)
        data = event.data
        return seal_for(recipient, self.keys, data.referral_id, data.event, event.sealed_text)  # type: ignore[attr-defined]

    def open(self, item: Verified) -> bytes | None:
        """The sealed part of the event, opened with the publisher's pinned key."""
        data = item.envelope.data if item.envelope else None
        if data is None or data.sealed is None:
            return None
        sender = self.keyring.pinned(item.publisher)
        if sender is None:
            raise NotYet("the publisher's keys are not pinned yet")
        return open_sealed(data.sealed, sender, self.keys, data.referral_id, data.event)
