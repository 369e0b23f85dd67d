"""Anomalies (a duplicate event id, a reused sequence number) are published as well as
stored, so a row removed from the database later is still on record in the stream."""

from __future__ import annotations

from collections.abc import Iterable

from crocevia_audit.domain.announcements import Anomaly, json_payload
from crocevia_audit.handlers.ports import Outbox
from crocevia_contracts import new_event_id
from crocevia_contracts.stream import AUDIT_ANOMALY_SUBJECT


async def announce_anomalies(outbox: Outbox, found: Iterable[Anomaly]) -> None:
    """Queue one ``audit.v1.anomaly`` per anomaly, in the unit of work's transaction."""
    for anomaly in found:
        await outbox.enqueue(new_event_id(), AUDIT_ANOMALY_SUBJECT, json_payload(anomaly.announced().body()))
