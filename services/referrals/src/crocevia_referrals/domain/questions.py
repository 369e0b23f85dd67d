"""Open questions: the business status both nodes agree on (FHIR ``Task.businessStatus``).

Either side may ask (``info-requested``); the other side owes an answer (``info-provided``)
to each question, oldest first. Questions and answers are counted in the events' own order,
rather than a flag toggled on arrival, so both nodes agree once every event has arrived,
whatever crossed on the way: a second question that crosses the answer to the first stays
open at both nodes. A closed referral has no open question.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import OPEN, Side, Status
from crocevia_referrals.domain.events import HistoryEntry


def open_questions(history: Iterable[HistoryEntry], sender_agency: str, status: Status) -> dict[Side, datetime]:
    """The side that owes an answer -> when its oldest unanswered question was asked."""
    if status not in OPEN:
        return {}
    waiting: dict[Side, list[datetime]] = {Side.SENDER: [], Side.RECEIVER: []}
    # In the events' own order (their times and ids travel with them, so both nodes sort
    # alike); an answer when nothing was asked answers nothing.
    for entry in sorted(history, key=lambda e: (e.at, e.event_id)):
        by = Side.SENDER if entry.by_agency == sender_agency else Side.RECEIVER
        if entry.event == EventName.INFO_REQUESTED.value:
            waiting[by.other].append(entry.at)
        elif entry.event == EventName.INFO_PROVIDED.value and waiting[by]:
            waiting[by].pop(0)
    return {side: times[0] for side, times in waiting.items() if times}


def business_status(questions: dict[Side, datetime]) -> str | None:
    """``info-requested`` while a question waits for either side's answer."""
    return EventName.INFO_REQUESTED.value if questions else None
