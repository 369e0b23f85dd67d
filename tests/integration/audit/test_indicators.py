"""Indicators recomputed from a known set of events: every number is worked out by hand
in the comments (hours after the request)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from crocevia_audit.adapters.totals import TotalsQueries
from crocevia_audit.adapters.trail_query import TrailQueries
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import create_app
from crocevia_audit.domain.indicators import fingerprint
from crocevia_audit.handlers.append import Outcome, TrailWriter
from crocevia_audit.handlers.indicators import compute
from crocevia_audit.handlers.ports import Cohort
from crocevia_common.messaging.streams import directory_bucket
from tests.integration.audit.events import Network, checked
from tests.integration.audit.wire import jetstream
from tests.kit.services import eventually, serve
from tests.unit.audit.directory import ROUTINE, URGENT, entry, targets_of

HOUR = 3600
AS_OF = datetime(2026, 4, 10, tzinfo=UTC)
# cpia2 states targets on the clock; csl-lavoro is not in the directory.
CPIA2 = entry("cpia2", {**ROUTINE, **URGENT})
TARGETS = targets_of(CPIA2)


async def indicators_of(db, *, since=None, until=None, party=None, **options):
    """The indicators computed on the trail's real query, as ``GET /indicators`` does."""
    events = TrailQueries(db).indicator_events(since, until, party)
    return await compute(events, targets=TARGETS, as_of=AS_OF, since=since, until=until, **options)


def known_events():
    net = Network()
    story = net.story
    return [
        # March, pioltello-casa -> cpia2 (education, main-service)
        *story(
            "a",
            [("requested", 0), ("received", 2), ("accepted", 10), ("in-progress", 20), ("completed", 100)],
            extras={"completed": {"outcome": "enrolled"}},
        ),
        *story(
            "b",
            [("requested", 1), ("received", 30), ("rejected", 50)],
            extras={"rejected": {"reason_code": "no-capacity"}},
        ),
        *story(
            "c",
            [("requested", 2), ("received", 3), ("rejected", 200)],
            extras={"rejected": {"reason_code": "not-eligible"}},
        ),
        *story(
            "d",
            [("requested", 3), ("received", 5), ("accepted", 30), ("failed", 60)],
            priority="urgent",
            extras={"failed": {"reason_code": "couldnt-contact"}},
        ),
        *story("e", [("requested", 4), ("cancelled", 6)], extras={"cancelled": {"reason_code": "withdrawn"}}),
        *story(
            "f",
            [("requested", 5), ("received", 6), ("consent-withdrawn", 7), ("personal-data-erased", 8)],
            extras={"personal-data-erased": {"reason": "consent-withdrawn"}},
        ),
        *story("g", [("requested", 6), ("received", 7), ("consent-withdrawn", 9)]),
        # March, pioltello-casa -> csl-lavoro (work, no target in the directory)
        *story(
            "h",
            [("requested", 10), ("received", 11), ("accepted", 12), ("completed", 40)],
            receiver="csl-lavoro",
            service_id="job-coaching",
            domain="work",
            extras={"completed": {"outcome": "hired"}},
        ),
        # April, pioltello-casa -> cpia2
        *story("i", [("requested", 0), ("received", 1)], at=datetime(2026, 4, 1, 10, tzinfo=UTC)),
        # February: outside the range asked for, though it is accepted in March
        *story(
            "j", [("requested", 0), ("received", 1), ("accepted", 24 * 10)], at=datetime(2026, 2, 20, 9, tzinfo=UTC)
        ),
    ]


MARCH_CPIA2 = {
    "requested": 7,
    "received": 6,
    "accepted": 2,
    "rejected": 2,
    "rejected_by_reason": {"no-capacity": 1, "not-eligible": 1},
    "completed": 1,
    "completed_by_outcome": {"enrolled": 1},
    "failed": 1,
    "cancelled": 1,
    # received after 2, 29, 1, 2, 1, 1 hours: median of [1,1,1,2,2,29] is 1.5, p90 (6th of 6) is 29
    "time_to_receive": {"count": 6, "median_seconds": 1.5 * HOUR, "p90_seconds": 29 * HOUR},
    # decided after 10 (a), 49 (b), 198 (c), 27 (d): median 38, p90 (4th of 4) 198
    "time_to_accept_or_reject": {"count": 4, "median_seconds": 38 * HOUR, "p90_seconds": 198 * HOUR},
    "time_to_complete": {"count": 1, "median_seconds": 100 * HOUR, "p90_seconds": 100 * HOUR},
    # receive: b (29 > 24) and e (never, long past 24); decide: c (198 > 120), d (urgent, 27 > 24),
    # and e, f, g (never decided, 120 hours long past at AS_OF)
    "targets_missed": {"receive": 2, "accept_or_reject": 5, "without_target": 0},
    "consent_withdrawals": 2,
    "erasures_pending": 1,  # g is not erased yet
    "reminders": 0,
    "escalations": 0,
}
MARCH_CSL = {
    "requested": 1,
    "received": 1,
    "accepted": 1,
    "rejected": 0,
    "rejected_by_reason": {},
    "completed": 1,
    "completed_by_outcome": {"hired": 1},
    "failed": 0,
    "cancelled": 0,
    "time_to_receive": {"count": 1, "median_seconds": 1 * HOUR, "p90_seconds": 1 * HOUR},
    "time_to_accept_or_reject": {"count": 1, "median_seconds": 2 * HOUR, "p90_seconds": 2 * HOUR},
    "time_to_complete": {"count": 1, "median_seconds": 30 * HOUR, "p90_seconds": 30 * HOUR},
    "targets_missed": {"receive": 0, "accept_or_reject": 0, "without_target": 1},
    "consent_withdrawals": 0,
    "erasures_pending": 0,
    "reminders": 0,
    "escalations": 0,
}
APRIL_CPIA2 = {
    "requested": 1,
    "received": 1,
    "accepted": 0,
    "rejected": 0,
    "rejected_by_reason": {},
    "completed": 0,
    "completed_by_outcome": {},
    "failed": 0,
    "cancelled": 0,
    "time_to_receive": {"count": 1, "median_seconds": 1 * HOUR, "p90_seconds": 1 * HOUR},
    "time_to_accept_or_reject": {"count": 0, "median_seconds": None, "p90_seconds": None},
    "time_to_complete": {"count": 0, "median_seconds": None, "p90_seconds": None},
    # requested on 1 April at 10:00, undecided 206 hours later at AS_OF
    "targets_missed": {"receive": 0, "accept_or_reject": 1, "without_target": 0},
    "consent_withdrawals": 0,
    "erasures_pending": 0,
    "reminders": 0,
    "escalations": 0,
}


async def filled(db) -> None:
    results = await TrailWriter(unit_of_work(db)).append(checked(known_events()))
    assert {r.outcome for r in results} == {Outcome.APPENDED}


async def test_indicators_per_pair_service_domain_and_month_recompute_from_known_events(trail_db):
    await filled(trail_db)
    rows = await indicators_of(
        trail_db,
        dimensions=["pair", "service", "domain", "month"],
        since=datetime(2026, 3, 1, tzinfo=UTC),
        until=datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert [row.pop("group") for row in rows] == [
        {
            "sender_agency": "pioltello-casa",
            "receiver_agency": "cpia2",
            "service_id": "main-service",
            "domain": "education",
            "month": "2026-03",
        },
        {
            "sender_agency": "pioltello-casa",
            "receiver_agency": "cpia2",
            "service_id": "main-service",
            "domain": "education",
            "month": "2026-04",
        },
        {
            "sender_agency": "pioltello-casa",
            "receiver_agency": "csl-lavoro",
            "service_id": "job-coaching",
            "domain": "work",
            "month": "2026-03",
        },
    ]
    assert rows == [MARCH_CPIA2, APRIL_CPIA2, MARCH_CSL]


async def test_indicators_by_domain_only_merge_months_and_staff_see_their_agency_s(trail_db):
    await filled(trail_db)
    by_domain = await indicators_of(trail_db, dimensions=["domain"], since=datetime(2026, 3, 1, tzinfo=UTC))
    assert [(row["group"], row["requested"], row["received"]) for row in by_domain] == [
        ({"domain": "education"}, 8, 7),
        ({"domain": "work"}, 1, 1),
    ]
    everything = await indicators_of(trail_db, dimensions=[])
    assert [(row["group"], row["requested"], row["accepted"]) for row in everything] == [({}, 10, 4)]
    theirs = await indicators_of(trail_db, dimensions=["pair"], party="csl-lavoro")
    assert [(row["group"]["receiver_agency"], row["requested"]) for row in theirs] == [("csl-lavoro", 1)]


async def test_the_indicators_endpoint_takes_response_targets_from_the_directory(audit_settings, nats_url, tokens):
    app = create_app(audit_settings())
    async with serve(app) as audit, jetstream(nats_url) as js:
        kv = await directory_bucket(js)
        await kv.put("cpia2", CPIA2.model_dump_json().encode())
        await app.state.audit.writer.append(checked(known_events()))

        async def the_audit_sees_the_entry() -> bool:  # the directory reaches it through a watch
            return app.state.audit.targets("cpia2", "main-service", "urgent") is not None

        await eventually(the_audit_sees_the_entry)
        params = {
            "group_by": ["pair", "month"],
            "since": "2026-03-01T00:00:00Z",
            "until": "2026-04-01T00:00:00Z",
            "as_of": AS_OF.isoformat(),
        }
        answer = await audit.get("/indicators", params=params, headers=tokens.bearer("x", "network-auditor"))
        staff = await audit.get("/indicators", params=params, headers=tokens.bearer("csl-lavoro", "supervisor"))
    assert answer.status_code == 200, answer.text
    groups = answer.json()["groups"]
    assert [g["group"]["receiver_agency"] for g in groups] == ["cpia2", "csl-lavoro"]
    assert groups[0]["targets_missed"] == MARCH_CPIA2["targets_missed"]
    assert groups[0]["time_to_receive"] == MARCH_CPIA2["time_to_receive"]
    assert [g["group"]["receiver_agency"] for g in staff.json()["groups"]] == ["csl-lavoro"]


async def test_after_a_change_of_targets_the_audit_restates_the_stored_due_times(audit_settings, nats_url, tokens):
    app = create_app(audit_settings(due_times_check_seconds=0.1))
    held_by = ("cpia2", "main-service", "urgent")
    changed = entry("cpia2", {**ROUTINE, "urgent": {**URGENT["urgent"], "counting": "working-days"}})
    async with serve(app) as audit, jetstream(nats_url) as js:
        log = app.state.audit
        kv = await directory_bucket(js)
        await kv.put("cpia2", CPIA2.model_dump_json().encode())

        async def held_to(fingerprinted: str | None = None) -> bool:  # the directory reaches it through a watch
            target = log.targets(*held_by)
            return target is not None and fingerprinted in (None, fingerprint(target))

        await eventually(held_to)
        await log.writer.append(checked(known_events()))
        reads = TotalsQueries(log.db)
        stored_under = fingerprint(TARGETS(*held_by))
        assert await reads.unheld(["sender_agency"], Cohort(), held_by, stored_under) == []  # stored when appended

        await kv.put("cpia2", changed.model_dump_json().encode())
        now = fingerprint(targets_of(changed)(*held_by))
        await eventually(lambda: held_to(now))

        async def restated() -> bool:
            return await reads.unheld(["sender_agency"], Cohort(), held_by, now) == []

        await eventually(restated)
        answer = await audit.get(
            "/indicators",
            params={"group_by": ["pair"], "as_of": AS_OF.isoformat()},
            headers=tokens.bearer("x", "network-auditor"),
        )
    assert answer.status_code == 200, answer.text
    folded = await compute(
        TrailQueries(log.db).indicator_events(None, None, None),
        dimensions=["pair"],
        targets=targets_of(changed),
        as_of=AS_OF,
    )
    assert json.loads(json.dumps(folded, default=str)) == answer.json()["groups"]
