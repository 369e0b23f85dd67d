"""Holding the database to what the audit has already published.

Checkpoints, raised gaps, gap closings and anomalies, once on the stream AUDIT, are out of
the audit's hands: whoever edits the database cannot take them back. Each one read back
must still be in the database and agree with it:

- a checkpoint signed by the log's key has its row, and its root is the stored tree's root
  at its size, computed from the stored perfect subtrees (O(log n) nodes per size; the
  trail pass of ``verify`` checks those nodes against the entries themselves);
- a checkpoint signed by an earlier key of the log is named: a change of key is reported,
  never taken silently; a message no key of the log signed is named too;
- a raised gap is still its row, unchanged; a closing is still recorded, and the parts of
  the gap it left open are still gaps;
- an anomaly is still a row.

The stream is read once, a batch at a time, and each batch is compared with the database
as soon as it is read: everything published was committed before, so it must be there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from crocevia_audit.domain.announcements import (
    AnnouncedAnomaly,
    AnnouncedGap,
    AnnouncedGapClosed,
    Announcement,
    AnnouncementError,
    AnnouncementsUnavailable,
)
from crocevia_audit.domain.frontier import Frontier, border_names
from crocevia_audit.domain.gaps import Gap
from crocevia_audit.domain.nodes import MissingNodeError
from crocevia_audit.handlers.ports import IntegrityReads
from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError, open_log_checkpoint, signed_by_earlier_key
from crocevia_common.tlog.note import VerifierKey
from crocevia_contracts.stream import (
    AUDIT_ANOMALY_SUBJECT,
    AUDIT_CHECKPOINT_SUBJECT,
    AUDIT_GAP_CLOSED_SUBJECT,
    AUDIT_GAP_SUBJECT,
)

LISTED_PER_KIND = 100  # beyond this, a kind of disagreement is only counted


class DisagreementKind(StrEnum):
    CHECKPOINT_MISSING = "checkpoint-missing"  # published, no row of that size any more
    CHECKPOINT_REPLACED = "checkpoint-replaced"  # the row of that size has another root
    ROOT_DIFFERS = "root-differs"  # the stored tree's root at that size is another
    TREE_SHORTER = "tree-shorter"  # the stored trail holds fewer entries than published
    EARLIER_KEY = "earlier-key"  # signed by a key the log used before, not its key now
    UNKNOWN_SIGNER = "unknown-signer"  # on the checkpoint subject, signed by no key of the log
    UNREADABLE = "unreadable"  # not the announcement its subject says
    GAP_MISSING = "gap-missing"
    GAP_CHANGED = "gap-changed"
    GAP_CLOSING_MISSING = "gap-closing-missing"
    ANOMALY_MISSING = "anomaly-missing"


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A published fact the database no longer agrees with; ``stream_sequence`` is where
    it is in the stream AUDIT."""

    kind: DisagreementKind
    stream_sequence: int
    detail: str
    size: int | None = None  # a checkpoint's tree size

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind.value, "stream_sequence": self.stream_sequence}
        if self.size is not None:
            found["size"] = self.size
        return {**found, "detail": self.detail}


@dataclass
class PublishedComparison:
    """What reading the stream AUDIT back found."""

    read: bool = True
    error: str | None = None
    messages: int = 0
    checkpoints: int = 0
    gaps: int = 0
    gap_closings: int = 0
    anomalies: int = 0
    largest: tuple[int, int] | None = None  # (size, stream sequence) of the largest checkpoint
    disagreements: list[Disagreement] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.read and not self.counts

    def add(self, found: Disagreement) -> None:
        self.counts[found.kind.value] += 1
        if self.counts[found.kind.value] <= LISTED_PER_KIND:
            self.disagreements.append(found)

    def check_trail_length(self, entries: int) -> None:
        """Name the largest published checkpoint if the stored trail is shorter."""
        if self.largest is not None and self.largest[0] > entries:
            size, at = self.largest
            detail = f"the trail holds {entries} entries, the published checkpoint of size {size} vouches for {size}"
            self.add(Disagreement(DisagreementKind.TREE_SHORTER, at, detail, size))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "read": self.read,
            "error": self.error,
            "messages": self.messages,
            "checkpoints": self.checkpoints,
            "gaps": self.gaps,
            "gap_closings": self.gap_closings,
            "anomalies": self.anomalies,
            "disagreements": [d.as_dict() for d in self.disagreements],
            "counts": dict(sorted(self.counts.items())),
        }


class PublishedFacts(Protocol):
    """The stream AUDIT, read from its first message (``adapters/announcements.py``)."""

    async def each_batch(self, handle: Callable[[list[Announcement]], Awaitable[None]]) -> None: ...


def _same_gap(stored: Gap, gap: AnnouncedGap) -> bool:
    return (
        (stored.source, stored.range.first, stored.range.last) == (gap.source, gap.first_missing, gap.last_missing)
        and stored.detected_at == gap.detected_at
        and stored.raised_at == gap.raised_at
    )


class _Comparison:
    def __init__(self, reads: IntegrityReads, key: VerifierKey, earlier: Sequence[VerifierKey]) -> None:
        self.reads = reads
        self.key = key
        self.earlier = earlier
        self.report = PublishedComparison()
        self._claimed: set[int] = set()  # anomaly rows already matched by a message

    async def batch(self, batch: list[Announcement]) -> None:
        signed: list[tuple[int, Checkpoint]] = []
        gaps: list[tuple[int, AnnouncedGap]] = []
        closings: list[tuple[int, AnnouncedGapClosed]] = []
        found: list[tuple[int, AnnouncedAnomaly]] = []
        for message in batch:
            self.report.messages += 1
            at = message.stream_sequence
            try:
                if message.subject == AUDIT_CHECKPOINT_SUBJECT:
                    if (checkpoint := self._open(message)) is not None:
                        signed.append((at, checkpoint))
                elif message.subject == AUDIT_GAP_SUBJECT:
                    gaps.append((at, AnnouncedGap.parse(message.data)))
                elif message.subject == AUDIT_GAP_CLOSED_SUBJECT:
                    closings.append((at, AnnouncedGapClosed.parse(message.data)))
                elif message.subject == AUDIT_ANOMALY_SUBJECT:
                    found.append((at, AnnouncedAnomaly.parse(message.data)))
            except AnnouncementError as exc:
                detail = f"the message on {message.subject} is not what that subject carries: {exc}"
                self.report.add(Disagreement(DisagreementKind.UNREADABLE, at, detail))
        await self._checkpoints(signed)
        await self._gaps(gaps)
        await self._closings(closings)
        await self._anomalies(found)

    def _open(self, message: Announcement) -> Checkpoint | None:
        at = message.stream_sequence
        try:
            checkpoint, signer = open_log_checkpoint(message.data, self.key, self.earlier)
        except CheckpointError as exc:
            detail = (
                f"a message on {AUDIT_CHECKPOINT_SUBJECT} is not a checkpoint signed by a key of this log: {exc.reason}"
            )
            self.report.add(Disagreement(DisagreementKind.UNKNOWN_SIGNER, at, detail))
            return None
        if signer != self.key:
            detail = f"the published checkpoint of size {checkpoint.size} is {signed_by_earlier_key(signer, self.key)}"
            self.report.add(Disagreement(DisagreementKind.EARLIER_KEY, at, detail, checkpoint.size))
        return checkpoint

    async def _checkpoints(self, signed: list[tuple[int, Checkpoint]]) -> None:
        if not signed:
            return
        sizes = {checkpoint.size for _, checkpoint in signed}
        stored = await self.reads.checkpoint_roots(sizes)
        nodes = await self.reads.nodes({name for size in sizes for name in border_names(size)})
        report = self.report
        for at, checkpoint in signed:
            size = checkpoint.size
            report.checkpoints += 1
            if report.largest is None or size > report.largest[0]:
                report.largest = (size, at)
            row = stored.get(size)
            if row is None:
                detail = f"the published checkpoint of size {size} is not in the database"
                report.add(Disagreement(DisagreementKind.CHECKPOINT_MISSING, at, detail, size))
            elif row != checkpoint.root:
                detail = f"the database's checkpoint of size {size} has another root than the published one"
                report.add(Disagreement(DisagreementKind.CHECKPOINT_REPLACED, at, detail, size))
            try:
                root = Frontier.read(size, nodes).root()
            except MissingNodeError:
                detail = (
                    f"the stored tree has no nodes for the {size} entries of the published checkpoint of size {size}"
                )
                report.add(Disagreement(DisagreementKind.TREE_SHORTER, at, detail, size))
                continue
            if root != checkpoint.root:
                detail = f"the stored tree's root at size {size} is not the root of the published checkpoint"
                report.add(Disagreement(DisagreementKind.ROOT_DIFFERS, at, detail, size))

    async def _gaps(self, gaps: list[tuple[int, AnnouncedGap]]) -> None:
        rows = await self.reads.gaps_by_id({gap.id for _, gap in gaps}) if gaps else {}
        for at, gap in gaps:
            self.report.gaps += 1
            row = rows.get(gap.id)
            if row is None:
                self.report.add(
                    Disagreement(
                        DisagreementKind.GAP_MISSING, at, f"the published {gap.describe()} is not in the database"
                    )
                )
            elif not _same_gap(row, gap):
                detail = f"the database's gap {gap.id} is not the published {gap.describe()}"
                self.report.add(Disagreement(DisagreementKind.GAP_CHANGED, at, detail))

    async def _closings(self, closings: list[tuple[int, AnnouncedGapClosed]]) -> None:
        if not closings:
            return
        ranges = {(c.source, c.first_missing, c.last_missing) for _, c in closings} | {
            (c.source, first, last) for _, c in closings for first, last in c.still_missing
        }
        rows: dict[tuple[str, int, int], list[Gap]] = {}
        for stored in await self.reads.gaps_by_range(ranges):
            rows.setdefault((stored.source, stored.range.first, stored.range.last), []).append(stored)
        for at, closing in closings:
            self.report.gap_closings += 1
            gap = rows.get((closing.source, closing.first_missing, closing.last_missing), [])
            if not any(row.closed_at is not None and row.closed_by_event_id == closing.event_id for row in gap):
                detail = f"the published {closing.describe()} is not in the database"
                self.report.add(Disagreement(DisagreementKind.GAP_CLOSING_MISSING, at, detail))
            for first, last in closing.still_missing:
                if not rows.get((closing.source, first, last)):
                    detail = (
                        f"the gap of {closing.source} (sequence {first} to {last}) left by the published"
                        f" {closing.describe()} is not in the database"
                    )
                    self.report.add(Disagreement(DisagreementKind.GAP_MISSING, at, detail))

    async def _anomalies(self, found: list[tuple[int, AnnouncedAnomaly]]) -> None:
        if not found:
            return
        rows: dict[AnnouncedAnomaly, list[int]] = {}
        for stored in await self.reads.anomalies_of({anomaly.event_id for _, anomaly in found}):
            rows.setdefault(stored.announced(), []).append(stored.id or 0)
        for at, anomaly in found:
            self.report.anomalies += 1
            free = [row_id for row_id in rows.get(anomaly, []) if row_id not in self._claimed]
            if free:
                self._claimed.add(free[0])
                continue
            detail = (
                f"the published {anomaly.kind} anomaly of event {anomaly.event_id}"
                f" ({anomaly.source} sequence {anomaly.sequence}) is not in the database"
            )
            self.report.add(Disagreement(DisagreementKind.ANOMALY_MISSING, at, detail))


async def compare_published(
    reads: IntegrityReads, published: PublishedFacts, key: VerifierKey, earlier: Sequence[VerifierKey] = ()
) -> PublishedComparison:
    """Read every published announcement once and compare each with the database."""
    comparison = _Comparison(reads, key, earlier)
    try:
        await published.each_batch(comparison.batch)
    except AnnouncementsUnavailable as exc:
        comparison.report.read = False
        comparison.report.error = str(exc)
    return comparison.report
