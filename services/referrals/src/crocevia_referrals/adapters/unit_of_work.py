"""The node's unit of work: one database transaction, and the referrals, idempotency keys,
outbox, inbox and access log inside it. The outbox relay is handed the events once they are
committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database
from crocevia_common.messaging.intake import Claims
from crocevia_common.messaging.outbox import OutboxRelay, Queued, enqueue, next_sequence
from crocevia_common.statements import execute
from crocevia_common.telemetry import current_traceparent
from crocevia_contracts import Envelope, referral_subject
from crocevia_contracts.anchors import AccessLogAnchored, AnchorEnvelope, anchor_subject
from crocevia_contracts.caseload import CaseloadEnvelope, ReferralAssigned, caseload_source, caseload_subject
from crocevia_contracts.sealing import SIGNATURE_HEADER, sign_event
from crocevia_referrals.adapters.access_log import SqlAccessLog
from crocevia_referrals.adapters.caseload import SqlAssignments
from crocevia_referrals.adapters.messages import SqlMessages
from crocevia_referrals.adapters.repository import SqlReferrals
from crocevia_referrals.adapters.sealing import NodeSeals
from crocevia_referrals.adapters.tables import idempotency_keys, messaging
from crocevia_referrals.domain.events import Outgoing
from crocevia_referrals.handlers.ports import KeyTaken, Remembered

CONSUMER = "referrals"


# Made once, the key and the row as parameters.
_FIND_KEY = select(idempotency_keys.c.request_sha256, idempotency_keys.c.referral_id).where(
    idempotency_keys.c.key == bindparam("key")
)
_REMEMBER_KEY = insert(idempotency_keys)


class SqlRequests:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def find(self, key: str) -> Remembered | None:
        rows = (await execute(self.session, _FIND_KEY, {"key": key})).mappings()
        return Remembered(rows[0]["request_sha256"], rows[0]["referral_id"]) if rows else None

    async def remember(self, key: str, request_sha256: str, referral_id: str) -> None:
        values = {"key": key, "request_sha256": request_sha256, "referral_id": referral_id}
        try:
            await execute(self.session, _REMEMBER_KEY, {**values, "created_at": datetime.now(UTC)})
        except IntegrityError:
            raise KeyTaken from None  # the transaction rolls back


class SqlOutbox:
    """Events put here are numbered in this node's gapless sequence, signed, and stored with
    the transaction's other changes."""

    def __init__(self, session: AsyncConnection, agency_id: str, seals: NodeSeals) -> None:
        self.session = session
        self.agency_id = agency_id
        self.seals = seals
        self.queued: list[Queued] = []  # handed to the relay once the transaction has committed

    async def announce(self, anchor: AccessLogAnchored, at: datetime) -> str:
        sequence = await next_sequence(self.session, messaging, self.agency_id)
        envelope = AnchorEnvelope.build(data=anchor, sequence=sequence, time=at, traceparent=current_traceparent())
        await self._enqueue(anchor_subject(self.agency_id), envelope.id, envelope.to_json())
        return envelope.id

    async def tell_caseload(self, assigned: ReferralAssigned, at: datetime) -> None:
        source = caseload_source(self.agency_id)
        sequence = await next_sequence(self.session, messaging, source)
        envelope = CaseloadEnvelope.build(data=assigned, sequence=sequence, time=at, traceparent=current_traceparent())
        await self._enqueue(caseload_subject(self.agency_id), envelope.id, envelope.to_json())

    async def _enqueue(self, subject: str, event_id: str, payload: bytes) -> None:
        signature = {SIGNATURE_HEADER: sign_event(self.seals.keys, payload)}
        self.queued.append(await enqueue(self.session, messaging, subject, event_id, payload, signature))

    async def put(self, event: Outgoing) -> None:
        sealed = self.seals.seal(event)
        data = event.data.model_copy(update={"sealed": sealed}) if sealed else event.data
        sequence = await next_sequence(self.session, messaging, self.agency_id)
        envelope = Envelope.build(
            source_agency=self.agency_id,
            sequence=sequence,
            data=data,
            traceparent=current_traceparent(),
            event_id=event.event_id,
        )
        payload = envelope.to_json()
        await self._enqueue(referral_subject(self.agency_id, event.to_agency, envelope.name), envelope.id, payload)


class SqlWork:
    def __init__(self, session: AsyncConnection, agency_id: str, seals: NodeSeals, locking: bool) -> None:
        self.referrals = SqlReferrals(session, locking)
        self.requests = SqlRequests(session)
        self.outbox = SqlOutbox(session, agency_id, seals)
        self.inbox = Claims(session, messaging, CONSUMER)
        self.access_log = SqlAccessLog(session)
        self.assignments = SqlAssignments(session)
        self.messages = SqlMessages(session)


class SqlUnitOfWork:
    def __init__(self, db: Database, agency_id: str, seals: NodeSeals, relay: OutboxRelay) -> None:
        self.db = db
        self.agency_id = agency_id
        self.seals = seals
        self.relay = relay

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlWork]:
        async with self.db.transaction() as session:
            work = SqlWork(session, self.agency_id, self.seals, locking=True)
            yield work
        if work.outbox.queued:
            self.relay.wake(work.outbox.queued)

    @asynccontextmanager
    async def reading(self, *, short: bool = False, one_read: bool = False) -> AsyncIterator[SqlWork]:
        async with self.db.one_read() if one_read else self.db.snapshot(short=short) as session:
            yield SqlWork(session, self.agency_id, self.seals, locking=False)

    async def compact(self) -> None:
        if self.db.is_sqlite:  # erased pages move from the log into the file, overwritten there
            async with self.db.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
