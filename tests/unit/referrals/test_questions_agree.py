"""A property: whatever both sides ask and answer, in whatever interleaving, with clocks that
disagree, the two nodes agree on the open questions once every event has been delivered,
and a side that answered every question it was asked owes nothing."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from crocevia_contracts.lifecycle import Side, Status
from crocevia_referrals.domain.events import HistoryEntry
from crocevia_referrals.domain.questions import open_questions

AGENCY = {Side.SENDER: "pioltello-casa", Side.RECEIVER: "cpia2"}
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MOVES = st.lists(
    st.tuples(st.sampled_from(["ask", "answer", "deliver"]), st.sampled_from(list(Side)), st.integers(-3600, 3600)),
    max_size=40,
)


@given(MOVES)
def test_both_nodes_agree_on_the_open_questions_once_everything_arrived(moves: list[tuple[str, Side, int]]) -> None:
    history: dict[Side, list[HistoryEntry]] = {Side.SENDER: [], Side.RECEIVER: []}
    channel: dict[Side, deque[HistoryEntry]] = {Side.SENDER: deque(), Side.RECEIVER: deque()}
    ids = itertools.count()

    def owed(side: Side) -> dict[Side, datetime]:
        return open_questions(history[side], AGENCY[Side.SENDER], Status.RECEIVED)

    def emit(side: Side, event: str, skew: int) -> None:
        # Each node stamps its events with its own clock, which may be off by an hour.
        entry = HistoryEntry(f"e{next(ids)}", event, AGENCY[side], "received", T0 + timedelta(seconds=skew))
        history[side].append(entry)
        channel[side].append(entry)

    def deliver(side: Side) -> None:
        if channel[side]:
            history[side.other].append(channel[side].popleft())

    for move, side, skew in moves:
        if move == "ask":
            emit(side, "info-requested", skew)
        elif move == "answer" and side in owed(side):  # an answer only to a question asked of it
            emit(side, "info-provided", skew)
        elif move == "deliver":
            deliver(side)
    for side in Side:
        while channel[side]:
            deliver(side)
    assert owed(Side.SENDER) == owed(Side.RECEIVER)
    for side in Side:
        asked = sum(e.event == "info-requested" and e.by_agency != AGENCY[side] for e in history[side])
        answers = sum(e.event == "info-provided" and e.by_agency == AGENCY[side] for e in history[side])
        assert (side in owed(side)) == (asked > answers)
