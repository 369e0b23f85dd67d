"""The trail's stores in a unit of work's transaction: entries, checkpoints, gaps,
anomalies and the outbox. Entries and tree nodes are only ever inserted."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_audit.adapters.sequences import gap_of
from crocevia_audit.adapters.tables import (
    anomalies,
    checkpoints,
    cosignatures,
    messaging,
    sequence_gaps,
    trail_entries,
)
from crocevia_audit.domain.announcements import Anomaly
from crocevia_audit.domain.entries import NOTICE_STREAM_EVENTS, RecordedEntry
from crocevia_audit.domain.gaps import Gap
from crocevia_audit.domain.witnessing import Cosignature
from crocevia_common.messaging import outbox
from crocevia_common.messaging.intake import Parties
from crocevia_common.statements import execute
from crocevia_common.tlog.checkpoint import SignedCheckpoint

c = trail_entries.c
_ADD_ENTRIES = insert(trail_entries)
# What each batch reads, made once (run on SQLite's connection itself: see
# ``crocevia_common.statements``).
_LAST_POSITION = select(func.max(c.position).label("last"))
_PLACES = select(c.event_id, c.event, c.stream_sequence).where(c.event_id.in_(bindparam("ids", expanding=True)))
_REQUESTED = select(c.referral_id, c.sender_agency, c.receiver_agency, c.service_id).where(
    c.referral_id.in_(bindparam("ids", expanding=True)), c.event == "requested"
)


def entry_row(recorded: RecordedEntry) -> dict[str, Any]:
    return {
        **recorded.fields.as_row(),
        "stream_sequence": recorded.stream_sequence,
        "recorded_at": recorded.recorded_at,
        "entry": recorded.entry,
        "leaf_hash": recorded.leaf_hash,
    }


def signed_of(row: Mapping[Any, Any]) -> SignedCheckpoint:
    """A ``checkpoints`` row (its mapping) as the checkpoint it stores."""
    return SignedCheckpoint(int(row["size"]), bytes(row["root"]), row["note"], row["created_at"])


def anomaly_of(row: Row[Any]) -> Anomaly:
    return Anomaly(
        row.kind,
        row.event_id,
        row.source,
        row.sequence,
        row.subject,
        row.stream_sequence,
        row.payload_sha256,
        row.detail,
        row.detected_at,
        int(row.id),
    )


async def stored_size(session: AsyncConnection) -> int:
    last = (await execute(session, _LAST_POSITION, {})).scalar_one_or_none()
    return 0 if last is None else int(last) + 1


class EntryRows:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def size(self) -> int:
        return await stored_size(self.session)

    async def places(self, event_ids: Collection[str]) -> dict[str, tuple[bool, int | None]]:
        rows = (await execute(self.session, _PLACES, {"ids": sorted(set(event_ids))})).mappings()
        return {row["event_id"]: (row["event"] in NOTICE_STREAM_EVENTS, row["stream_sequence"]) for row in rows}

    async def requested_parties(self, referral_ids: Collection[str]) -> dict[str, Parties]:
        rows = (await execute(self.session, _REQUESTED, {"ids": sorted(set(referral_ids))})).mappings()
        return {r["referral_id"]: Parties(r["sender_agency"], r["receiver_agency"], r["service_id"]) for r in rows}

    async def add(self, entries: Sequence[RecordedEntry]) -> None:
        if entries:
            await execute(self.session, _ADD_ENTRIES, [entry_row(e) for e in entries])


class CheckpointRows:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def latest(self) -> SignedCheckpoint | None:
        row = (await self.session.execute(select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1))).first()
        return signed_of(row._mapping) if row else None

    async def add(self, checkpoint: SignedCheckpoint) -> None:
        await self.session.execute(
            insert(checkpoints).values(
                size=checkpoint.size, root=checkpoint.root, note=checkpoint.note, created_at=checkpoint.created_at
            )
        )


class CosignatureRows:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def add(self, cosignature: Cosignature) -> bool:
        """Keep ``cosignature`` unless one by that witness of that size is kept already."""
        t = cosignatures.c
        held = select(t.size).where(t.witness == cosignature.witness, t.size == cosignature.size)
        if (await self.session.execute(held)).first() is not None:
            return False
        row = {
            "witness": cosignature.witness,
            "size": cosignature.size,
            "line": str(cosignature.line),
            "received_at": cosignature.received_at,
        }
        await self.session.execute(insert(cosignatures).values(**row))
        return True


class GapRows:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def overdue(self, detected_by: datetime) -> list[Gap]:
        g = sequence_gaps.c
        query = (
            select(sequence_gaps)
            .where(g.closed_at.is_(None), g.raised_at.is_(None), g.detected_at <= detected_by)
            .order_by(g.id)
        )
        return [gap_of(row._mapping) for row in await self.session.execute(query)]

    async def mark_raised(self, gap: Gap, at: datetime) -> None:
        await self.session.execute(update(sequence_gaps).where(sequence_gaps.c.id == gap.id).values(raised_at=at))


class AnomalyRows:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def add(self, found: Sequence[Anomaly]) -> None:
        rows = [
            {
                "kind": a.kind,
                "event_id": a.event_id,
                "source": a.source,
                "sequence": a.sequence,
                "subject": a.subject,
                "stream_sequence": a.stream_sequence,
                "payload_sha256": a.payload_sha256,
                "detail": a.detail,
                "detected_at": a.detected_at,
            }
            for a in found
        ]
        if rows:
            await self.session.execute(insert(anomalies), rows)


class OutboxRows:
    """The shared transactional outbox: what the audit publishes on ``audit.v1.>``."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def enqueue(
        self, message_id: str, subject: str, payload: bytes, content_type: str = "application/json"
    ) -> None:
        await outbox.enqueue(self.session, messaging, subject, message_id, payload, content_type=content_type)
