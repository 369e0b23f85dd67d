"""The audit's storage in memory, behind the same small protocols as the SQL adapters
(``handlers/ports.py``): a unit of work that commits at the end of its block and leaves
nothing behind when it raises, and the integrity reads. Use cases run on it in
milliseconds."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from crocevia_audit.domain.announcements import Announcement, Anomaly
from crocevia_audit.domain.entries import NOTICE_KINDS, RecordedEntry
from crocevia_audit.domain.gaps import Gap
from crocevia_audit.domain.nodes import NodesByName, StoredNode
from crocevia_audit.domain.sequences import SequenceBook
from crocevia_audit.domain.totals import Held, Totals
from crocevia_audit.domain.witnessing import Cosignature
from crocevia_common.messaging.intake import Parties
from crocevia_common.tlog.checkpoint import SignedCheckpoint
from crocevia_common.tlog.note import SignatureLine, VerifierKey

Name = tuple[int, int]


@dataclass(frozen=True)
class Message:
    id: str
    subject: str
    payload: bytes
    content_type: str


@dataclass
class State:
    entries: list[RecordedEntry] = field(default_factory=list)
    nodes: dict[Name, bytes] = field(default_factory=dict)
    checkpoints: dict[int, SignedCheckpoint] = field(default_factory=dict)
    highest: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    outbox: list[Message] = field(default_factory=list)
    keys: list[tuple[str, bytes]] = field(default_factory=list)  # (log name, public key), oldest first
    cosignatures: dict[tuple[str, int], Cosignature] = field(default_factory=dict)  # by (witness, size)
    totals: dict[str, Totals] = field(default_factory=dict)  # by referral id
    held: dict[str, Held] = field(default_factory=dict)  # by referral id


class FakeWork:
    """The stores of one unit of work, over a copy of the state (kept only if it commits)."""

    def __init__(self, state: State, fail_on: str | None = None) -> None:
        self.state = state
        self.fail_on = fail_on
        self.entries = self
        self.nodes = _NodeStore(self)
        self.totals = _TotalsStore(self)
        self.checkpoints = _CheckpointStore(self)
        self.cosignatures = _CosignatureStore(self)
        self.sequences = _SequenceStore(self)
        self.gaps = _GapStore(self)
        self.anomalies = _AnomalyStore(self)
        self.outbox = _Outbox(self)

    def _write(self, what: str) -> None:
        if self.fail_on == what:
            raise ConnectionError(f"the database went away while writing {what}")

    # Entries
    async def size(self) -> int:
        return len(self.state.entries)

    async def places(self, event_ids: Collection[str]) -> dict[str, tuple[bool, int | None]]:
        return {
            e.fields.event_id: (e.fields.event in NOTICE_KINDS, e.stream_sequence)
            for e in self.state.entries
            if e.fields.event_id in event_ids
        }

    async def requested_parties(self, referral_ids: Collection[str]) -> dict[str, Parties]:
        return {
            e.fields.referral_id: Parties(e.fields.sender_agency, e.fields.receiver_agency, e.fields.service_id)
            for e in self.state.entries
            if e.fields.referral_id in referral_ids and e.fields.event == "requested"
        }

    async def add(self, entries: Sequence[RecordedEntry]) -> None:
        if entries:
            self._write("entries")
        self.state.entries += entries


class _NodeStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def read(self, names: Iterable[Name]) -> NodesByName:
        wanted = set(names)
        return NodesByName({name: digest for name, digest in self.work.state.nodes.items() if name in wanted})

    async def add(self, nodes: Sequence[StoredNode]) -> None:
        self.work.state.nodes.update({(n.level, n.index): n.digest for n in nodes})


class _TotalsStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def load(self, referral_ids: Collection[str]) -> dict[str, Totals]:
        return {i: self.work.state.totals[i] for i in referral_ids if i in self.work.state.totals}

    async def save(self, totals: Sequence[Totals], held: Mapping[str, Held]) -> None:
        if totals:
            self.work._write("totals")
        self.work.state.totals.update({row.referral_id: row for row in totals})
        self.work.state.held.update(
            {row.referral_id: held[row.referral_id] for row in totals if row.referral_id in held}
        )


class _CheckpointStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def latest(self) -> SignedCheckpoint | None:
        stored = self.work.state.checkpoints
        return stored[max(stored)] if stored else None

    async def add(self, checkpoint: SignedCheckpoint) -> None:
        self.work._write("checkpoints")
        self.work.state.checkpoints[checkpoint.size] = checkpoint


class _CosignatureStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def add(self, cosignature: Cosignature) -> bool:
        self.work._write("cosignatures")
        key = (cosignature.witness, cosignature.size)
        return self.work.state.cosignatures.setdefault(key, cosignature) is cosignature


class _SequenceStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def load(self, sources: Collection[str]) -> SequenceBook:
        state = self.work.state
        highest = {s: v for s, v in state.highest.items() if s in sources}
        open_gaps = [replace(g) for g in state.gaps if g.source in sources and g.closed_at is None]
        return SequenceBook.of(sources, highest, open_gaps)

    async def save(self, book: SequenceBook) -> None:
        state = self.work.state
        state.highest.update({**book.new_highest(), **book.moved_highest()})
        for closed in book.stored_gaps_closed():
            stored = next(g for g in state.gaps if g.id == closed.id)
            stored.closed_at, stored.closed_by_event_id = closed.closed_at, closed.closed_by_event_id
        for gap in book.gaps_to_store():
            state.gaps.append(replace(gap, id=len(state.gaps) + 1))


class _GapStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def overdue(self, detected_by: datetime) -> list[Gap]:
        return [
            replace(g)
            for g in self.work.state.gaps
            if g.closed_at is None and g.raised_at is None and g.detected_at <= detected_by
        ]

    async def mark_raised(self, gap: Gap, at: datetime) -> None:
        next(g for g in self.work.state.gaps if g.id == gap.id).raised_at = at


class _AnomalyStore:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def add(self, found: Sequence[Anomaly]) -> None:
        anomalies = self.work.state.anomalies
        anomalies += [replace(a, id=len(anomalies) + i + 1) for i, a in enumerate(found)]


class _Outbox:
    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def enqueue(
        self, message_id: str, subject: str, payload: bytes, content_type: str = "application/json"
    ) -> None:
        self.work._write("outbox")
        self.work.state.outbox.append(Message(message_id, subject, payload, content_type))


class FakeTrail:
    """The trail's storage: units of work over it, and the integrity reads of it."""

    def __init__(self) -> None:
        self.state = State()
        self.units = 0  # units of work begun: each would hold the trail's write lock
        self.fail_on: str | None = None  # the store whose next write fails, once

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[FakeWork]:
        self.units += 1
        work = FakeWork(copy.deepcopy(self.state), self.fail_on)
        self.fail_on = None
        yield work
        self.state = work.state  # committed: the block ended without raising

    # -- integrity reads ---------------------------------------------------------------

    async def nodes(self, names: Iterable[Name]) -> NodesByName:
        wanted = set(names)
        return NodesByName({name: digest for name, digest in self.state.nodes.items() if name in wanted})

    async def size(self) -> int:
        return len(self.state.entries)

    async def entries_after(self, position: int, limit: int) -> list[RecordedEntry]:
        return [e for e in self.state.entries if e.position > position][:limit]

    async def entry_of(self, event_id: str, party: str | None) -> RecordedEntry | None:
        for e in self.state.entries:
            f = e.fields
            if f.event_id == event_id and party in (None, f.sender_agency, f.receiver_agency, f.to_agency):
                return e
        return None

    async def checkpoints(self) -> list[SignedCheckpoint]:
        return [self.state.checkpoints[size] for size in sorted(self.state.checkpoints)]

    async def checkpoint(self, size: int | None = None) -> SignedCheckpoint | None:
        stored = self.state.checkpoints
        if size is None:
            return stored[max(stored)] if stored else None
        return stored.get(size)

    async def cosigned_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for witness, size in self.state.cosignatures:
            sizes[witness] = max(size, sizes.get(witness, size))
        return sizes

    async def cosignature_lines(self, size: int) -> list[SignatureLine]:
        return [c.line for (_, at), c in sorted(self.state.cosignatures.items()) if at == size]

    async def witnessed_size(self, witnesses: Collection[str], quorum: int) -> int | None:
        sizes = [
            size
            for size in {at for _, at in self.state.cosignatures}
            if len({w for w, at in self.state.cosignatures if at == size and w in witnesses}) >= quorum
        ]
        return max(sizes, default=None)

    async def checkpoint_roots(self, sizes: Collection[int]) -> dict[int, bytes]:
        return {size: c.root for size, c in self.state.checkpoints.items() if size in sizes}

    async def earlier_keys(self, name: str, current: bytes) -> list[VerifierKey]:
        return [VerifierKey(n, key) for n, key in self.state.keys if n == name and key != current]

    async def gaps_by_id(self, ids: Collection[int]) -> dict[int, Gap]:
        return {g.id: g for g in self.state.gaps if g.id in ids}

    async def gaps_by_range(self, ranges: Collection[tuple[str, int, int]]) -> list[Gap]:
        return [g for g in self.state.gaps if (g.source, g.range.first, g.range.last) in ranges]

    async def anomalies_of(self, event_ids: Collection[str]) -> list[Anomaly]:
        return [a for a in self.state.anomalies if a.event_id in event_ids]

    # -- what the audit published, read back -------------------------------------------

    def published(self, subject: str | None = None) -> list[Message]:
        return [m for m in self.state.outbox if subject is None or m.subject == subject]

    async def each_batch(self, handle) -> None:  # the outbox as the stream AUDIT will hold it
        await handle([Announcement(i, m.subject, m.payload) for i, m in enumerate(self.state.outbox, 1)])
