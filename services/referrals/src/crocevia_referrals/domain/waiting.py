"""What waits for an agency, and why: the one rule behind ``waiting_for_us`` and "Needs us".

For the receiver: a referral to decide, then to carry out. For either side: a question the
other agency asked and this one has not answered. For the sender: a rejection to send
elsewhere (until it is sent again or closed), and a decision overdue at the receiver, to chase.
"""

from __future__ import annotations

from enum import StrEnum

from crocevia_contracts.lifecycle import Side, Status


class Reason(StrEnum):
    ANSWER = "answer"  # a question the other agency asked us
    DECIDE = "decide"  # received: accept or reject
    CARRY_OUT = "carry-out"  # accepted, in progress or on hold
    REDIRECT = "redirect"  # rejected: send the person elsewhere, or close it
    CHASE = "chase"  # its decision is overdue at the receiver


# What a status leaves to each side, whatever is due.
WORK: dict[Side, dict[Status, Reason]] = {
    Side.RECEIVER: {
        Status.RECEIVED: Reason.DECIDE,
        Status.ACCEPTED: Reason.CARRY_OUT,
        Status.IN_PROGRESS: Reason.CARRY_OUT,
        Status.ON_HOLD: Reason.CARRY_OUT,
    },
    Side.SENDER: {Status.REJECTED: Reason.REDIRECT},
}
# Where the sender may have to chase the receiver: statuses whose decision has a due time.
CHASED = (Status.RECEIVED,)


def may_wait(side: Side, status: Status, question_for_us: bool, handled: bool) -> bool:
    """Whether a referral may wait for ``side`` before its due time is known (what a listing
    reads first; ``reasons`` then decides with the due time)."""
    return bool(reasons(side, status, question_for_us, handled, overdue=True))


def reasons(side: Side, status: Status, question_for_us: bool, handled: bool, overdue: bool) -> list[Reason]:
    """Why a referral waits for ``side``: none when it does not; ``handled``: a rejection
    the sender sent again or closed; ``overdue``: its decision is past due (``due.Due``)."""
    found = [Reason.ANSWER] if question_for_us else []
    work = WORK[side].get(status)
    if work is not None and not (work is Reason.REDIRECT and handled):
        found.append(work)
    if side is Side.SENDER and status in CHASED and overdue:
        found.append(Reason.CHASE)
    return found
