"""The closed-loop referral lifecycle (FHIR ``Task.status``): one table for every party.

Every step is an event. A step is taken by one side (the sender or the receiver of the
referral) from a set of statuses; the same table decides a node's HTTP commands, the events
a node applies, who may publish which event (every consumer checks it), and the status the
notifications and the audit follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crocevia_contracts.events import EventName


class Status(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({Status.REJECTED, Status.COMPLETED, Status.FAILED, Status.CANCELLED})
OPEN = frozenset(Status) - TERMINAL


class Side(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"

    @property
    def other(self) -> Side:
        return Side.RECEIVER if self is Side.SENDER else Side.SENDER


@dataclass(frozen=True, slots=True)
class Step:
    """A command a side may give: the event it emits, from which statuses, to which."""

    action: str
    event: EventName
    sides: frozenset[Side]
    allowed_from: frozenset[Status]
    to: Status | None  # None: the status does not change

    def target(self, current: Status) -> Status:
        return self.to if self.to is not None else current


def _step(
    action: str, event: EventName, side: Side | None, allowed: set[Status] | frozenset[Status], to: Status | None
) -> Step:
    sides = frozenset(Side) if side is None else frozenset({side})
    return Step(action, event, sides, frozenset(allowed), to)


S, R = Side.SENDER, Side.RECEIVER
STEPS: dict[str, Step] = {
    step.action: step
    for step in (
        _step("receive", EventName.RECEIVED, R, {Status.REQUESTED}, Status.RECEIVED),
        _step("accept", EventName.ACCEPTED, R, {Status.RECEIVED}, Status.ACCEPTED),
        _step("reject", EventName.REJECTED, R, {Status.RECEIVED}, Status.REJECTED),
        _step("start", EventName.IN_PROGRESS, R, {Status.ACCEPTED}, Status.IN_PROGRESS),
        _step("hold", EventName.ON_HOLD, R, {Status.ACCEPTED, Status.IN_PROGRESS}, Status.ON_HOLD),
        _step("resume", EventName.IN_PROGRESS, R, {Status.ON_HOLD}, Status.IN_PROGRESS),
        _step("complete", EventName.COMPLETED, R, {Status.IN_PROGRESS}, Status.COMPLETED),
        _step("fail", EventName.FAILED, R, {Status.IN_PROGRESS}, Status.FAILED),
        # The sender may withdraw a referral while it is open; the receiver's node is where a
        # cancel meets a concurrent decision (see ``settle``).
        _step("cancel", EventName.CANCELLED, S, OPEN, Status.CANCELLED),
        _step("request-info", EventName.INFO_REQUESTED, None, OPEN, None),
        _step("provide-info", EventName.INFO_PROVIDED, None, OPEN, None),
        _step("withdraw-consent", EventName.CONSENT_WITHDRAWN, S, frozenset(Status), None),
        # Either node announces that it erased its copy: the receiver's erasure (a withdrawal,
        # its retention) is the sender's cue to erase too; the sender's own retention erases
        # only the sender's copy.
        _step("erase", EventName.PERSONAL_DATA_ERASED, None, frozenset(Status), None),
        # Either party writes to the other at any time; the status does not change.
        _step("send-message", EventName.MESSAGE_SENT, None, frozenset(Status), None),
    )
}

# Steps that are not actions on a referral's status: a node's answers to events, and messages
# (their own route and thread).
NOT_ACTIONS = ("receive", "erase", "send-message")

# On the event path the action is not known, only the event: ``in-progress`` may be a start
# or a resume, so an event is allowed from the union of its steps' statuses.
EVENT_STEPS: dict[EventName, tuple[Step, ...]] = {}
for _s in STEPS.values():
    EVENT_STEPS[_s.event] = (*EVENT_STEPS.get(_s.event, ()), _s)


class TransitionRefused(Exception):
    """A step the lifecycle does not allow now; says what is allowed instead."""

    def __init__(self, action: str, current: Status, allowed: list[str], reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.current = current
        self.allowed = allowed
        self.reason = reason


def allowed_actions(current: Status, side: Side) -> list[str]:
    """The actions ``side`` may take from ``current``, in lifecycle order."""
    return [
        s.action
        for s in STEPS.values()
        if side in s.sides and current in s.allowed_from and s.action not in NOT_ACTIONS
    ]


def decide(action: str, current: Status, side: Side) -> Step:
    """The step for ``action`` by ``side`` from ``current``; raise TransitionRefused if the
    lifecycle does not allow it."""
    step = STEPS.get(action)
    if step is None:
        raise TransitionRefused(action, current, allowed_actions(current, side), f"unknown action {action!r}")
    if side not in step.sides:
        raise TransitionRefused(
            action, current, allowed_actions(current, side), f"only the {' or '.join(sorted(step.sides))} may {action}"
        )
    if current not in step.allowed_from:
        raise TransitionRefused(
            action, current, allowed_actions(current, side), f"cannot {action} a referral that is {current.value}"
        )
    return step


def apply_event(event: EventName, current: Status, publisher: Side) -> Status:
    """The status after ``event`` published by ``publisher``; raise TransitionRefused if
    the lifecycle does not allow it."""
    for step in EVENT_STEPS.get(event, ()):
        if publisher in step.sides and current in step.allowed_from:
            return step.target(current)
    if event is EventName.REQUESTED:
        raise TransitionRefused(event.value, current, [], "a referral is requested only once")
    raise TransitionRefused(
        event.value,
        current,
        allowed_actions(current, publisher),
        f"{publisher.value} cannot report {event.value} on a referral that is {current.value}",
    )


@dataclass(frozen=True, slots=True)
class Settled:
    """What an incoming event does to this node's copy: ``status`` to set, or ``ignored``
    with the reason when a concurrent step of this side already superseded it."""

    status: Status
    ignored: str | None = None


def settle(event: EventName, current: Status, publisher: Side) -> Settled:
    """Apply an event from the other node, resolving the races of a two-party protocol.

    The receiver's node is the point where the two sides meet: a cancel that reaches it
    after it closed the referral (rejected, completed, failed) is ignored there, and the
    sender, which cancelled in the meantime, takes the receiver's closing status instead.
    A non-closing step of the receiver that crosses a cancel is ignored by the sender,
    because the receiver will apply the cancel. Anything else the lifecycle refuses raises
    TransitionRefused.
    """
    try:
        return Settled(apply_event(event, current, publisher))
    except TransitionRefused:
        if publisher is Side.RECEIVER and current is Status.CANCELLED:
            closing = {s.to for s in EVENT_STEPS.get(event, ()) if s.to in TERMINAL}
            if closing:
                return Settled(closing.pop())
            return Settled(current, ignored=f"{event.value} crossed this side's cancel")
        if current in TERMINAL and event is not EventName.REQUESTED:
            return Settled(current, ignored=f"{event.value} arrived after the referral was {current.value}")
        raise


# Who may publish each event: the sides of its steps; a referral is requested by its sender.
PUBLISHERS: dict[EventName, frozenset[Side]] = {
    EventName.REQUESTED: frozenset({Side.SENDER}),
    **{event: frozenset().union(*(s.sides for s in steps)) for event, steps in EVENT_STEPS.items()},
}


def side_of(agency: str, sender_agency: str, receiver_agency: str) -> Side | None:
    """Which side of a referral ``agency`` is on, or None when it is not a party."""
    if agency == sender_agency:
        return Side.SENDER
    if agency == receiver_agency:
        return Side.RECEIVER
    return None
