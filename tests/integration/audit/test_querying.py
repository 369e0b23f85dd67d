"""``GET /trail``: filters, cursors and order, and answers to queries that do not parse."""

from __future__ import annotations

import random

import pytest

from crocevia_audit.adapters.trail_query import TrailFilter, TrailQueries
from crocevia_audit.bootstrap import create_app
from tests.integration.audit.events import T0, Network, checked
from tests.integration.audit.test_running_totals import append_in_batches, random_trail
from tests.kit.services import eventually, serve


def network_events():
    net = Network()
    deliveries = []
    deliveries += net.story("r1", [("requested", 0), ("received", 1), ("accepted", 5)])
    deliveries += net.story(
        "r2",
        [("requested", 24), ("received", 25), ("rejected", 30)],
        receiver="csl-lavoro",
        domain="work",
        extras={"rejected": {"reason_code": "no-capacity"}},
    )
    deliveries += net.story(
        "r3", [("requested", 48)], sender="cpia2", receiver="pioltello-casa", domain="housing", priority="urgent"
    )
    return deliveries  # 7 entries


async def test_trail_filters_select_the_entries_asked_for(audit_settings, tokens):
    app = create_app(audit_settings())
    auditor = tokens.bearer("x", "network-auditor")
    async with serve(app) as audit:
        await app.state.audit.writer.append(checked(network_events()))

        async def referrals(**params) -> list[str]:
            answer = await audit.get("/trail", params={"order": "oldest", **params}, headers=auditor)
            assert answer.status_code == 200, answer.text
            return [f"{i['referral_id']}:{i['event']}" for i in answer.json()["items"]]

        assert len(await referrals()) == 7
        assert await referrals(referral_id="r2") == ["r2:requested", "r2:received", "r2:rejected"]
        assert await referrals(agency="csl-lavoro") == ["r2:requested", "r2:received", "r2:rejected"]
        assert await referrals(agency="pioltello-casa", event="requested") == [
            "r1:requested",
            "r2:requested",
            "r3:requested",
        ]
        assert await referrals(**{"from": "cpia2"}) == ["r3:requested"]
        assert await referrals(**{"from": "pioltello-casa", "to": "cpia2"}) == [
            "r1:requested",
            "r1:received",
            "r1:accepted",
        ]
        assert await referrals(event=["accepted", "rejected"]) == ["r1:accepted", "r2:rejected"]
        assert await referrals(domain="work", event="rejected") == ["r2:rejected"]
        assert await referrals(priority="urgent") == ["r3:requested"]
        assert await referrals(since=(T0.replace(hour=10, minute=30)).isoformat(), until="2026-03-03T09:00:00Z") == [
            "r1:accepted"
        ]
        assert await referrals(until="2026-03-02T10:30:00+01:00") == ["r1:requested"]
        rejected = (await audit.get("/trail", params={"event": "rejected"}, headers=auditor)).json()["items"][0]
        assert (rejected["reason_code"], rejected["sender_agency"], rejected["to_agency"]) == (
            "no-capacity",
            "pioltello-casa",
            "pioltello-casa",
        )


async def test_pages_follow_the_cursor_newest_or_oldest_first_without_overlap(audit_settings, tokens, database_url):
    app = create_app(audit_settings(database_url))
    auditor = tokens.bearer("x", "network-auditor")
    async with serve(app) as audit:
        await app.state.audit.writer.append(checked(network_events()))
        for order, expected in (("newest", [6, 5, 4, 3, 2, 1, 0]), ("oldest", [0, 1, 2, 3, 4, 5, 6])):
            seen, cursor, pages = [], None, 0
            while True:
                params = {"order": order, "limit": 3, **({"cursor": cursor} if cursor else {})}
                page = (await audit.get("/trail", params=params, headers=auditor)).json()
                seen += [i["position"] for i in page["items"]]
                pages += 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert (seen, pages) == (expected, 3)
        first = (await audit.get("/trail", params={"limit": 2}, headers=auditor)).json()["next_cursor"]
        other_order = await audit.get("/trail", params={"cursor": first, "order": "oldest"}, headers=auditor)
        forged = await audit.get("/trail", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auditor)
    assert other_order.status_code == 400 and other_order.json()["type"] == "/problems/invalid-cursor"
    assert forged.status_code == 400 and forged.headers["content-type"] == "application/problem+json"


async def test_query_parameters_that_do_not_parse_answer_problem_json(audit_factory, tokens):
    auditor = tokens.bearer("x", "network-auditor")
    bad = [
        {"event": "teleported"},
        {"domain": "astrology"},
        {"priority": "whenever"},
        {"since": "yesterday"},
        {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"limit": 0},
        {"order": "sideways"},
    ]
    async with audit_factory() as audit:
        answers = [await audit.get("/trail", params=params, headers=auditor) for params in bad]
        export = await audit.get("/trail/export", params={"format": "xml"}, headers=auditor)
        indicators = await audit.get("/indicators", params={"group_by": "weather"}, headers=auditor)
    assert [a.status_code for a in answers] == [422] * len(bad)
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    assert answers[4].json()["type"] == "/problems/empty-time-range"
    assert (export.status_code, indicators.status_code) == (422, 422)
    assert indicators.json()["type"] == "/problems/unknown-grouping"


async def test_staff_exports_hold_only_their_agency_s_entries(audit_settings, tokens):
    app = create_app(audit_settings())
    async with serve(app) as audit:
        await app.state.audit.writer.append(checked(network_events()))

        async def signed_all():
            return (await audit.get("/checkpoint")).headers["crocevia-tree-size"] == "7"

        await eventually(signed_all)
        export = await audit.get("/trail/export", headers=tokens.bearer("csl-lavoro", "supervisor"))
    header, *entries = export.content.splitlines()
    assert len(entries) == 3 and b'"complete":false' in header
    assert all(b'"receiver_agency":"csl-lavoro"' in e for e in entries)


@pytest.mark.parametrize("newest_first", [True, False])
async def test_pages_of_one_agency_hold_exactly_its_entries_in_order(trail_db, newest_first):
    rng = random.Random(12)
    await append_in_batches(trail_db, random_trail(rng, 50), rng)
    queries = TrailQueries(trail_db)
    everything, _ = await queries.page(TrailFilter(), limit=10_000, newest_first=newest_first, cursor=None)
    assert len(everything) > 100
    asked = [
        TrailFilter(agency="cpia2"),
        TrailFilter(agency="pioltello-casa", events=("rejected",)),
        TrailFilter(agency="csl-lavoro", events=("requested", "received", "reminder")),
        TrailFilter(agency="cpia2", party="pioltello-sociali"),
        TrailFilter(agency="nobody"),
    ]
    for flt in asked:
        expected = [
            row["position"]
            for row in everything
            if flt.agency in (row["sender_agency"], row["receiver_agency"])
            and (not flt.events or row["event"] in flt.events)
            and (not flt.party or flt.party in (row["sender_agency"], row["receiver_agency"], row["to_agency"]))
        ]
        got, cursor = [], None
        while True:  # pages of 3, each from the cursor of the one before
            rows, cursor = await queries.page(flt, limit=3, newest_first=newest_first, cursor=cursor)
            got += [row["position"] for row in rows]
            if cursor is None:
                break
        assert got == expected, flt
    assert any(row["sender_agency"] == "pioltello-casa" and row["event"] == "rejected" for row in everything)
