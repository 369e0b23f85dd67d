"""The access log: every read of a referral's personal part, by whom, when, why, through
what, hash-chained so that an entry edited, removed or inserted afterwards shows.

Entry ``n`` (from 1) holds ``prev_sha256``, the ``entry_sha256`` of entry ``n - 1`` (64 zeros
for the first), and its own ``entry_sha256``: the SHA-256 of the canonical JSON (keys sorted,
no whitespace, UTF-8) of its fields and ``prev_sha256``. The head (count and last hash) is
anchored in the trail now and then; the log must still reach every anchor it published.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

GENESIS = "0" * 64


class Purpose(StrEnum):
    """Why a person's details were read."""

    CARE = "care"  # the work of the referral
    AUDIT = "audit"  # a supervisor's or the data protection officer's check
    OWN_REQUEST = "own-request"  # the person's own request (access, rectification, erasure)


class Channel(StrEnum):
    """Through what the details were read."""

    API = "api"
    PAGE = "page"
    EXPORT = "export"
    PRINT = "print"


@dataclass(frozen=True, slots=True)
class Access:
    """One read, before it takes its place in the chain."""

    referral_id: str
    staff: str
    purpose: Purpose
    channel: Channel
    at: datetime


@dataclass(frozen=True, slots=True)
class AccessEntry:
    position: int
    referral_id: str
    staff: str
    purpose: str
    channel: str
    at: datetime
    prev_sha256: str
    entry_sha256: str


@dataclass(frozen=True, slots=True)
class Head:
    """How many entries the log holds, and the hash of the last one."""

    entries: int
    head_sha256: str


EMPTY = Head(0, GENESIS)


def entry_hash(position: int, access: Access, prev_sha256: str) -> str:
    """The SHA-256 an entry at ``position`` after ``prev_sha256`` must hold."""
    fields = {
        "at": access.at.isoformat(),
        "channel": access.channel.value,
        "position": position,
        "prev_sha256": prev_sha256,
        "purpose": access.purpose.value,
        "referral_id": access.referral_id,
        "staff": access.staff,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain(head: Head, access: Access) -> AccessEntry:
    """The entry ``access`` makes after ``head``."""
    position = head.entries + 1
    return AccessEntry(
        position=position,
        referral_id=access.referral_id,
        staff=access.staff,
        purpose=access.purpose.value,
        channel=access.channel.value,
        at=access.at,
        prev_sha256=head.head_sha256,
        entry_sha256=entry_hash(position, access, head.head_sha256),
    )


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What recomputing the chain found: ``broken_at`` is the first entry that does not
    hold (None when all do); ``anchor`` the last anchor published, which the log must reach."""

    head: Head
    broken_at: int | None
    reason: str | None
    anchor: Head | None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _recomputed(entry: AccessEntry) -> str:
    try:
        access = Access(entry.referral_id, entry.staff, Purpose(entry.purpose), Channel(entry.channel), entry.at)
    except ValueError:
        return ""  # a purpose or channel no code writes: the entry was edited
    return entry_hash(entry.position, access, entry.prev_sha256)


def verify(entries: Iterable[AccessEntry], anchor: Head | None) -> ChainCheck:
    """Recompute the chain over ``entries`` (in position order) and hold it to ``anchor``."""
    head = EMPTY
    at_anchor: str | None = None  # the hash of the entry the anchor names, as recomputed
    for entry in entries:
        expected = head.entries + 1
        if entry.position != expected:
            return ChainCheck(head, expected, f"entry {expected} is missing", anchor)
        if entry.prev_sha256 != head.head_sha256:
            return ChainCheck(head, expected, f"entry {expected} does not follow entry {expected - 1}", anchor)
        if _recomputed(entry) != entry.entry_sha256:
            return ChainCheck(head, expected, f"entry {expected} was changed after it was written", anchor)
        head = Head(entry.position, entry.entry_sha256)
        if anchor is not None and entry.position == anchor.entries:
            at_anchor = entry.entry_sha256
    if anchor is not None and anchor.entries > 0:
        if anchor.entries > head.entries:
            reason = f"the log holds {head.entries} entries; {anchor.entries} were anchored"
            return ChainCheck(head, head.entries + 1, reason, anchor)
        if at_anchor != anchor.head_sha256:
            reason = f"entry {anchor.entries} is not the one anchored"
            return ChainCheck(head, anchor.entries, reason, anchor)
    return ChainCheck(head, None, None, anchor)
