"""Open questions: the business status both nodes agree on (FHIR ``Task.businessStatus``).

Either side may ask (``info-requested``); the other side owes one answer (``info-provided``)
per question, oldest first. Questions and answers are counted, not replayed in time order:
the two nodes' clocks may disagree, and events cross on the way, but once every event has
arrived both nodes count the same and agree; a second question that crosses the answer to
the first stays open at both. A closed referral has no open question.
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
    asked: dict[Side, list[datetime]] = {Side.SENDER: [], Side.RECEIVER: []}
    answered = dict.fromkeys(Side, 0)
    for entry in history:
        by = Side.SENDER if entry.by_agency == sender_agency else Side.RECEIVER
        if entry.event == EventName.INFO_REQUESTED.value:
            asked[by.other].append(entry.at)
        elif entry.event == EventName.INFO_PROVIDED.value:
            answered[by] += 1
    return {side: sorted(times)[answered[side]] for side, times in asked.items() if len(times) > answered[side]}


def business_status(questions: dict[Side, datetime]) -> str | None:
    """``info-requested`` while a question waits for either side's answer."""
    return EventName.INFO_REQUESTED.value if questions else None
