"""Indicator cells: a cohort's span split into the whole months whose cells are kept and
the edges read each time; a cell's missed targets at any moment."""

from __future__ import annotations

from array import array
from datetime import UTC, datetime, timedelta

import pytest

from crocevia_audit.domain.cells import Cell, merged, split


def at(year: int, month: int, day: int = 1, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


MONTHS = ["2025-12", "2026-01", "2026-02", "2026-04"]  # none requested in March


@pytest.mark.parametrize(
    ("since", "until", "whole", "edges"),
    [
        (None, None, MONTHS, []),
        (at(2026, 1), at(2026, 2), ["2026-01"], []),
        (at(2026, 1, 15), None, ["2026-02", "2026-04"], [(at(2026, 1, 15), at(2026, 2))]),
        (None, at(2026, 2, 10), ["2025-12", "2026-01"], [(at(2026, 2), at(2026, 2, 10))]),
        (at(2026, 1, 15), at(2026, 1, 20), [], [(at(2026, 1, 15), at(2026, 1, 20))]),
        (at(2026, 1, 15), at(2026, 4, 2), ["2026-02"], [(at(2026, 1, 15), at(2026, 2)), (at(2026, 4), at(2026, 4, 2))]),
        (at(2025, 12, 31, 23), at(2026, 1, 1, 1), [], [(at(2025, 12, 31, 23), at(2026, 1, 1, 1))]),
        (at(2026, 2), at(2027, 1), ["2026-02", "2026-04"], []),
    ],
)
def test_a_span_is_its_whole_months_and_the_edges_around_them(since, until, whole, edges) -> None:
    assert split(since, until, MONTHS) == (whole, edges)


def test_every_instant_of_a_span_is_in_exactly_one_whole_month_or_edge() -> None:
    """Hour by hour over fourteen months, for spans with every kind of end."""
    ends = [None, at(2025, 12), at(2025, 12, 20, 5), at(2026, 1), at(2026, 2, 28, 23), at(2026, 3, 3), at(2026, 5)]
    instants = [at(2025, 12) + timedelta(hours=h) for h in range(0, 24 * 160, 7)]
    for since in ends:
        for until in ends:
            if since and until and since >= until:
                continue
            whole, edges = split(since, until, MONTHS)
            for moment in instants:
                wanted = (since is None or since <= moment) and (until is None or moment < until)
                month = moment.strftime("%Y-%m")
                places = [month] if month in whole else []
                places += [e for e in edges if (e[0] is None or e[0] <= moment) and (e[1] is None or moment < e[1])]
                if month in MONTHS or not wanted:
                    assert len(places) == (1 if wanted else 0), (since, until, moment, whole, edges)


def test_a_cell_counts_the_open_due_times_passed_at_the_moment_asked() -> None:
    due = [at(2026, 1, 2), at(2026, 1, 5), at(2026, 1, 9)]
    cell = Cell(("a", "b", "s", None, "2026-01", "routine", "f", None, None), {}, 2, 1, due, due[:1], {})
    assert cell.missed(at(2026, 1, 1)) == (2, 1)
    assert cell.missed(at(2026, 1, 5)) == (3, 2)  # due at that very moment: not yet missed
    assert cell.missed(at(2026, 1, 5, 1)) == (4, 2)
    assert cell.missed(at(2027, 1, 1)) == (5, 2)


def test_runs_merged_are_sorted() -> None:
    assert merged([array("q", [1, 5, 9]), array("q", []), array("q", [2, 3, 10])]) == [1, 2, 3, 5, 9, 10]
