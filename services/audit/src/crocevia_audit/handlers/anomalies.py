"""Anomalies (a duplicate event id, a reused sequence number) are published as well as
stored, so a row removed from the database later is still on record in the stream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.publishing import ANOMALY_SUBJECT, enqueue, json_payload
from crocevia_audit.domain.announcements import AnnouncedAnomaly
from crocevia_contracts import new_event_id


async def announce_anomalies(session: AsyncSession, rows: Iterable[Mapping[Any, Any]]) -> None:
    """Queue one ``audit.v1.anomaly`` per ``trail_anomalies`` row, in the caller's transaction."""
    for row in rows:
        body = AnnouncedAnomaly.of_row(row).body()
        await enqueue(session, new_event_id(), ANOMALY_SUBJECT, json_payload(body))
