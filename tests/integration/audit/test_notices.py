"""Reminders and escalations (``notice.v1.<agency>.<kind>``, stream NOTICES) recorded in
the same Merkle trail as referral events, by the consumer ``audit-notices``, on a real
NATS server and on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import create_app
from crocevia_audit.domain.entries import entry_bytes
from crocevia_audit.handlers.append import Outcome, TrailWriter
from crocevia_common.messaging.streams import directory_bucket
from crocevia_common.tlog.checkpoint import open_checkpoint
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_common.tlog.note import parse_verifier_key
from crocevia_common.tlog.verification import check_inclusion
from crocevia_contracts.directory import AgencyEntry
from tests.integration.audit.events import NOTIFICATIONS, T0, Network, checked
from tests.integration.audit.wire import jetstream, publish, stored
from tests.integration.audit.wire import signers as wire_signers
from tests.kit.services import eventually, serve

HOUR = timedelta(hours=1)


def event_id(delivery) -> str:
    return json.loads(delivery.payload)["id"]


async def trail(audit, headers, **params) -> list[dict]:
    answer = await audit.get("/trail", params={"order": "oldest", "limit": 500, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def holding(audit, headers, count: int) -> list[dict]:
    """The whole trail, once it holds ``count`` entries."""

    async def enough():
        items = await trail(audit, headers)
        return len(items) >= count and items

    return await eventually(enough, timeout=20)


async def one_by_one(audit, js, headers, deliveries) -> None:
    """Publish each delivery once the one before is in the trail: a known arrival order."""
    for count, delivery in enumerate(deliveries, start=1):
        await publish(js, [delivery])
        await holding(audit, headers, count)


async def test_notices_and_referral_events_share_one_trail_in_arrival_order(
    audit_settings, database_url, nats_url, tokens
):
    net = Network()
    story = [
        net.event("requested", "ref-1"),
        net.notice("reminder", "ref-1", at=T0 + 24 * HOUR),
        net.event("received", "ref-1", at=T0 + 30 * HOUR),
        net.notice("escalation", "ref-1", at=T0 + 120 * HOUR, stage="received", status="received"),
        net.event("requested", "ref-2", receiver="csl-lavoro", service_id="job-coaching", domain="work"),
    ]
    auditor = tokens.bearer("network", "network-auditor")
    app = create_app(audit_settings(database_url))
    async with serve(app) as audit, jetstream(nats_url) as js:
        await one_by_one(audit, js, auditor, story)
        # Then both streams at once: each stream's order is kept, every entry is the next leaf.
        referral_burst = [net.event("requested", f"burst-{i}") for i in range(12)]
        notice_burst = [net.notice("reminder", f"burst-{i}", at=T0 + 24 * HOUR) for i in range(12)]
        await publish(js, [d for pair in zip(referral_burst, notice_burst, strict=True) for d in pair])
        everything = await holding(audit, auditor, len(story) + 24)
        of_ref_1 = await trail(audit, auditor, referral_id="ref-1")
        reminders = await trail(audit, auditor, event="reminder", referral_id="ref-1")
        both = await trail(audit, auditor, event=["reminder", "escalation"])
        mixed = await trail(audit, auditor, event=["requested", "escalation"], referral_id="ref-1")
        unknown_event = await audit.get("/trail", params={"event": "nudge"}, headers=auditor)
        receiver_staff = await trail(audit, tokens.bearer("cpia2"), referral_id="ref-1")
        other_staff = await trail(audit, tokens.bearer("csl-lavoro"), referral_id="ref-1")
        gaps = (await audit.get("/gaps", headers=auditor)).json()["gaps"]
        anomalies = (await audit.get("/anomalies", headers=auditor)).json()["anomalies"]

    assert [i["event_id"] for i in everything[: len(story)]] == [event_id(d) for d in story]
    assert [i["position"] for i in everything] == list(range(len(story) + 24))
    burst = everything[len(story) :]
    assert [i["event_id"] for i in burst if i["source"] != NOTIFICATIONS] == [event_id(d) for d in referral_burst]
    assert [i["event_id"] for i in burst if i["source"] == NOTIFICATIONS] == [event_id(d) for d in notice_burst]

    assert [(i["event"], i["position"]) for i in of_ref_1] == [
        ("requested", 0),
        ("reminder", 1),
        ("received", 2),
        ("escalation", 3),
    ]
    reminder, escalation = of_ref_1[1], of_ref_1[3]
    assert {k: reminder[k] for k in reminder if k not in ("position", "event_id", "recorded_at", "leaf_hash")} == {
        "type": "org.crocevia.notice.reminder.v1",
        "event": "reminder",
        "source": "/services/notifications",
        "sequence": 1,
        "from_agency": "notifications",
        "to_agency": "cpia2",
        "referral_id": "ref-1",
        "sender_agency": "pioltello-casa",
        "receiver_agency": "cpia2",
        "service_id": "main-service",
        "domain": None,
        "priority": "routine",
        "reason_code": None,
        "outcome": None,
        "time": "2026-03-03T09:00:00Z",
        "occurred_at": "2026-03-03T09:00:00Z",
    }
    assert (escalation["type"], escalation["sequence"]) == ("org.crocevia.notice.escalation.v1", 2)
    assert [i["event_id"] for i in reminders] == [reminder["event_id"]]
    assert [i["event"] for i in both] == ["reminder", "escalation"] + ["reminder"] * 12
    assert [i["event"] for i in mixed] == ["requested", "escalation"]
    assert unknown_event.status_code == 422
    assert [i["event"] for i in receiver_staff] == ["requested", "reminder", "received", "escalation"]
    assert other_staff == []
    assert gaps == [] and anomalies == []  # the notifications' sequence 1..14 has no hole
    assert dict(app.state.audit.writer.counts) == {"appended": len(story) + 24}
    assert app.state.notice_consumer.name == "audit-notices" and app.state.notice_consumer.batches > 0


async def test_an_inclusion_proof_verifies_for_a_notice_entry(audit_factory, database_url, nats_url, tokens):
    net = Network()
    requested = net.event("requested", "ref-1")
    reminder = net.notice("reminder", "ref-1", at=T0 + 24 * HOUR)
    received = net.event("received", "ref-1", at=T0 + 25 * HOUR)
    auditor = tokens.bearer("network", "network-auditor")
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        await one_by_one(audit, js, auditor, [requested, reminder, received])

        async def signed_3():
            answer = await audit.get("/checkpoint")
            return answer.headers.get("crocevia-tree-size") == "3" and answer.text

        note = await eventually(signed_3)
        key = parse_verifier_key((await audit.get("/checkpoint/key")).text)
        answer = await audit.get(
            "/proofs/inclusion", params={"event_id": event_id(reminder)}, headers=tokens.bearer("cpia2")
        )
        verified = (await audit.get("/verify", headers=auditor)).json()
        exported = await audit.get("/trail/export", params={"event": "reminder"}, headers=auditor)
    assert answer.status_code == 200, answer.text
    proof = answer.json()
    checkpoint = open_checkpoint(note, [key], origin="crocevia.test/trail")
    assert (proof["leaf_index"], proof["tree_size"], proof["checkpoint"]) == (1, 3, note)
    # The leaf is the notice's public envelope, exactly as published, at index 1.
    entry = entry_bytes(1, reminder.subject, json.loads(reminder.payload))
    assert base64.b64decode(proof["leaf_hash"]) == leaf_hash(entry)
    check_inclusion(leaf_hash(entry), 1, 3, [base64.b64decode(h) for h in proof["proof"]], checkpoint.root)
    assert verified["ok"] and verified["entries"] == 3, verified
    assert exported.text.splitlines()[1].encode() == entry


async def test_a_malformed_notice_is_dead_lettered_with_its_reason_and_the_trail_does_not_change(
    audit_factory, database_url, nats_url, tokens
):
    net = Network()
    good = net.notice("reminder", "ref-1")
    wrong_kind = net.notice("escalation", "ref-1")  # published on the reminder subject below
    not_a_party = net.notice("reminder", "ref-1", agency="csl-lavoro")
    wrong_type = json.dumps({**json.loads(good.payload), "id": "0190c3a0-0000-7000-8000-000000000002", "type": "x"})
    wrong_service = net.notice("reminder", "ref-1", service_id="other-service")
    auditor = tokens.bearer("network", "network-auditor")
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        await one_by_one(audit, js, auditor, [net.event("requested", "ref-1"), good])
        sign = (await wire_signers(js)).headers
        notifications = "service.notifications"
        for subject, payload in (
            (good.subject, b"{this is not json"),
            (good.subject, wrong_kind.payload),
            (not_a_party.subject, not_a_party.payload),
            (good.subject, wrong_type.encode()),
            ("notice.v1.cpia2.nudge", good.payload),
            (wrong_service.subject, wrong_service.payload),
        ):
            await js.publish(subject, payload, headers=await sign(notifications, payload))
        letters = await eventually(lambda: _dead_letters(js, 6))
        after = await trail(audit, auditor)
        referral_letters = await stored(js, "DEADLETTERS", "deadletter.audit")
    reasons = [headers["Crocevia-Reason"] for _, headers in letters]
    assert reasons[0].startswith("payload is not JSON")
    assert reasons[1] == "the subject's kind is not the notice's"
    assert reasons[2] == "the notice's agency is not a party of the referral"
    assert reasons[3].startswith("invalid notice at type: string_pattern_mismatch")
    assert reasons[4] == "unknown notice kind in the subject"
    assert reasons[5] == "the parties or the service are not the referral's"
    assert base64.b64decode(json.loads(letters[0][0])["payload_base64"]) == b"{this is not json"
    assert json.loads(letters[0][0])["subject"] == good.subject
    assert [i["event_id"] for i in after][1:] == [event_id(good)]
    assert referral_letters == []


async def _dead_letters(js, count):
    found = await stored(js, "DEADLETTERS", "deadletter.audit-notices")
    return len(found) >= count and found


async def test_a_duplicate_notice_id_is_not_appended_twice(audit_factory, database_url, nats_url, tokens):
    net = Network()
    reminder = net.notice("reminder", "ref-1")
    auditor = tokens.bearer("network", "network-auditor")
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        await publish(js, [reminder, reminder], dedupe=False)  # past JetStream's deduplication window

        async def duplicate_reported():
            return (await audit.get("/anomalies", headers=auditor)).json()["anomalies"]

        [anomaly] = await eventually(duplicate_reported)
        later = net.notice("escalation", "ref-1")
        await publish(js, [later])
        entries = await holding(audit, auditor, 2)
    assert [i["event_id"] for i in entries] == [event_id(reminder), event_id(later)]
    assert (anomaly["kind"], anomaly["event_id"], anomaly["source"]) == ("duplicate", event_id(reminder), NOTIFICATIONS)


async def test_a_notice_reusing_a_referral_event_s_id_is_a_duplicate_even_at_the_same_stream_sequence(trail_db):
    net = Network()
    requested = net.event("requested", "ref-1")
    # Another stream numbers its messages from 1 too: same id, same number, not a redelivery.
    clash = net.notice("reminder", "ref-1", event_id=event_id(requested))
    clash = type(clash)(clash.subject, clash.payload, requested.stream_sequence)
    writer = TrailWriter(unit_of_work(trail_db))
    first = await writer.append(checked([requested]))
    again = await writer.append(checked([requested]))
    second = await writer.append(checked([clash]))
    assert [r.outcome for r in first + again + second] == [Outcome.APPENDED, Outcome.REDELIVERED, Outcome.DUPLICATE]


async def test_indicators_count_the_reminders_and_escalations_of_each_group(
    audit_factory, database_url, nats_url, tokens
):
    net = Network()
    story = [
        # ref-a (cpia2): the reminder reached the trail before the request did; still counted
        # with the referral, which is grouped by its request's facts (domain education).
        net.notice("reminder", "ref-a", at=T0 + 24 * HOUR),
        *net.story("ref-a", [("requested", 0), ("received", 30)]),
        net.notice("escalation", "ref-a", at=T0 + 120 * HOUR, stage="received", status="received"),
        net.notice("reminder", "ref-a", at=T0 + 96 * HOUR, stage="received", status="received"),
        *net.story("ref-b", [("requested", 1), ("received", 2), ("accepted", 3)]),
        # ref-c (csl-lavoro, work)
        *net.story("ref-c", [("requested", 2)], receiver="csl-lavoro", service_id="job-coaching", domain="work"),
        net.notice("reminder", "ref-c", receiver="csl-lavoro", service_id="job-coaching", at=T0 + 26 * HOUR),
        # a reminder about a referral requested in February: not in the range asked for
        *net.story("ref-old", [("requested", 0)], at=datetime(2026, 2, 10, tzinfo=UTC)),
        net.notice("reminder", "ref-old", at=datetime(2026, 3, 5, tzinfo=UTC)),
    ]
    auditor = tokens.bearer("network", "network-auditor")
    entry = AgencyEntry.model_validate(
        {
            "organization": {"id": "cpia2", "name": "CPIA 2"},
            "services": [
                {
                    "id": "main-service",
                    "name": "Italian courses",
                    "domain": "education",
                    "response_targets": {"routine": {"receive_within_hours": 24, "decide_within_hours": 120}},
                }
            ],
        }
    )
    params = {"since": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00Z", "as_of": "2026-04-10T00:00:00Z"}
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        await (await directory_bucket(js)).put("cpia2", entry.model_dump_json().encode())
        await one_by_one(audit, js, auditor, story)
        by_domain = (await audit.get("/indicators", params={**params, "group_by": "domain"}, headers=auditor)).json()
        by_pair = (await audit.get("/indicators", params={**params, "group_by": "pair"}, headers=auditor)).json()
        staff = await audit.get("/indicators", params={**params, "group_by": "pair"}, headers=tokens.bearer("cpia2"))
    groups = {g["group"]["domain"]: g for g in by_domain["groups"]}
    assert set(groups) == {"education", "work"}  # no group without a domain: notices carry none
    assert (groups["education"]["reminders"], groups["education"]["escalations"]) == (2, 1)
    assert (groups["work"]["reminders"], groups["work"]["escalations"]) == (1, 0)
    assert (groups["education"]["requested"], groups["education"]["received"]) == (2, 2)
    assert groups["education"]["accepted"] == 1
    # ref-a received after 30 hours, ref-b after 1: notices are not steps of the referral.
    assert groups["education"]["time_to_receive"] == {
        "count": 2,
        "median_seconds": 15.5 * 3600,
        "p90_seconds": 30 * 3600,
    }
    assert groups["education"]["targets_missed"] == {"receive": 1, "accept_or_reject": 1, "without_target": 0}
    pairs = [(g["group"]["receiver_agency"], g["reminders"], g["escalations"]) for g in by_pair["groups"]]
    assert pairs == [("cpia2", 2, 1), ("csl-lavoro", 1, 0)]
    assert [(g["group"]["receiver_agency"], g["reminders"]) for g in staff.json()["groups"]] == [("cpia2", 2)]
