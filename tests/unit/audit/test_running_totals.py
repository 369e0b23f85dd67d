"""Each referral's running totals, moved on batch by batch as entries are appended, hold
what the indicators' fold of the whole trail holds, and give the same indicators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from crocevia_audit.domain.indicators import DIMENSIONS, TrailEvent, indicators
from crocevia_audit.domain.totals import Totals, advance, fold, mismatches
from crocevia_audit.handlers.indicators import check_totals, from_totals
from tests.unit.audit.directory import ROUTINE, URGENT, entry, targets_of

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
TARGETS = targets_of(entry("cpia2", {**ROUTINE, **URGENT}))  # csl-lavoro is not in the directory
LATER = (
    "received",
    "accepted",
    "rejected",
    "in-progress",
    "completed",
    "failed",
    "cancelled",
    "consent-withdrawn",
    "personal-data-erased",
    "reminder",
    "escalation",
)
CODES = st.sampled_from([None, "no-capacity", "enrolled"])
NOTICE_FIRST = ("reminder", "escalation")


@st.composite
def trails(draw: st.DrawFn) -> list[TrailEvent]:
    """Several referrals' events interleaved in trail order: each requested once (a notice
    may come before it), any later steps in any order and repeated, at any time."""
    per_referral: list[list[TrailEvent]] = []
    for n in range(draw(st.integers(1, 6))):
        referral, receiver = f"r{n}", draw(st.sampled_from(["cpia2", "csl-lavoro"]))
        priority = draw(st.sampled_from(["routine", "urgent"]))

        def one(name: str, hours: int, ref: str = referral, to: str = receiver, prio: str = priority) -> TrailEvent:
            domain = "education" if to == "cpia2" else "work"
            reason, outcome = draw(CODES), draw(CODES)
            at = T0 + timedelta(hours=hours)
            return TrailEvent(ref, name, "pioltello-casa", to, "main-service", domain, prio, at, reason, outcome)

        hours = st.integers(-24 * 60, 24 * 60)
        story = [one(name, draw(hours)) for name in draw(st.lists(st.sampled_from(NOTICE_FIRST), max_size=1))]
        if draw(st.booleans()) or not story:
            story.append(one("requested", draw(hours)))
        story += [one(name, draw(hours)) for name in draw(st.lists(st.sampled_from(LATER), max_size=8))]
        per_referral.append(story)
    order = draw(st.permutations([i for i, story in enumerate(per_referral) for _ in story]))
    cursors = [iter(story) for story in per_referral]
    return [next(cursors[i]) for i in order]


def by_referral(trail: Iterable[TrailEvent]) -> list[TrailEvent]:
    """The events grouped by referral, each referral's in trail order (the fold's input)."""
    return sorted(trail, key=lambda event: event.referral_id)


def appended(trail: list[TrailEvent], cuts: list[int]) -> dict[str, Totals]:
    """The totals as the append path keeps them: moved on one batch at a time."""
    stored: dict[str, Totals] = {}
    bounds = [0, *sorted(cut % (len(trail) + 1) for cut in cuts), len(trail)]
    for start, end in pairwise(bounds):
        stored.update(advance(stored, trail[start:end]))
    return stored


async def streamed(values: Iterable[Totals]) -> AsyncIterator[Totals]:
    for value in values:
        yield value


async def events_of(values: Iterable[TrailEvent]) -> AsyncIterator[TrailEvent]:
    for value in values:
        yield value


@settings(max_examples=60, deadline=None)
@given(trails(), st.lists(st.integers(0, 100), max_size=4))
def test_totals_moved_on_batch_by_batch_are_the_fold_of_the_whole_trail(trail, cuts) -> None:
    stored = appended(trail, cuts)
    assert mismatches(stored, fold(by_referral(trail))) == []


@settings(max_examples=60, deadline=None)
@given(
    trails(),
    st.lists(st.integers(0, 100), max_size=4),
    st.lists(st.sampled_from(DIMENSIONS), unique=True),
    st.sampled_from([(None, None), (T0, None), (None, T0), (T0 - timedelta(days=20), T0 + timedelta(days=20))]),
    st.integers(-24 * 30, 24 * 90),
)
async def test_indicators_from_the_totals_equal_those_from_the_fold(trail, cuts, dimensions, span, as_of_hours):
    since, until = span
    as_of = T0 + timedelta(hours=as_of_hours)
    options = {"dimensions": dimensions, "targets": TARGETS, "as_of": as_of, "since": since, "until": until}
    stored = appended(trail, cuts)
    from_the_totals = await from_totals(streamed(stored.values()), **options)
    assert from_the_totals == indicators(by_referral(trail), **options)


async def test_a_changed_total_is_named_by_referral_and_field() -> None:
    trail = [
        TrailEvent("a", "requested", "pioltello-casa", "cpia2", "main-service", "education", "routine", T0),
        TrailEvent("a", "reminder", "pioltello-casa", "cpia2", "main-service", None, "routine", T0),
        TrailEvent("b", "requested", "pioltello-casa", "cpia2", "main-service", "education", "routine", T0),
    ]
    stored = advance({}, trail)
    assert await check_totals(stored, events_of(by_referral(trail))) == []
    a, b = stored["a"], stored["b"]
    stored["a"] = Totals(**{**{f: getattr(a, f) for f in Totals.__slots__}, "reminders": 2})
    del stored["b"]
    stored["c"] = b
    found = [str(m) for m in await check_totals(stored, events_of(by_referral(trail)))]
    assert found == ["referral a: reminders", "referral b: missing", "referral c: unexpected"]
