"""`crocevia deadletters`: a referral dead-lettered because its sender's keys were not in the
directory yet is listed with its reason, put back once the keys are there, and taken; the
operator then empties that consumer's dead letters."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import nats
import pytest

from crocevia.cli import main
from crocevia_common.messaging.streams import directory_bucket
from crocevia_contracts import Envelope, LegalBasis, referral_subject
from crocevia_contracts.directory import read_entry
from crocevia_contracts.events import Requested
from crocevia_contracts.sealing import PartyKeys, seal_for
from tests.kit.parties import Signers
from tests.kit.services import eventually

CPIA, COOP = "cpia2", "coop-abitare"
REFERRAL = "0195e0a4-7b7e-7c4d-9f00-0000000000d1"


async def run(capsys: pytest.CaptureFixture[str], nats_url: str, *args: str) -> str:
    """The command as an operator runs it (in a thread: it runs its own event loop)."""
    assert await asyncio.to_thread(main, ["deadletters", *args, "--nats-url", nats_url, "--user", ""]) == 0
    return capsys.readouterr().out


async def test_a_dead_letter_is_put_back_once_its_cause_is_fixed_and_then_purged(
    node_factory, tokens, nats_url, capsys
):
    async with node_factory(CPIA, consumer_max_deliveries=2, redelivery_delay_seconds=0.05) as cpia:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        cpia_keys = read_entry((await (await directory_bucket(js)).get(CPIA)).value or b"").public_keys
        assert cpia_keys is not None
        coop = PartyKeys.generate()
        signers = Signers(js, keys={COOP: coop})  # coop-abitare signs, but has not published its keys
        personal = json.dumps({"person": {"given_name": "Amina", "family_name": "K."}}).encode()
        data = Requested(
            referral_id=REFERRAL,
            sender_agency=COOP,
            receiver_agency=CPIA,
            service_id="main-service",
            priority="routine",
            occurred_at=datetime.now(UTC),
            legal_basis=LegalBasis(basis="public-task"),
            sealed=seal_for(cpia_keys, coop, REFERRAL, "requested", personal),
        )
        envelope = Envelope.build(source_agency=COOP, sequence=1, data=data)
        await signers.publish(COOP, referral_subject(COOP, CPIA, "requested"), envelope.to_json(), envelope.id)

        async def dead_lettered() -> bool:
            return "referrals-cpia2" in await run(capsys, nats_url, "list")

        await eventually(dead_lettered, timeout=20)
        listed = await run(capsys, nats_url, "list", "--consumer", "referrals-cpia2")
        shown = json.loads(await run(capsys, nats_url, "show", "--consumer", "referrals-cpia2"))

        await signers.publish_keys(COOP, coop)  # the cause, fixed
        replayed = await run(capsys, nats_url, "replay", "--consumer", "referrals-cpia2", "--reason", "no keys")

        async def taken() -> dict | None:
            answer = await cpia.get(f"/referrals/{REFERRAL}", headers=tokens.bearer(CPIA))
            return answer.json() if answer.status_code == 200 else None

        referral = await eventually(taken, timeout=20)
        again = await run(capsys, nats_url, "replay", "--consumer", "referrals-cpia2")
        purged = await run(capsys, nats_url, "purge", "--consumer", "referrals-cpia2")
        after = await run(capsys, nats_url, "list")
        listing = (await cpia.get("/referrals", headers=tokens.bearer(CPIA))).json()["items"]
        await nc.close()
    assert "gave up after 2 tries: no keys of coop-abitare in the directory" in listed
    assert shown["subject"] == "referral.v1.coop-abitare.cpia2.requested"
    assert shown["payload"]["data"]["referral_id"] == REFERRAL and "ciphertext" in shown["payload"]["data"]["sealed"]
    assert replayed.startswith("1 dead letters put back")
    assert (referral["status"], referral["person"]["given_name"]) == ("received", "Amina")
    assert again.startswith("1 dead letters put back")  # within a day the same replay is one message
    assert [item["id"] for item in listing] == [REFERRAL], "applied once"
    assert purged.strip() == "1 dead letters purged" and after == ""
