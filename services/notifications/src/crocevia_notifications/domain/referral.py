"""A referral as notifications follows it: the public facts its ``requested`` stated, its
status by the contracts' lifecycle, and how far each side's events have come.

The status is the lifecycle's (``crocevia_contracts.lifecycle``), never one of this
service's own: an event moves it as it moves the nodes' copies (from its publisher's side,
crossing events settled as the receiver's node settles them), and each event's ``step``
(its publisher's count of events about the referral) keeps an older event from overwriting
what a newer one said.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crocevia_contracts import EventName
from crocevia_contracts.events import Requested
from crocevia_contracts.lifecycle import Side, Status, settle


@dataclass(frozen=True, slots=True)
class Observed:
    """What one event did to a followed referral. ``news`` is False for an event that is not
    newer than what its publisher said already (nothing changed, nobody is told again);
    ``ignored`` says why a crossing event left the status as it was."""

    referral: Followed
    news: bool = True
    ignored: str | None = None


@dataclass(frozen=True, slots=True)
class Followed:
    id: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    priority: str
    requested_at: datetime  # its ``requested`` event's ``occurred_at``: targets count from it
    owner_sub: str | None  # the sender's staff member who asked, when known
    status: Status = Status.REQUESTED
    sender_step: int = 0  # the newest ``step`` of each side applied so far (0: none stated)
    receiver_step: int = 0

    @classmethod
    def requested(cls, data: Requested) -> Followed:
        """A referral as its ``requested`` event describes it."""
        return cls(
            id=data.referral_id,
            sender_agency=data.sender_agency,
            receiver_agency=data.receiver_agency,
            service_id=data.service_id,
            priority=data.priority.value,
            requested_at=data.occurred_at,
            # The sender's user who created it; failing that (an agency system sent it), the
            # staff member who captured the legal basis.
            owner_sub=data.requested_by or data.legal_basis.captured_by,
            sender_step=data.step or 0,
        )

    def side_of(self, agency: str) -> Side:
        """The side ``agency`` is on (a party of the referral, as the intake checked)."""
        return Side.SENDER if agency == self.sender_agency else Side.RECEIVER

    def step_of(self, side: Side) -> int:
        return self.sender_step if side is Side.SENDER else self.receiver_step

    def observe(self, event: EventName, publisher: Side, step: int | None) -> Observed:
        """The referral after ``event`` of ``publisher``, the ``step``-th event that side
        published about it (None: an event that does not say). An event not beyond the
        newest step of its side seen already changes nothing. Raise TransitionRefused when
        the lifecycle does not allow the event from this status at all."""
        if step is not None and step <= self.step_of(publisher):
            return Observed(self, news=False)
        settled = settle(event, self.status, publisher)
        moved = replace(self, status=settled.status)
        if step is not None and publisher is Side.SENDER:
            moved = replace(moved, sender_step=step)
        elif step is not None:
            moved = replace(moved, receiver_step=step)
        return Observed(moved, ignored=settled.ignored)
