"""Subscriptions: which people at which agency hear of a notice.

Every agency has the default subscriptions below; an agency's admin may add more (for
example: supervisors hear of every urgent request). A subscription names roles, and
optionally narrows by service, topic (event type, ``reminder`` or ``escalation``) and
priority. Only the agency that must act is told, unless a subscription asks for every
notice where the agency is a party.

The default ones go to the person responsible first: the member of staff the agency
assigned the referral to (whatever their role), else, on the sender's side, who sent it;
the team when there is no such person, or they left. A missed target past the reminder goes
to the supervisors all the same (escalation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from crocevia_contracts import EventName
from crocevia_notifications.domain.notices import Notice, NoticeKind

TOPICS: tuple[str, ...] = (*(e.value for e in EventName), NoticeKind.REMINDER.value, NoticeKind.ESCALATION.value)


class Scope(StrEnum):
    ACTING = "acting"  # only when the agency is the party that must act
    PARTY = "party"  # whenever the agency is the sender or the receiver


@dataclass(frozen=True, slots=True)
class Subscription:
    agency: str | None  # None: every agency (the defaults)
    roles: frozenset[str]
    topics: frozenset[str] = frozenset()  # empty: every topic
    service_ids: frozenset[str] = frozenset()  # empty: every service
    priorities: frozenset[str] = frozenset()  # empty: every priority
    scope: Scope = Scope.ACTING
    # Tell only the person responsible when known: the agency's assignee, else (on the
    # sender's side) the staff member who sent the referral.
    owner_only: bool = False
    id: int | None = field(default=None, compare=False)

    def agency_for(self, notice: Notice) -> str | None:
        """The agency whose staff this subscription tells about ``notice``, if any."""
        parties = {notice.sender_agency, notice.receiver_agency}
        if self.agency is None:
            candidate = notice.acting_agency
        elif self.agency in parties and (self.scope is Scope.PARTY or self.agency == notice.acting_agency):
            candidate = self.agency
        else:
            return None
        if self.topics and notice.topic not in self.topics:
            return None
        if self.service_ids and notice.service_id not in self.service_ids:
            return None
        if self.priorities and notice.priority not in self.priorities:
            return None
        return candidate


LIFECYCLE = frozenset(e.value for e in EventName)

DEFAULT_SUBSCRIPTIONS: tuple[Subscription, ...] = (
    # The party that must act: the person responsible for the referral there, else its operators.
    Subscription(agency=None, roles=frozenset({"operator"}), topics=LIFECYCLE, owner_only=True),
    # A missed target: the person responsible (else the operators) is reminded; the next
    # missed target goes to the supervisors.
    Subscription(
        agency=None, roles=frozenset({"operator"}), topics=frozenset({NoticeKind.REMINDER.value}), owner_only=True
    ),
    Subscription(agency=None, roles=frozenset({"supervisor"}), topics=frozenset({NoticeKind.ESCALATION.value})),
)


@dataclass(frozen=True, slots=True)
class StaffView:
    """What routing needs to know about a staff member."""

    id: int
    agency: str
    sub: str
    roles: frozenset[str]
    services: frozenset[str]
    active: bool

    def handles(self, service_id: str) -> bool:
        return not self.services or service_id in self.services


def recipients(
    notice: Notice,
    subscriptions: list[Subscription],
    staff_of: dict[str, list[StaffView]],
    owner_sub: str | None = None,
    assignees: Mapping[str, str] | None = None,
) -> list[StaffView]:
    """The active people to tell about ``notice``, each once, in a stable order;
    ``assignees`` names who each agency assigned the referral to."""
    chosen: dict[int, StaffView] = {}
    for sub in subscriptions:
        agency = sub.agency_for(notice)
        if agency is None:
            continue
        # Staff say which of their own agency's services they handle: only the receiver's.
        by_service = agency == notice.receiver_agency
        people = [
            p
            for p in staff_of.get(agency, [])
            if p.active and p.roles & sub.roles and (not by_service or p.handles(notice.service_id))
        ]
        if sub.owner_only:
            owner = owner_sub if agency == notice.sender_agency else None
            people = _responsible(people, staff_of.get(agency, []), (assignees or {}).get(agency), owner)
        for person in people:
            chosen.setdefault(person.id, person)
    return [chosen[k] for k in sorted(chosen)]


def _responsible(
    team: list[StaffView], everyone: list[StaffView], assignee: str | None, owner: str | None
) -> list[StaffView]:
    """Who of the agency hears first: the assignee (active, whatever their role), else the
    owner among ``team``, else ``team`` (nobody responsible, or they left)."""
    for chosen in ([p for p in everyone if p.active and p.sub == assignee], [p for p in team if p.sub == owner]):
        if chosen:
            return chosen
    return team
