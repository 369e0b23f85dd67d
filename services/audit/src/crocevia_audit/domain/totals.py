"""Each referral's running totals: what the indicators read of a referral, kept as the
trail grows instead of folding every event again at each request.

A referral's totals are the state of the indicators' own fold (``indicators.Referral``)
reduced to what ``Group.add`` reads: its facts (parties, service, domain, priority), the
first time of each counted step, the last reason and outcome, how many reminders and
escalations. ``advance`` moves totals on by appended events; ``fold`` recomputes them from
the trail alone, so the two can be compared (``mismatches``).

Stored with them, so that the indicators are grouped and counted by the database: what
follows from the totals alone (``Measures``: the month, each time in microseconds), and the
due times of the target the referral is held to (``Held``), with that target's
fingerprint, so that a target changed since is noticed and counted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from crocevia_audit.domain.entries import EntryFields
from crocevia_audit.domain.indicators import NOTICES, STEPS, Referral, TrailEvent, fingerprint, month_of
from crocevia_contracts.anchors import ACCESS_LOG_ANCHORED
from crocevia_contracts.directory import ServiceTarget

_NO_TIME = datetime.min.replace(tzinfo=UTC)  # a fact's time the indicators never read


def trail_event(entry: EntryFields) -> TrailEvent:
    """The indicators' view of one entry."""
    return TrailEvent(
        entry.referral_id,
        entry.event,
        entry.sender_agency,
        entry.receiver_agency,
        entry.service_id,
        entry.domain,
        entry.priority,
        entry.occurred_at,
        entry.reason_code,
        entry.outcome,
    )


def about_a_referral(event: TrailEvent) -> bool:
    """True for the entries a referral's totals count (an access-log anchor is about none)."""
    return bool(event.referral_id) and event.event != ACCESS_LOG_ANCHORED


@dataclass(frozen=True, slots=True)
class Totals:
    """One referral's row of running totals; ``lifecycle`` is False while only notices
    about it came (its facts are then the first notice's)."""

    referral_id: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    domain: str | None
    priority: str
    lifecycle: bool
    steps: tuple[datetime | None, ...]  # the first time of each of ``STEPS``, in that order
    reason_code: str | None
    outcome: str | None
    reminders: int
    escalations: int

    @classmethod
    def of(cls, referral: Referral) -> Totals:
        facts = referral.facts or referral.first
        return cls(
            referral_id=facts.referral_id,
            sender_agency=facts.sender_agency,
            receiver_agency=facts.receiver_agency,
            service_id=facts.service_id,
            domain=facts.domain,
            priority=facts.priority,
            lifecycle=referral.facts is not None,
            steps=tuple(referral.at.get(step) for step in STEPS),
            reason_code=referral.reason_code,
            outcome=referral.outcome,
            reminders=referral.notices["reminder"],
            escalations=referral.notices["escalation"],
        )

    def referral(self) -> Referral:
        """The fold's state these totals stand for, as far as the indicators read it."""
        facts = TrailEvent(
            self.referral_id,
            STEPS[0] if self.lifecycle else NOTICES[0],
            self.sender_agency,
            self.receiver_agency,
            self.service_id,
            self.domain,
            self.priority,
            self.steps[0] or _NO_TIME,
        )
        referral = Referral(facts, reason_code=self.reason_code, outcome=self.outcome)
        referral.facts = facts if self.lifecycle else None
        referral.at = {step: at for step, at in zip(STEPS, self.steps, strict=True) if at is not None}
        counted = {NOTICES[0]: self.reminders, NOTICES[1]: self.escalations}
        referral.notices.update({kind: n for kind, n in counted.items() if n})
        return referral

    def at(self, step: str) -> datetime | None:
        return self.steps[_STEP_INDEX[step]]

    def decided_at(self) -> datetime | None:
        times = [t for t in (self.at("accepted"), self.at("rejected")) if t is not None]
        return min(times) if times else None

    def measures(self) -> Measures:
        requested = self.steps[0]
        if requested is None:
            return Measures(None, None, None, None)

        def since_requested(moment: datetime | None) -> int | None:
            return None if moment is None else (moment - requested) // _MICROSECOND

        return Measures(
            month_of(requested),
            since_requested(self.at("received")),
            since_requested(self.decided_at()),
            since_requested(self.at("completed")),
        )

    def held_to(self, target: ServiceTarget | None, its_fingerprint: str | None = None) -> Held:
        """The due times of ``target`` for this referral (none before it is requested);
        ``its_fingerprint``, when given, is ``fingerprint(target)``."""
        requested = self.steps[0]
        if target is None or requested is None:
            return Held()
        return Held(its_fingerprint or fingerprint(target), target.receive_by(requested), target.decide_by(requested))

    def differs_in(self, other: Totals) -> list[str]:
        """The names of the fields that differ (never their values)."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


_STEP_INDEX = {step: i for i, step in enumerate(STEPS)}
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Measures:
    """What follows from a referral's totals alone: the UTC month it was requested in, and
    the time from the request to its first ``received``, to its decision (the first
    ``accepted`` or ``rejected``) and to ``completed``, in whole microseconds (exact)."""

    requested_month: str | None
    receive_us: int | None
    decide_us: int | None
    complete_us: int | None


@dataclass(frozen=True, slots=True)
class Held:
    """The due times of the target a referral is held to, and that target's
    ``fingerprint``; all None when it is held to none (or none was known)."""

    fingerprint: str | None = None
    receive_due: datetime | None = None
    decide_due: datetime | None = None


def advance(known: Mapping[str, Totals], events: Iterable[TrailEvent]) -> dict[str, Totals]:
    """The totals of every referral ``events`` (in trail order) are about, moved on from
    ``known`` (a referral not in it starts from nothing)."""
    folding: dict[str, Referral] = {}
    for event in events:
        if not about_a_referral(event):
            continue
        referral = folding.get(event.referral_id)
        if referral is None:
            start = known.get(event.referral_id)
            referral = folding[event.referral_id] = start.referral() if start else Referral(event)
        referral.add(event)
    return {referral_id: Totals.of(referral) for referral_id, referral in folding.items()}


def fold(events: Iterable[TrailEvent]) -> Iterator[Totals]:
    """Every referral's totals from the trail alone: ``events`` grouped by referral, each
    referral's in trail order."""
    current: Referral | None = None
    for event in events:
        if not about_a_referral(event):
            continue
        if current is not None and current.first.referral_id != event.referral_id:
            yield Totals.of(current)
            current = None
        if current is None:
            current = Referral(event)
        current.add(event)
    if current is not None:
        yield Totals.of(current)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A referral whose stored totals are not what the trail says: ``fields`` names what
    differs (``missing``: no stored row; ``unexpected``: a row the trail has no events for)."""

    referral_id: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"referral {self.referral_id}: {', '.join(self.fields)}"


def mismatches(stored: Mapping[str, Totals], recomputed: Iterable[Totals]) -> list[Mismatch]:
    """Where ``stored`` and the totals recomputed from the trail disagree, by referral id."""
    found: list[Mismatch] = []
    seen: set[str] = set()
    for totals in recomputed:
        seen.add(totals.referral_id)
        row = stored.get(totals.referral_id)
        if row is None:
            found.append(Mismatch(totals.referral_id, ("missing",)))
        elif differing := row.differs_in(totals):
            found.append(Mismatch(totals.referral_id, tuple(differing)))
    found += [Mismatch(referral_id, ("unexpected",)) for referral_id in stored if referral_id not in seen]
    return sorted(found, key=lambda m: m.referral_id)
