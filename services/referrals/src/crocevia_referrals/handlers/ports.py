"""What the use cases of a node work with, as small protocols: a unit of work (one
transaction, and the referrals, idempotency keys, outbox, inbox, access log and assignments
inside it), the directory, and the sealing of what travels to the other agency. The node
wires the real adapters (``bootstrap``); tests wire in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from crocevia_common.messaging.intake import Verified
from crocevia_contracts.anchors import AccessLogAnchored
from crocevia_contracts.caseload import ReferralAssigned
from crocevia_contracts.directory import AgencyEntry
from crocevia_referrals.domain.access_log import AccessEntry, Head
from crocevia_referrals.domain.caseload import Assignment
from crocevia_referrals.domain.events import Outgoing
from crocevia_referrals.domain.referral import Referral


class KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


@dataclass(frozen=True)
class Remembered:
    """The referral a request with an Idempotency-Key created, and that request's digest."""

    request_sha256: str
    referral_id: str


class ReferralStore(Protocol):
    async def get(self, referral_id: str) -> Referral | None:
        """The referral with its history; in a transaction, no one else changes it until
        the transaction ends."""

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        """Read these referrals at once (locked as ``get`` locks them), for the next ``get``
        of each in this transaction."""

    async def open_sent(self, to_agency: str, service_id: str, names: str) -> list[Referral]:
        """The open referrals this agency sent to ``to_agency``'s ``service_id`` for a
        person whose folded names (``person_key_start``) are ``names``."""

    async def add(self, referral: Referral) -> None: ...

    async def save(self, referral: Referral) -> None: ...

    async def closed_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Up to ``limit`` referrals closed (last changed) before ``cutoff`` and not erased,
        oldest first."""


class RequestLog(Protocol):
    """The referrals requests with an Idempotency-Key created."""

    async def find(self, key: str) -> Remembered | None: ...

    async def remember(self, key: str, request_sha256: str, referral_id: str) -> None:
        """Raise KeyTaken when the key is taken already."""


class Outbox(Protocol):
    async def put(self, event: Outgoing) -> None:
        """Seal, number, sign and store the event, to publish once the transaction commits."""

    async def announce(self, anchor: AccessLogAnchored, at: datetime) -> str:
        """Number, sign and store an anchor like an event; its event id."""

    async def tell_caseload(self, assigned: ReferralAssigned, at: datetime) -> None:
        """Number (in the node's caseload sequence), sign and store a caseload notice for
        this agency's notifications."""


class AccessLog(Protocol):
    """The access log: appended only after its head, which no one else moves meanwhile."""

    async def head(self) -> Head:
        """The last entry; in a transaction, no other append comes until it ends."""

    async def append(self, entries: Sequence[AccessEntry]) -> None:
        """Append ``entries``, each chained to the one before it, the first to the head."""

    async def last_anchor(self) -> Head | None: ...

    async def anchored(self, head: Head, event_id: str, at: datetime) -> None: ...


class Inbox(Protocol):
    async def claim(self, item: Verified) -> bool:
        """False when the event was applied already; raise Unprocessable when its publisher's
        sequence number belongs to another event."""

    async def claim_ahead(self, items: Sequence[Verified]) -> None:
        """Record a batch of events as applied at once, for their ``claim`` in this transaction."""


class AssignmentLog(Protocol):
    async def record(self, assignment: Assignment) -> None:
        """Make ``assignment`` the referral's current one, and keep it in its record."""


@dataclass(frozen=True)
class KeptFile:
    """An attachment as a node keeps it: what the message's reference says of it, and its bytes."""

    id: str
    name: str
    media_type: str
    size: int
    sha256: str
    content: bytes


class MessageStore(Protocol):
    """The attachments and read state of a referral's messages (their text is the history's)."""

    async def keep(self, referral_id: str, message_id: str, files: Sequence[KeptFile]) -> None: ...

    async def mark_read(self, referral_id: str, message_ids: Sequence[str], by: str, at: datetime) -> int:
        """Mark the messages read, those not read yet; how many."""


class Work(Protocol):
    """What one transaction works on."""

    @property
    def referrals(self) -> ReferralStore: ...

    @property
    def requests(self) -> RequestLog: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def access_log(self) -> AccessLog: ...

    @property
    def assignments(self) -> AssignmentLog: ...

    @property
    def messages(self) -> MessageStore: ...


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Work]:
        """Work committed together when the block ends, or not at all if it raises."""

    def reading(self, *, short: bool = False, one_read: bool = False) -> AbstractAsyncContextManager[Work]:
        """Work that only reads, and locks nothing; ``short``: a few bounded rows (one referral,
        one request by its key), which a SQLite node reads without leaving the event loop;
        ``one_read``: such rows read by one statement, which needs no transaction around it."""

    async def compact(self) -> None:
        """Leave no erased value in the database's files (SQLite: its write-ahead log)."""


class Directory(Protocol):
    async def fetch(self, agency_id: str) -> AgencyEntry | None:
        """An agency's entry, None when there is no such agency; raise DirectoryUnavailable
        when the directory cannot be read."""


class Seals(Protocol):
    async def prepare(self, agency_id: str) -> None:
        """Have the keys to seal to ``agency_id``; raise Invalid (agency-not-ready) otherwise."""

    def open(self, item: Verified) -> bytes | None:
        """The sealed part of an event, opened; raise SealError when it does not open,
        NotYet when the publisher's keys are not pinned yet."""


@dataclass(frozen=True)
class Shipped:
    """A file put, encrypted, in the receiving agency's bucket: its object's name, and the key
    (base64) that opens it, which travels only in the message's sealed part."""

    object: str
    key: str


class AttachmentError(Exception):
    """An attachment that cannot be fetched or opened; ``str()`` names it, never its content."""


class Carrier(Protocol):
    """The attachments' way between nodes: a JetStream object store bucket per receiving agency."""

    async def ship(self, to_agency: str, content: bytes) -> Shipped:
        """Encrypt ``content`` with a new key and put it in ``to_agency``'s bucket."""

    async def fetch(self, object_name: str, key: str) -> bytes:
        """An object of this node's bucket, opened; raise AttachmentError when it is missing or
        does not open with ``key``."""

    async def discard(self, object_names: Sequence[str]) -> None:
        """Delete objects of this node's bucket once what they carried is kept."""


class NoCarrier:
    """A node that carries no attachments: every one it is sent is missing."""

    async def ship(self, to_agency: str, content: bytes) -> Shipped:
        raise AttachmentError("this node carries no attachments")

    async def fetch(self, object_name: str, key: str) -> bytes:
        raise AttachmentError("this node carries no attachments")

    async def discard(self, object_names: Sequence[str]) -> None:
        return None


class StaffDirectory(Protocol):
    def members(self, agency_id: str) -> frozenset[str]:
        """The subs of ``agency_id``'s staff, as the staff directory lists them now."""


class NoStaff:
    """A staff directory that lists nobody: nobody can be assigned anything."""

    def members(self, agency_id: str) -> frozenset[str]:
        return frozenset()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Node:
    """One agency's node, as its use cases see it."""

    agency_id: str
    uow: UnitOfWork
    directory: Directory
    seals: Seals
    clock: Callable[[], datetime] = field(default=_now)
    staff: StaffDirectory = field(default_factory=NoStaff)
    carrier: Carrier = field(default_factory=NoCarrier)
