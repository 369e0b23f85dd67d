"""Retention over real NATS, on SQLite and PostgreSQL: a referral closed longer ago than the
receiving agency keeps personal details is erased there, confirmed on the trail with the
reason, erased at the sender too, and no longer in the SQLite files of either node (their
write-ahead logs included); an open referral keeps its details; a retention that is not a
duration stops the node from starting."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from crocevia_referrals.settings import ReferralsSettings
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


def sqlite_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_a_referral_closed_past_retention_is_erased_at_both_nodes_and_on_the_trail(
    node_factory, tokens, audit_factory, database_url, tmp_path
):
    quick = {"personal_data_retention": timedelta(seconds=1), "retention_check_seconds": 0.3}
    async with (
        audit_factory() as audit,
        node_factory(CASA) as casa,
        node_factory(CPIA, database_url=database_url, **quick) as cpia,
    ):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
        referral_id = created.json()["id"]
        bilal = referral_body(person={"given_name": "Bilal", "family_name": "M."}, reason="Job search")
        other = (await casa.post("/referrals", json=bilal, headers=tokens.bearer(CASA))).json()["id"]

        async def received(rid):
            return (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).status_code == 200

        await eventually(lambda: received(referral_id))
        await eventually(lambda: received(other))
        await cpia.post(f"/referrals/{other}/accept", headers=tokens.bearer(CPIA))  # open: kept
        for action, body in (("accept", None), ("start", None), ("complete", {"outcome": "got-help"})):
            done = await cpia.post(f"/referrals/{referral_id}/{action}", json=body, headers=tokens.bearer(CPIA))
            assert done.status_code == 200, done.text

        async def erased_at(node, agency):
            seen = (await node.get(f"/referrals/{referral_id}", headers=tokens.bearer(agency))).json()
            return seen["erased"] is not None and seen

        at_receiver = await eventually(lambda: erased_at(cpia, CPIA), timeout=20)
        at_sender = await eventually(lambda: erased_at(casa, CASA), timeout=20)
        for seen in (at_receiver, at_sender):
            assert seen["erased"]["reason"] == "retention-expired"
            assert seen["person"] is None and seen["reason"] is None and seen["status"] == "completed"
        kept = (await cpia.get(f"/referrals/{other}", headers=tokens.bearer(CPIA))).json()
        assert kept["erased"] is None and kept["person"]["given_name"] == "Bilal"

        # The SQLite files (and their write-ahead logs) forget what was erased, and only that.
        files = [tmp_path / f"{CASA}.db"] + (
            [Path(database_url.split("///", 1)[1])] if "sqlite" in database_url else []
        )

        async def forgotten():
            return all(b"Amina" not in sqlite_bytes(f) and b"Bilal" in sqlite_bytes(f) for f in files)

        await eventually(forgotten, timeout=10)

        auditor = tokens.bearer("steering-committee", "network-auditor")

        [entry] = await erasures_on_the_trail(audit, auditor, referral_id)
        assert entry["event"]["source"] == f"/agencies/{CPIA}"
        assert entry["event"]["data"]["reason"] == "retention-expired"


async def test_a_sender_whose_period_ends_first_erases_its_copy_on_the_trail_and_the_receiver_keeps_its_own(
    node_factory, tokens, audit_factory, database_url
):
    quick = {"personal_data_retention": timedelta(seconds=1), "retention_check_seconds": 0.3}
    async with (
        audit_factory() as audit,
        node_factory(CASA, database_url=database_url, **quick) as casa,
        node_factory(CPIA) as cpia,
    ):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
        referral_id = created.json()["id"]
        await eventually(
            lambda: _status(cpia, tokens.bearer(CPIA), referral_id, "received"),
        )
        refused = await cpia.post(
            f"/referrals/{referral_id}/reject", json={"reason_code": "no-capacity"}, headers=tokens.bearer(CPIA)
        )
        assert refused.status_code == 200, refused.text

        async def erased_at_sender():
            seen = (await casa.get(f"/referrals/{referral_id}", headers=tokens.bearer(CASA))).json()
            return seen["erased"] is not None and seen

        seen = await eventually(erased_at_sender, timeout=20)
        assert seen["erased"]["reason"] == "retention-expired" and seen["person"] is None
        auditor = tokens.bearer("steering-committee", "network-auditor")

        [entry] = await erasures_on_the_trail(audit, auditor, referral_id)
        assert entry["event"]["source"] == f"/agencies/{CASA}"
        assert entry["event"]["data"]["reason"] == "retention-expired"

        async def recorded_at_receiver():
            kept = (await cpia.get(f"/referrals/{referral_id}", headers=tokens.bearer(CPIA))).json()
            return kept["history"][-1]["event"] == "personal-data-erased" and kept

        kept = await eventually(recorded_at_receiver, timeout=20)
        assert kept["erased"] is None and kept["person"]["given_name"] == referral_body()["person"]["given_name"]


async def erasures_on_the_trail(audit, auditor, referral_id):
    """The trail's ``personal-data-erased`` entries of the referral, once there is one."""

    async def found():
        r = await audit.get("/trail/export?format=jsonl&event=personal-data-erased", headers=auditor)
        lines = [json.loads(line) for line in r.text.splitlines()[1:]] if r.status_code == 200 else []
        return [e for e in lines if e["event"]["subject"] == referral_id]

    return await eventually(found, timeout=40)  # the receiver erases, then the audit applies its event


async def _status(node, auth, referral_id, status):
    r = await node.get(f"/referrals/{referral_id}", headers=auth)
    return r.status_code == 200 and r.json()["status"] == status


@pytest.mark.parametrize("retention", ["forever", "P-1D", "0", "-5"])
def test_a_retention_that_is_not_a_positive_duration_is_refused(tmp_path, retention, monkeypatch):
    monkeypatch.setenv("CROCEVIA_PERSONAL_DATA_RETENTION", retention)
    with pytest.raises(ValidationError) as refused:
        ReferralsSettings(agency_id=CPIA, agency_file=tmp_path / "cpia2.yaml")
    assert "personal_data_retention" in str(refused.value)


def test_a_retention_reads_as_an_iso_8601_duration(tmp_path, monkeypatch):
    monkeypatch.setenv("CROCEVIA_PERSONAL_DATA_RETENTION", "P180D")
    settings = ReferralsSettings(agency_id=CPIA, agency_file=tmp_path / "cpia2.yaml")
    assert settings.personal_data_retention == timedelta(days=180)
