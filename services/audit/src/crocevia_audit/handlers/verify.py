"""Checking the stored trail against what was hashed, signed and published, naming the
first entry that no longer matches and every published fact the database lost.

What the audit published on its stream AUDIT is read back first (``handlers/published.py``):
those checkpoints, gaps and anomalies are out of the database's reach. Then every signed
checkpoint the database holds is opened with the log's key (one signed by a key the log
used before is named: a change of key is never taken silently), then the trail is streamed once,
page by page, through the domain's ``first_mismatch`` (which recomputes leaf hashes,
stored nodes and checkpoint roots in O(log n) memory). On top of that each row's
queryable columns are recomputed from its entry bytes and its leaf hash compared with
the tree's leaf node, so an edit of any stored value is caught at its own index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from crocevia_audit.domain.entries import EntryFields, RecordedEntry, project
from crocevia_audit.domain.frontier import completed_names
from crocevia_audit.domain.nodes import MissingNodeError, NodeReader
from crocevia_audit.domain.tamper import Mismatch, MismatchKind, StoredLeaf, first_mismatch
from crocevia_audit.handlers.ports import IntegrityReads
from crocevia_audit.handlers.published import PublishedComparison, PublishedFacts, compare_published
from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError, open_log_checkpoint, signed_by_earlier_key
from crocevia_common.tlog.note import VerifierKey

# Every column read back from the hashed entry.
PROJECTED = tuple(name for name in EntryFields.__slots__ if name != "position")


@dataclass
class Verification:
    key: str = ""  # the log's verifier key now
    earlier_keys: list[str] = field(default_factory=list)
    entries: int = 0
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    mismatch: Mismatch | None = None
    bad_checkpoints: list[str] = field(default_factory=list)
    published: PublishedComparison | None = None  # None: not compared

    @property
    def ok(self) -> bool:
        published_ok = self.published is None or self.published.ok
        return self.mismatch is None and not self.bad_checkpoints and published_ok

    def as_dict(self) -> dict[str, Any]:
        found = self.mismatch
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints_checked": self.checkpoints,
            "latest_checkpoint_size": self.latest_checkpoint,
            "bad_checkpoints": self.bad_checkpoints,
            "first_mismatch": None
            if found is None
            else {"kind": found.kind.value, "index": found.index, "end": found.end, "detail": found.detail},
            "key": self.key,
            "earlier_keys": self.earlier_keys,
            "published": None if self.published is None else self.published.as_dict(),
        }


def _column_differs(stored: RecordedEntry) -> str | None:
    try:
        fields = project(stored.entry)
    except (ValueError, KeyError, TypeError):
        return "the entry is not a trail entry any more"
    if fields.position != stored.position:
        return f"the entry says index {fields.position}"
    for name in PROJECTED:
        if getattr(fields, name) != getattr(stored.fields, name):
            return f"column {name} differs from the hashed entry"
    return None


def _leaf_node_differs(stored: RecordedEntry, nodes: NodeReader) -> bool:
    try:
        return nodes.get(0, stored.position) != stored.leaf_hash
    except MissingNodeError:
        return True


class _Pages:
    """The stored leaves in order, read a page at a time from the event loop's thread
    (``first_mismatch`` is synchronous and runs in a worker thread); each row's columns
    and leaf node are checked on the way."""

    def __init__(self, reads: IntegrityReads, loop: asyncio.AbstractEventLoop, page_size: int) -> None:
        self.reads = reads
        self.loop = loop
        self.page_size = page_size
        self.nodes: NodeReader | None = None
        self.own: Mismatch | None = None
        self.count = 0

    def get(self, level: int, index: int) -> bytes:
        if self.nodes is None:
            raise MissingNodeError(level, index)
        return self.nodes.get(level, index)

    async def _page(self, after: int) -> tuple[list[RecordedEntry], NodeReader]:
        entries = await self.reads.entries_after(after, self.page_size)
        return entries, await self.reads.nodes(name for e in entries for name in completed_names(e.position))

    def __iter__(self) -> Iterator[StoredLeaf]:
        after = -1
        while True:
            entries, self.nodes = asyncio.run_coroutine_threadsafe(self._page(after), self.loop).result()
            for stored in entries:
                index = stored.position
                problem = _column_differs(stored)
                if problem is None and _leaf_node_differs(stored, self.nodes):
                    problem = "the entry's leaf hash differs from the tree's leaf node"
                if problem is not None:
                    self.own = Mismatch(MismatchKind.ALTERED_ENTRY, index, index + 1, f"entry {index}: {problem}")
                    return
                self.count += 1
                yield StoredLeaf(index, stored.entry, stored.leaf_hash)
            if len(entries) < self.page_size:
                return
            after = entries[-1].position


async def signed_checkpoints(
    reads: IntegrityReads, verifier: VerifierKey, report: Verification, earlier: list[VerifierKey] | None = None
) -> list[Checkpoint]:
    """Every stored checkpoint whose note verifies and agrees with its row (those signed
    by an earlier key of the log too, each named in ``report``)."""
    opened = []
    for stored in await reads.checkpoints():
        try:
            checkpoint, signer = open_log_checkpoint(stored.note, verifier, earlier or [])
        except CheckpointError as exc:
            report.bad_checkpoints.append(f"checkpoint of size {stored.size}: {exc.reason}")
            continue
        if checkpoint.size != stored.size or checkpoint.root != stored.root:
            report.bad_checkpoints.append(f"checkpoint of size {stored.size}: its row differs from its signed note")
            continue
        if signer != verifier:
            report.bad_checkpoints.append(
                f"checkpoint of size {stored.size}: {signed_by_earlier_key(signer, verifier)}"
            )
        opened.append(checkpoint)
    return opened


async def verify_trail(
    reads: IntegrityReads, verifier: VerifierKey, page_size: int = 1000, *, published: PublishedFacts | None = None
) -> Verification:
    """Recompute the whole stored trail; report the first divergence, if any, and (given
    the ``published`` stream) every published fact the database no longer agrees with."""
    earlier = await reads.earlier_keys(verifier.name, verifier.public_key)
    report = Verification(key=str(verifier), earlier_keys=[str(key) for key in earlier])
    if published is not None:
        # First: everything read there was committed before it was published.
        report.published = await compare_published(reads, published, verifier, earlier)
    signed = await signed_checkpoints(reads, verifier, report, earlier)
    report.checkpoints = len(signed)
    report.latest_checkpoint = max((cp.size for cp in signed), default=None)
    pages = _Pages(reads, asyncio.get_running_loop(), page_size)
    found = await asyncio.to_thread(first_mismatch, pages, signed, pages)
    report.entries = pages.count
    report.mismatch = pages.own or found
    if report.published is not None and report.mismatch is None:
        report.published.check_trail_length(report.entries)
    return report
