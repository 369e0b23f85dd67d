"""Poison does not stall a consumer; a key swapped in the directory (on a network left open
by mistake, here the operator's user) is not taken; personal details never show on the
failure path."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from datetime import UTC, datetime

from nacl.exceptions import CryptoError
from nacl.public import SealedBox

from crocevia_contracts import Envelope, LegalBasis, referral_subject
from crocevia_contracts.directory import AgencyEntry
from crocevia_contracts.events import Requested
from crocevia_contracts.sealing import SIGNATURE_HEADER, PartyKeys, seal_for, sign_event
from tests.security.conftest import CASA, CPIA, CSL, PERSONAL, HostileNetwork, everything_said, leaks

FLOOD = 1000


async def test_a_flood_of_poison_is_dead_lettered_and_a_real_referral_gets_through_meanwhile(
    network: HostileNetwork,
) -> None:
    await network.settled()
    before = await network.state()
    seen = len(await network.dead_letters())
    hostile = (await network.connect(CSL)).jetstream()
    poison = b'{"a":' * 300 + b"1" + b"}" * 300  # 2 KB of JSON nested 300 deep
    subject = referral_subject(CSL, CPIA, "requested")

    async def flood() -> None:
        for _ in range(FLOOD):
            await hostile.publish(subject, poison)

    flooding = asyncio.create_task(flood())
    await asyncio.sleep(0.05)  # the flood is under way
    started = time.monotonic()
    referral = await network.send(CASA, CPIA)

    async def received() -> bool:
        return await network.status(CASA, referral) == "received"

    while not await received():  # a bound against a hang; that nothing waited is counted below
        assert time.monotonic() - started < 120, "the referral is held up behind the poison"
        await asyncio.sleep(0.1)
    await flooding
    await network.settled(timeout=120)
    after = await network.state()
    letters = (await network.dead_letters())[seen:]

    reasons = Counter((letter["consumer"], letter["reason"]) for letter in letters)
    nested = "JSON nested deeper than 8 levels"
    assert reasons == {(f"referrals-{CPIA}", nested): FLOOD, ("notifications", nested): FLOOD, ("audit", nested): FLOOD}
    # Each poison message went to its dead letter at its first delivery: none was retried,
    # so nothing behind it (the real referral) waited on it.
    assert Counter(letter["deliveries"] for letter in letters) == {1: 3 * FLOOD}
    # What changed is the one real referral, at both nodes, the trail and the notifications
    # (and the keys its parties were first verified with).
    changed = {table for table in before if before[table] != after[table] and not table.endswith(".pinned_keys")}
    assert changed <= {
        f"{CASA}.referrals",
        f"{CASA}.referral_history",
        f"{CASA}.inbox",
        f"{CPIA}.referrals",
        f"{CPIA}.referral_history",
        f"{CPIA}.inbox",
        "notifications.referrals",
        "notifications.inbox",
        "notifications.inbox_items",
        "notifications.timers",
        "audit.trail_entries",
    }
    assert after[f"{CPIA}.referrals"][0] == before[f"{CPIA}.referrals"][0] + 1
    assert after["audit.trail_entries"][0] == before["audit.trail_entries"][0] + 2


async def test_a_key_swapped_in_the_directory_is_not_taken_and_cannot_read_a_referral(
    network: HostileNetwork,
) -> None:
    """With write access to the directory (the operator's user, standing for a network left
    open by mistake) an attacker publishes its own keys as cpia2's, then forges a referral
    from pioltello-casa: the next referral is still sealed to cpia2's pinned key, and the
    forged one is refused everywhere."""
    first = await network.send(CASA, CPIA)  # pioltello-casa pins cpia2's keys
    await network.settled()
    admin = (await network.connect("admin")).jetstream()
    kv = await admin.key_value("directory")
    attacker = PartyKeys.generate()
    for party in (CPIA, CASA):
        entry = AgencyEntry.model_validate_json((await kv.get(party)).value or b"")
        await kv.put(party, entry.model_copy(update={"public_keys": attacker.public()}).model_dump_json().encode())
    seen = len(await network.dead_letters())

    second = await network.send(CASA, CPIA, birth_date="1980-01-01")
    data = Requested(
        referral_id="forged-by-the-operator",
        sender_agency=CASA,
        receiver_agency=CPIA,
        service_id="main-service",
        priority="routine",
        occurred_at=datetime.now(UTC),
        legal_basis=LegalBasis(basis="public-task"),
        sealed=seal_for(attacker.public(), attacker, "forged-by-the-operator", "requested", b'{"person": {}}'),
    )
    forged = Envelope.build(source_agency=CASA, sequence=99, data=data).to_json()
    await admin.publish(
        referral_subject(CASA, CPIA, "requested"), forged, headers={SIGNATURE_HEADER: sign_event(attacker, forged)}
    )
    await network.settled()

    # The attacker reads the stream: the second referral is sealed to cpia2's real key.
    stream = await admin.stream_info("REFERRALS")
    sealed_parts = []
    for sequence in range(stream.state.first_seq, stream.state.last_seq + 1):
        message = await admin.get_msg("REFERRALS", sequence)
        raw = json.loads(message.data or b"{}")
        if raw.get("subject") == second and raw["data"]["event"] == "requested":
            sealed_parts.append(raw["data"]["sealed"])
    [sealed] = sealed_parts
    ciphertext = base64.b64decode(sealed["ciphertext"])
    try:
        SealedBox(attacker.box).decrypt(ciphertext)
        opened_by_attacker = True
    except CryptoError:
        opened_by_attacker = False
    assert not opened_by_attacker
    received = await network.clients[CPIA].get(f"/referrals/{second}", headers=network.tokens.bearer(CPIA))
    assert received.json()["person"]["birth_date"] == "1980-01-01", "cpia2 opened it with its own key"
    assert await network.status(CASA, first) == "received"
    letters = (await network.dead_letters())[seen:]
    refused = "refused: the event is signed with another key than the publisher's pinned key"
    assert Counter((letter["consumer"], letter["reason"]) for letter in letters) == {
        (f"referrals-{CPIA}", refused): 1,
        ("notifications", refused): 1,
        ("audit", refused): 1,
    }
    missing = await network.clients[CPIA].get("/referrals/forged-by-the-operator", headers=network.tokens.bearer(CPIA))
    assert missing.status_code == 404


async def test_a_referral_whose_details_cannot_be_read_comes_back_undeliverable_and_nothing_personal_leaks(
    network: HostileNetwork, caplog
) -> None:
    """A careless agency seals details that are not valid (a field far too long, holding a tax
    code): the receiver takes the referral without them and answers rejected/undeliverable;
    the values show in no log, span, dead letter, trail entry or notification."""
    await network.settled()
    careless = network.keys(CSL)
    cpia_keys = network.apps[CSL].state.runtime.keys.pinned(CPIA) or await network.apps[CSL].state.runtime.keys.keys_of(
        CPIA
    )
    person = {"given_name": " ".join(PERSONAL) * 10, "family_name": PERSONAL[1], "phone": PERSONAL[2]}
    plaintext = json.dumps({"person": person, "reason": PERSONAL[0]}).encode()
    referral_id = "0195e0a4-7b7e-7c4d-9f00-00000000cafe"
    data = Requested(
        referral_id=referral_id,
        sender_agency=CSL,
        receiver_agency=CPIA,
        service_id="main-service",
        priority="routine",
        occurred_at=datetime.now(UTC),
        legal_basis=LegalBasis(basis="public-task"),
        sealed=seal_for(cpia_keys, careless, referral_id, "requested", plaintext),
    )
    hostile = (await network.connect(CSL)).jetstream()
    envelope = Envelope.build(source_agency=CSL, sequence=500, data=data).to_json()
    await hostile.publish(
        referral_subject(CSL, CPIA, "requested"), envelope, headers={SIGNATURE_HEADER: sign_event(careless, envelope)}
    )
    await network.settled()

    stored = (await network.clients[CPIA].get(f"/referrals/{referral_id}", headers=network.tokens.bearer(CPIA))).json()
    assert (stored["status"], stored["person"]) == ("rejected", None)
    [rejection] = [h for h in stored["history"] if h["event"] == "rejected"]
    assert rejection["details"]["reason_code"] == "undeliverable"
    assert rejection["details"]["problem"].startswith("invalid personal part at person.given_name: string_too_long")

    auditor = network.tokens.bearer("x", "network-auditor")
    trail = (await network.clients["audit"].get("/trail?limit=500", headers=auditor)).text
    inbox = (await network.clients["notifications"].get("/inbox", headers=network.tokens.bearer(CSL))).text
    letters = json.dumps([{**letter, "payload": letter["payload"].decode()} for letter in await network.dead_letters()])
    assert "undeliverable" in trail
    assert leaks(trail) == leaks(inbox) == leaks(letters) == leaks(everything_said(caplog)) == []
    assert leaks(json.dumps(stored)) == []
