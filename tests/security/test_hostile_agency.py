"""A hostile agency, with its own valid keys and within its NATS permissions, tries every
forgery that got through before: nothing it sends changes the state of any service (rows and
their SHA-256, table by table), each message ends in a dead letter of every consumer that
got it, with the reason, and no consumer stops."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from crocevia_contracts import EVENT_MODELS, Envelope, EventName, LegalBasis, referral_subject
from crocevia_contracts.directory import AgencyEntry
from crocevia_contracts.sealing import SIGNATURE_HEADER, PartyKeys, key_id, sign_event
from tests.security.conftest import CASA, CPIA, CSL, HostileNetwork, everything_said, leaks, who_leaked

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
CPIA_SIDE = (f"referrals-{CPIA}", "notifications", "audit")  # who reads csl-lavoro → cpia2
CASA_SIDE = (f"referrals-{CASA}", "notifications", "audit")  # who reads csl-lavoro → pioltello-casa


def event(name: str, referral_id: str, sender: str, receiver: str, sequence: int, **fields: Any) -> tuple[str, bytes]:
    """A well-formed event of ``referral_id`` published by csl-lavoro."""
    if name == "requested":
        fields.setdefault("legal_basis", LegalBasis(basis="public-task"))
    data = EVENT_MODELS[EventName(name)](
        referral_id=referral_id,
        sender_agency=sender,
        receiver_agency=receiver,
        service_id="main-service",
        priority="routine",
        occurred_at=NOW,
        **fields,
    )
    other = receiver if sender == CSL else sender
    envelope = Envelope.build(source_agency=CSL, sequence=sequence, data=data)
    return referral_subject(CSL, other, name), envelope.to_json()


def signature_id(keys: PartyKeys) -> str:
    return key_id(bytes(keys.signing.verify_key))


async def test_every_forgery_of_a_hostile_agency_changes_nothing_and_is_dead_lettered(
    network: HostileNetwork, caplog
) -> None:
    # A referral between two other agencies, and one the hostile agency sends honestly first.
    r0 = await network.send(CASA, CPIA)
    r1 = await network.send(CSL, CPIA)
    await network.settled()
    assert (await network.status(CASA, r0), await network.status(CSL, r1)) == ("received", "received")
    before = await network.state()
    seen = len(await network.dead_letters())

    hostile = (await network.connect(CSL)).jetstream()
    own, impostor = network.keys(CSL), PartyKeys.generate()
    expected: Counter[tuple[str, str]] = Counter()

    async def publish(subject: str, payload: bytes, readers: tuple[str, ...], reason: str, **headers: str) -> None:
        headers.setdefault(SIGNATURE_HEADER, sign_event(own, payload))
        await hostile.publish(subject, payload, headers=headers)
        expected.update((reader, reason) for reader in readers)

    # Unsigned, numbered far ahead: it would open a false gap in the trail.
    subject, payload = event("requested", "forged-1", CSL, CPIA, 9000)
    await hostile.publish(subject, payload)
    expected.update((reader, "refused: the event is not signed") for reader in CPIA_SIDE)
    # Signed with another key, under the agency's own key id.
    subject, payload = event("requested", "forged-2", CSL, CPIA, 9001)
    forged = f"{signature_id(own)}:{sign_event(impostor, payload).split(':', 1)[1]}"
    await publish(
        subject, payload, CPIA_SIDE, "refused: the event signature does not verify", **{SIGNATURE_HEADER: forged}
    )
    # Acting on a referral between two other agencies: reject it at its sender, cancel it and
    # ask about it at its receiver (each signed, each on a subject csl-lavoro may use).
    parties = "the parties or the service are not the referral's"
    await publish(*event("rejected", r0, CASA, CSL, 3, reason_code="no-capacity"), CASA_SIDE, parties)
    await publish(*event("cancelled", r0, CSL, CPIA, 4, reason_code="sent-in-error"), CPIA_SIDE, parties)
    await publish(*event("info-requested", r0, CSL, CPIA, 5), CPIA_SIDE, parties)
    # A second request reusing the number of its honest first one.
    reused = "sequence 1 of /agencies/csl-lavoro belongs to another event"
    await publish(*event("requested", "forged-6", CSL, CPIA, 1), CPIA_SIDE, reused)
    # A request of 900 KB.
    subject, payload = event("requested", "forged-7", CSL, CPIA, 6)
    big = json.loads(payload)
    big["data"]["legal_basis"]["scope"] = "x" * 900_000
    payload = json.dumps(big).encode()
    await publish(subject, payload, CPIA_SIDE, f"payload of {len(payload)} bytes is over the limit of 131072")
    # A reason that is not a code: direction and control characters, markup.
    subject, payload = event("on-hold", "forged-8", CPIA, CSL, 7, reason_code="other")
    payload = payload.replace(b'"reason_code":"other"', b'"reason_code":"\\u202e\\u0000<script>"')
    await publish(subject, payload, CPIA_SIDE, "invalid envelope at data.on-hold.reason_code: string_pattern_mismatch")
    # New keys in its own directory entry, endorsed by nothing, then used.
    kv = await hostile.key_value("directory")
    entry = AgencyEntry.model_validate_json((await kv.get(CSL)).value or b"")
    await kv.put(CSL, entry.model_copy(update={"public_keys": impostor.public()}).model_dump_json().encode())
    subject, payload = event("requested", "forged-9", CSL, CPIA, 9)
    await publish(
        subject,
        payload,
        CPIA_SIDE,
        "refused: the event is signed with another key than the publisher's pinned key",
        **{SIGNATURE_HEADER: sign_event(impostor, payload)},
    )

    await network.settled()
    after = await network.state()
    letters = (await network.dead_letters())[seen:]
    changed = {table: (before[table], after[table]) for table in before if before[table] != after[table]}
    # The one thing a forgery may cause: a consumer that had not met csl-lavoro yet pins its
    # real keys (checked below), as it would on its first honest event.
    assert set(changed) <= {f"{CASA}.pinned_keys"}, "a forgery changed the state of a service"
    assert Counter((letter["consumer"], letter["reason"]) for letter in letters) == expected
    assert len(letters) == 27
    assert all(letter["reason_header"] == letter["reason"][:200] for letter in letters)
    for service in (CASA, CPIA, "notifications", "audit"):
        assert network.apps[service].state.runtime.keys.pinned(CSL) == own.public(), f"{service} took the new key"
    gaps = await network.clients["audit"].get("/gaps", headers=network.tokens.bearer("x", "network-auditor"))
    assert gaps.json()["gaps"] == []
    # The honest referrals still move: the consumers did not stop.
    assert (await network.clients[CPIA].post(f"/referrals/{r0}/accept", headers=network.tokens.bearer(CPIA))).is_success
    await network.settled()
    assert await network.status(CASA, r0) == "accepted"
    assert leaks(everything_said(caplog)) == [], who_leaked(caplog)
