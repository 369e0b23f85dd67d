"""What the audit's use cases need from storage, as small protocols.

Writes go through a unit of work: one transaction holding the trail's write lock, with the
stores a use case needs (``TrailWork``); it commits when the block ends normally and rolls
back when it raises. Reads that use cases check (verification, published facts, proofs)
go through ``IntegrityReads``. The SQL adapters implement both (``adapters/``); the unit
tests give in-memory fakes (``tests/unit/audit/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from crocevia_audit.domain.announcements import Anomaly
from crocevia_audit.domain.cells import Cell
from crocevia_audit.domain.entries import RecordedEntry
from crocevia_audit.domain.gaps import Gap
from crocevia_audit.domain.nodes import NodeReader, StoredNode, names_read_by
from crocevia_audit.domain.sequences import SequenceBook
from crocevia_audit.domain.totals import Held, Totals
from crocevia_audit.domain.witnessing import Cosignature
from crocevia_common.messaging.intake import Parties
from crocevia_common.tlog.checkpoint import SignedCheckpoint
from crocevia_common.tlog.note import SignatureLine, VerifierKey

T = TypeVar("T")
Name = tuple[int, int]  # (level, index) of a stored perfect subtree
# Where an entry came from: its stream (notices and referral events have their own, with
# their own message numbers) and its sequence number in that stream.
StreamPlace = tuple[bool, int | None]  # (a notice, stream sequence)


class Entries(Protocol):
    async def size(self) -> int:
        """How many entries the trail holds."""
        ...

    async def places(self, event_ids: Collection[str]) -> dict[str, StreamPlace]:
        """Where each of these event ids the trail already holds came from."""
        ...

    async def requested_parties(self, referral_ids: Collection[str]) -> dict[str, Parties]:
        """The parties of each referral's ``requested`` in the trail."""
        ...

    async def add(self, entries: Sequence[RecordedEntry]) -> None: ...


class Nodes(Protocol):
    async def read(self, names: Iterable[Name]) -> NodeReader:
        """The stored nodes named (a missing one raises MissingNodeError when asked)."""
        ...

    async def add(self, nodes: Sequence[StoredNode]) -> None: ...


class ReferralTotals(Protocol):
    async def load(self, referral_ids: Collection[str]) -> dict[str, Totals]:
        """The stored totals of these referrals (those that have some)."""
        ...

    async def save(self, totals: Sequence[Totals], held: Mapping[str, Held]) -> None:
        """Write these referrals' totals, replacing what was stored for them, with the due
        times ``held`` gives by referral id."""
        ...

    async def restate(self, held: Mapping[str, Held]) -> None:
        """Replace the stored due times of these referrals (by id) with ``held``."""
        ...


class Checkpoints(Protocol):
    async def latest(self) -> SignedCheckpoint | None: ...

    async def add(self, checkpoint: SignedCheckpoint) -> None: ...


class Cosignatures(Protocol):
    async def add(self, cosignature: Cosignature) -> bool:
        """Keep a witness's cosignature; False when one of that size is kept already."""
        ...


class Sequences(Protocol):
    async def load(self, sources: Collection[str]) -> SequenceBook: ...

    async def save(self, book: SequenceBook) -> None: ...


class Gaps(Protocol):
    async def overdue(self, detected_by: datetime) -> list[Gap]:
        """Open gaps not raised yet, detected at or before ``detected_by``, oldest first."""
        ...

    async def mark_raised(self, gap: Gap, at: datetime) -> None: ...


class Anomalies(Protocol):
    async def add(self, found: Sequence[Anomaly]) -> None: ...


class Outbox(Protocol):
    async def enqueue(
        self, message_id: str, subject: str, payload: bytes, content_type: str = "application/json"
    ) -> None:
        """Queue a message for the relay, in the unit of work's transaction; ``message_id``
        becomes ``Nats-Msg-Id``, so a republished message is deduplicated."""
        ...


class TrailWork(Protocol):
    """One transaction under the trail's write lock, and its stores."""

    @property
    def entries(self) -> Entries: ...
    @property
    def nodes(self) -> Nodes: ...
    @property
    def totals(self) -> ReferralTotals: ...
    @property
    def checkpoints(self) -> Checkpoints: ...
    @property
    def cosignatures(self) -> Cosignatures: ...
    @property
    def sequences(self) -> Sequences: ...
    @property
    def gaps(self) -> Gaps: ...
    @property
    def anomalies(self) -> Anomalies: ...
    @property
    def outbox(self) -> Outbox: ...


UnitOfWork = Callable[[], AbstractAsyncContextManager[TrailWork]]


class IntegrityReads(Protocol):
    """What verification, the published-facts check and proofs read."""

    async def size(self) -> int: ...

    async def nodes(self, names: Iterable[Name]) -> NodeReader: ...

    async def entries_after(self, position: int, limit: int) -> list[RecordedEntry]:
        """Up to ``limit`` entries after ``position``, in order."""
        ...

    async def entry_of(self, event_id: str, party: str | None) -> RecordedEntry | None:
        """The entry of ``event_id``, if ``party``'s view holds it (any, with no party)."""
        ...

    async def checkpoints(self) -> list[SignedCheckpoint]:
        """Every stored checkpoint, smallest first."""
        ...

    async def checkpoint(self, size: int | None = None) -> SignedCheckpoint | None:
        """The checkpoint of ``size``, or the latest."""
        ...

    async def checkpoint_roots(self, sizes: Collection[int]) -> dict[int, bytes]: ...

    async def cosigned_sizes(self) -> dict[str, int]:
        """The size of the latest checkpoint each witness cosigned here, by its verifier key."""
        ...

    async def cosignature_lines(self, size: int) -> list[SignatureLine]:
        """The cosignature lines kept for the checkpoint of ``size``."""
        ...

    async def witnessed_size(self, witnesses: Collection[str], quorum: int) -> int | None:
        """The size of the latest checkpoint at least ``quorum`` of ``witnesses`` (verifier key
        strings) cosigned here, if any."""
        ...

    async def earlier_keys(self, name: str, current: bytes) -> list[VerifierKey]:
        """The other public keys the log named ``name`` signed with, oldest first."""
        ...

    async def gaps_by_id(self, ids: Collection[int]) -> dict[int, Gap]: ...

    async def gaps_by_range(self, ranges: Collection[tuple[str, int, int]]) -> list[Gap]:
        """Every gap (open or closed) of these (source, first missing, last missing)."""
        ...

    async def anomalies_of(self, event_ids: Collection[str]) -> list[Anomaly]: ...


NodeSource = Callable[[Iterable[Name]], Awaitable[NodeReader]]


async def compute_with_nodes(read: NodeSource, compute: Callable[[NodeReader], T]) -> T:
    """Run ``compute`` on the stored nodes it needs, read in one pass."""
    return compute(await read(names_read_by(compute)))


# -- indicators ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cohort:
    """The referrals requested in ``[since, until)`` that ``party`` (every one with none)
    sends or receives."""

    since: datetime | None = None
    until: datetime | None = None
    party: str | None = None


HELD_BY = ("receiver_agency", "service_id", "priority")  # what ``TargetOf`` is asked with


@dataclass(frozen=True, slots=True)
class Unheld:
    """A referral counted against a target when read: its group and its times."""

    group: tuple[Any, ...]
    requested: datetime
    received: datetime | None
    accepted: datetime | None
    rejected: datetime | None


class IndicatorReads(Protocol):
    """The indicators' reads of the running totals, grouped by ``names`` (the fields of
    ``indicators.group_fields``, values in that order)."""

    async def cells(self, since: datetime | None, until: datetime | None) -> list[Cell]:
        """The cells of the referrals requested in ``[since, until)``."""
        ...

    async def generations(self) -> dict[str, int]:
        """Every month a referral was requested in, with its generation."""
        ...

    async def unheld(
        self, names: Sequence[str], cohort: Cohort, held_by: tuple[str, str, str], fingerprint: str | None
    ) -> list[Unheld]:
        """The cohort's referrals held by ``held_by`` whose due times were not stored under
        the target of ``fingerprint``."""
        ...

    async def held(self) -> dict[tuple[str, str, str], set[str | None]]:
        """The fingerprints the requested referrals' due times were stored under, by what
        they are held by."""
        ...

    async def requested_unheld(
        self, held_by: tuple[str, str, str], fingerprint: str, limit: int
    ) -> list[tuple[str, datetime]]:
        """Up to ``limit`` requested referrals held by ``held_by`` whose due times were not
        stored under ``fingerprint``: their ids and when they were requested."""
        ...
