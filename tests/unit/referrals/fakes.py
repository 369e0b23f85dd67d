"""In-memory stand-ins for a node's unit of work, directory and seals: the use cases run on
them in milliseconds. A transaction's changes are kept only if it ends without an error."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crocevia_common.directory import DirectoryUnavailable
from crocevia_common.messaging.intake import Delivery, Unprocessable, Verified
from crocevia_contracts import Envelope, referral_subject
from crocevia_contracts.anchors import AccessLogAnchored
from crocevia_contracts.caseload import ReferralAssigned
from crocevia_contracts.directory import AgencyEntry, ServiceTarget
from crocevia_contracts.lifecycle import OPEN
from crocevia_contracts.sealing import SealError
from crocevia_referrals.adapters.queries import ListFilter
from crocevia_referrals.domain.access_log import EMPTY, AccessEntry, Head
from crocevia_referrals.domain.caseload import Assignment, person_key_start
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.events import Outgoing
from crocevia_referrals.domain.referral import Referral
from crocevia_referrals.domain.retention import CLOSED
from crocevia_referrals.handlers.incoming import apply_incoming
from crocevia_referrals.handlers.ports import AttachmentError, KeptFile, KeyTaken, Node, Remembered, Shipped
from crocevia_referrals.views import Reads

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@dataclass
class Stored:
    """What the fake database holds once committed."""

    referrals: dict[str, Referral] = field(default_factory=dict)
    requests: dict[str, Remembered] = field(default_factory=dict)
    outbox: list[Outgoing] = field(default_factory=list)
    applied: dict[str, tuple[str, int]] = field(default_factory=dict)  # event id -> (source, sequence)
    access_log: list[AccessEntry] = field(default_factory=list)
    anchors: list[tuple[Head, str]] = field(default_factory=list)  # (head, event id)
    announced: list[AccessLogAnchored] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    caseload: list[ReferralAssigned] = field(default_factory=list)  # notices to its notifications
    files: dict[str, list[KeptFile]] = field(default_factory=dict)  # message id -> its files
    read: dict[str, datetime] = field(default_factory=dict)  # message id -> read at


class FakeWork:
    def __init__(self, stored: Stored) -> None:
        self.stored = copy.deepcopy(stored)
        self.referrals = self
        self.requests = _Requests(self.stored)
        self.outbox = _Outbox(self.stored)
        self.inbox = _Inbox(self.stored)
        self.access_log = _AccessLog(self.stored)
        self.assignments = _Assignments(self.stored)
        self.messages = _Messages(self.stored)

    async def get(self, referral_id: str) -> Referral | None:
        found = self.stored.referrals.get(referral_id)
        return copy.deepcopy(found) if found else None

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        pass  # each ``get`` reads the store

    async def open_sent(self, to_agency: str, service_id: str, names: str) -> list[Referral]:
        return [
            copy.deepcopy(r)
            for r in self.stored.referrals.values()
            if r.direction == "outgoing"
            and (r.receiver_agency, r.service_id) == (to_agency, service_id)
            and r.status in OPEN
            and r.personal is not None
            and person_key_start(r.personal.person) == names
        ]

    async def add(self, referral: Referral) -> None:
        assert referral.id not in self.stored.referrals
        self._keep(referral)

    async def save(self, referral: Referral) -> None:
        assert referral.id in self.stored.referrals
        self._keep(referral)

    async def closed_before(self, cutoff: datetime, limit: int) -> list[str]:
        found = [r for r in self.stored.referrals.values() if r.status in CLOSED and r.erasure is None]
        return [r.id for r in sorted(found, key=lambda r: (r.updated_at, r.id)) if r.updated_at <= cutoff][:limit]

    def _keep(self, referral: Referral) -> None:
        if referral.notes_erased:  # the messages' files go with the notes, as the SQL store does
            for entry in referral.messages:
                self.stored.files.pop(entry.event_id, None)
        kept = copy.deepcopy(referral)
        kept.outbox = []  # what it collected is the outbox's now
        self.stored.referrals[referral.id] = kept


class _Requests:
    def __init__(self, stored: Stored) -> None:
        self.stored = stored

    async def find(self, key: str) -> Remembered | None:
        return self.stored.requests.get(key)

    async def remember(self, key: str, request_sha256: str, referral_id: str) -> None:
        if key in self.stored.requests:
            raise KeyTaken
        self.stored.requests[key] = Remembered(request_sha256, referral_id)


class _Outbox:
    def __init__(self, stored: Stored) -> None:
        self.stored = stored

    async def put(self, event: Outgoing) -> None:
        self.stored.outbox.append(event)

    async def announce(self, anchor: AccessLogAnchored, at: datetime) -> str:
        self.stored.announced.append(anchor)
        return f"anchor-{len(self.stored.announced)}"

    async def tell_caseload(self, assigned: ReferralAssigned, at: datetime) -> None:
        self.stored.caseload.append(assigned)


class _AccessLog:
    def __init__(self, stored: Stored) -> None:
        self.stored = stored

    async def head(self) -> Head:
        last = self.stored.access_log[-1] if self.stored.access_log else None
        return Head(last.position, last.entry_sha256) if last else EMPTY

    async def append(self, entries: Sequence[AccessEntry]) -> None:
        self.stored.access_log.extend(entries)

    async def last_anchor(self) -> Head | None:
        return self.stored.anchors[-1][0] if self.stored.anchors else None

    async def anchored(self, head: Head, event_id: str, at: datetime) -> None:
        self.stored.anchors.append((head, event_id))


class _Assignments:
    def __init__(self, stored: Stored) -> None:
        self.stored = stored

    async def record(self, assignment: Assignment) -> None:
        self.stored.referrals[assignment.referral_id].assignee = assignment.assignee
        self.stored.assignments.append(assignment)


class _Messages:
    def __init__(self, stored: Stored) -> None:
        self.stored = stored

    async def keep(self, referral_id: str, message_id: str, files: Sequence[KeptFile]) -> None:
        self.stored.files[message_id] = list(files)

    async def mark_read(self, referral_id: str, message_ids: Sequence[str], by: str, at: datetime) -> int:
        unread = [m for m in dict.fromkeys(message_ids) if m not in self.stored.read]
        self.stored.read.update(dict.fromkeys(unread, at))
        return len(unread)


class FakeCarrier:
    """The buckets: ``objects`` by agency and name, as shipped (key kept beside, not encrypted)."""

    def __init__(self, buckets: dict[str, dict[str, tuple[str, bytes]]], agency_id: str) -> None:
        self.buckets = buckets
        self.agency_id = agency_id

    async def ship(self, to_agency: str, content: bytes) -> Shipped:
        name, key = f"object-{len(self.buckets.setdefault(to_agency, {})) + 1}", "k" * 43 + "="
        self.buckets[to_agency][name] = (key, content)
        return Shipped(name, key)

    async def fetch(self, object_name: str, key: str) -> bytes:
        found = self.buckets.get(self.agency_id, {}).get(object_name)
        if found is None:
            raise AttachmentError("the object is not in the bucket")
        if found[0] != key:
            raise AttachmentError("the object does not open with its key")
        return found[1]

    async def discard(self, object_names: Sequence[str]) -> None:
        for name in object_names:
            self.buckets.get(self.agency_id, {}).pop(name, None)


class _Inbox:
    def __init__(self, stored: Stored) -> None:
        self.stored = stored

    async def claim_ahead(self, items: Sequence[Verified]) -> None:
        pass  # each ``claim`` claims alone

    async def claim(self, item: Verified) -> bool:
        if item.id in self.stored.applied:
            return False
        if (item.source, item.sequence) in self.stored.applied.values():
            raise Unprocessable("sequence reused")
        self.stored.applied[item.id] = (item.source, item.sequence)
        return True


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.stored = Stored()
        self.commits = 0
        self.compactions = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeWork]:
        work = FakeWork(self.stored)
        yield work
        self.stored = work.stored
        self.commits += 1

    @asynccontextmanager
    async def reading(self, *, short: bool = False, one_read: bool = False) -> AsyncIterator[FakeWork]:
        yield FakeWork(self.stored)

    async def compact(self) -> None:
        self.compactions += 1


class FakeDirectory:
    """The directory: ``agencies`` by id; ``unavailable`` makes every read fail."""

    def __init__(self, *entries: AgencyEntry) -> None:
        self.agencies = {e.organization.id: e for e in entries}
        self.unavailable = False

    async def fetch(self, agency_id: str) -> AgencyEntry | None:
        if self.unavailable:
            raise DirectoryUnavailable("the directory bucket cannot be read")
        return self.agencies.get(agency_id)

    def get(self, agency_id: str) -> AgencyEntry | None:
        return self.agencies.get(agency_id)

    def all(self) -> list[AgencyEntry]:
        return [self.agencies[k] for k in sorted(self.agencies)]

    def target_for(self, agency_id: str, service_id: str, priority: str) -> ServiceTarget | None:
        entry = self.agencies.get(agency_id)
        return entry.target_for(service_id, priority) if entry else None


class FakeSeals:
    """Sealed parts as plain text: ``texts`` by event id; ``unreadable`` event ids do not open;
    agencies in ``without_keys`` have published none."""

    def __init__(self) -> None:
        self.texts: dict[str, bytes] = {}
        self.unreadable: set[str] = set()
        self.without_keys: set[str] = set()

    async def prepare(self, agency_id: str) -> None:
        if agency_id in self.without_keys:
            raise Invalid("agency-not-ready", f"{agency_id} has published no keys yet", "to_agency")

    def open(self, item: Verified) -> bytes | None:
        if item.id in self.unreadable:
            raise SealError("sealed to another key than this node's")
        return self.texts.get(item.id)


class FakeQueries:
    """The reads, over what the fake unit of work committed."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def _read(self, referral: Referral) -> Referral:
        """A copy, told whether another referral follows it (as the SQL reads say)."""
        found = copy.deepcopy(referral)
        found.redirected = any(r.previous_referral_id == referral.id for r in self.uow.stored.referrals.values())
        return found

    async def one(self, referral_id: str) -> Referral | None:
        found = self.uow.stored.referrals.get(referral_id)
        return self._read(found) if found else None

    async def search(self, flt: ListFilter, limit: int, cursor: str | None) -> tuple[list[Referral], str | None]:
        def matches(r: Referral) -> bool:
            return (
                (flt.direction is None or r.direction == flt.direction)
                and (not flt.statuses or r.status in flt.statuses)
                and (not flt.waiting_for_us or r.waits_for_us)
                and (flt.assignee is None or r.assignee == flt.assignee)
                and (flt.pathway_id is None or (r.pathway is not None and r.pathway.id == flt.pathway_id))
            )

        found = sorted(self.uow.stored.referrals.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        return [r for r in map(self._read, found) if matches(r)][:limit], None

    async def assignments(self, referral_id: str) -> list[Assignment]:
        return [a for a in self.uow.stored.assignments if a.referral_id == referral_id]

    async def pathways(self, lead_agency: str, limit: int) -> list[str]:
        led = [r for r in self.uow.stored.referrals.values() if r.pathway and r.pathway.lead_agency == lead_agency]
        newest = sorted(led, key=lambda r: (r.created_at, r.id), reverse=True)
        return list(dict.fromkeys(r.pathway.id for r in newest if r.pathway))[:limit]


def agency(agency_id: str, **service: Any) -> AgencyEntry:
    """An agency with one service, ``main-service``; ``service`` overrides its fields."""
    targets = {
        "routine": {"receive_within_hours": 24, "decide_within_hours": 120},
        "urgent": {"receive_within_hours": 4, "decide_within_hours": 24},
    }
    main = {"id": "main-service", "name": "Italiano A1", "domain": "education", "response_targets": targets}
    return AgencyEntry.model_validate(
        {"organization": {"id": agency_id, "name": agency_id.upper()}, "services": [{**main, **service}]}
    )


@dataclass
class World:
    """One node, on fakes, in a network of agencies."""

    node: Node
    uow: FakeUnitOfWork
    directory: FakeDirectory
    seals: FakeSeals

    @property
    def reads(self) -> Reads:
        return Reads(self.node.agency_id, FakeQueries(self.uow), self.directory)

    @property
    def published(self) -> list[Outgoing]:
        return self.uow.stored.outbox

    def referral(self, referral_id: str) -> Referral:
        return self.uow.stored.referrals[referral_id]


class FakeStaff:
    """The staff directory: ``subs`` by agency."""

    def __init__(self) -> None:
        self.subs: dict[str, set[str]] = {}

    def members(self, agency_id: str) -> frozenset[str]:
        return frozenset(self.subs.get(agency_id, ()))


def world(agency_id: str, *others: AgencyEntry) -> World:
    directory = FakeDirectory(agency(agency_id), *others)
    uow, seals, staff = FakeUnitOfWork(), FakeSeals(), FakeStaff()
    return World(Node(agency_id, uow, directory, seals, clock=lambda: NOW, staff=staff), uow, directory, seals)


def delivered(publisher: str, to_agency: str, data: Any, sequence: int, event_id: str | None = None) -> Verified:
    """An event of ``publisher`` as the intake hands it over, verified."""
    envelope = Envelope.build(source_agency=publisher, sequence=sequence, data=data, event_id=event_id)
    subject = referral_subject(publisher, to_agency, envelope.name)
    return Verified(Delivery(subject, envelope.to_json()), publisher, envelope)


class Network:
    """Nodes on fakes, and the events between them, delivered when asked (each node's in the
    order it put them in its outbox, numbered in its sequence)."""

    def __init__(self, *worlds: World) -> None:
        self.worlds = {w.node.agency_id: w for w in worlds}
        self.sent = dict.fromkeys(self.worlds, 0)

    async def deliver(self) -> None:
        """Deliver every event in an outbox, and the answers to them, until none is left."""
        moved = True
        while moved:
            moved = False
            for agency_id, world in self.worlds.items():
                while self.sent[agency_id] < len(world.published):
                    event = world.published[self.sent[agency_id]]
                    self.sent[agency_id] += 1
                    target = self.worlds[event.to_agency]
                    if event.sealed_text is not None:
                        target.seals.texts[event.event_id] = event.sealed_text
                    item = delivered(agency_id, event.to_agency, event.data, self.sent[agency_id], event.event_id)
                    await apply_incoming(target.node, item)
                    moved = True
