"""Loading and saving a ``Referral`` with its history, in the node's own tables, and finding
the closed ones that still hold personal details."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.statements import execute
from crocevia_contracts import EventName, LegalBasis, Priority
from crocevia_contracts.events import PathwayRef
from crocevia_contracts.lifecycle import OPEN, Side, Status
from crocevia_referrals.adapters.tables import history, message_attachments, referrals
from crocevia_referrals.domain.caseload import person_key, person_key_start
from crocevia_referrals.domain.events import Erasure, HistoryEntry
from crocevia_referrals.domain.personal import PersonalPart
from crocevia_referrals.domain.referral import DIRECTIONS, Referral
from crocevia_referrals.domain.retention import CLOSED

SIDES = {direction: side for side, direction in DIRECTIONS.items()}


def _requested_at() -> ColumnElement[Any]:
    """When each referral was requested: its ``requested`` event's time, from its history."""
    h = history.c
    query = select(h.at).where(h.referral_id == referrals.c.id, h.event == EventName.REQUESTED.value).limit(1)
    return query.scalar_subquery().label("requested_at")


def _redirected() -> ColumnElement[Any]:
    """Whether each referral was sent again: another referral of this node follows it."""
    later = referrals.alias("later")
    return exists().where(later.c.previous_referral_id == referrals.c.id).label("redirected")


# Built once: statements are immutable, and building an alias of the table (with a proxy of
# each column) at every read cost more than the read's own SQL.
_REDIRECTED = _redirected()
_READS = select(referrals, _requested_at(), _REDIRECTED)


def redirected() -> ColumnElement[Any]:
    return _REDIRECTED


def reads() -> Any:
    """A referral's row with what ``referral_of`` needs besides its columns."""
    return _READS


def referral_of(row: Mapping[Any, Any], entries: list[HistoryEntry] | None = None) -> Referral:
    """The referral of a ``referrals`` row read with ``reads()``."""
    questions = {Side.SENDER: row["question_to_sender_at"], Side.RECEIVER: row["question_to_receiver_at"]}
    return Referral(
        id=row["id"],
        side=SIDES[row["direction"]],
        sender_agency=row["sender_agency"],
        receiver_agency=row["receiver_agency"],
        service_id=row["service_id"],
        domain=row["domain"],
        priority=Priority(row["priority"]),
        status=Status(row["status"]),
        legal_basis=LegalBasis.model_validate(row["legal_basis"]),
        personal=PersonalPart.model_validate(row["personal"]) if row["personal"] is not None else None,
        requested_at=row["requested_at"] or row["created_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        previous_referral_id=row["previous_referral_id"],
        pathway=PathwayRef(id=row["pathway_id"], lead_agency=row["pathway_lead"]) if row["pathway_id"] else None,
        erasure=Erasure(row["erased_at"], row["erasure_reason"]) if row["erased_at"] else None,
        consent_withdrawn_at=row["consent_withdrawn_at"],
        our_step=row["our_step"],
        their_step=row["their_step"],
        assignee=row["assignee"],
        history=entries or [],
        questions={side: at for side, at in questions.items() if at is not None},
        redirected=bool(row["redirected"]),
        closed_at=row["closed_at"],
    )


def _entry(row: Mapping[Any, Any]) -> HistoryEntry:
    return HistoryEntry(
        event_id=row["event_id"],
        event=row["event"],
        by_agency=row["by_agency"],
        status=row["status"],
        at=row["at"],
        by_user=row["by_user"],
        details=row["details"],
        note=row["note"],
        stored=True,
    )


def _state(referral: Referral) -> dict[str, Any]:
    """The columns that change over a referral's life."""
    return {
        "status": referral.status.value,
        "personal": referral.personal.model_dump(mode="json") if referral.personal else None,
        "person_search": person_key(referral.personal),
        "person_names": person_key_start(referral.personal.person) if referral.personal else None,
        "erased_at": referral.erasure.at if referral.erasure else None,
        "erasure_reason": referral.erasure.reason if referral.erasure else None,
        "consent_withdrawn_at": referral.consent_withdrawn_at,
        "our_step": referral.our_step,
        "their_step": referral.their_step,
        "updated_at": referral.updated_at,
        "question_to_sender_at": referral.questions.get(Side.SENDER),
        "question_to_receiver_at": referral.questions.get(Side.RECEIVER),
        "closed_at": referral.closed_at,
    }


_INSERT = insert(referrals)
_READ = reads().where(referrals.c.id.in_(bindparam("ids", expanding=True))).order_by(referrals.c.id)
# PostgreSQL: two steps on one referral are decided one after the other, the rows locked in
# one order (SQLite writers queue on the database's write lock instead).
_LOCKING_READ = _READ.with_for_update(of=referrals)
_HISTORIES = (
    select(history)
    .where(history.c.referral_id.in_(bindparam("ids", expanding=True)))
    .order_by(history.c.referral_id, history.c.position)
)
# The columns of ``_state`` are set from the parameters' names; the row is the ``referral``'s.
_UPDATE_STATE = update(referrals).where(referrals.c.id == bindparam("referral"))
_RECORD = insert(history)
# Open referrals sent to a service for a person of these folded names.
_OPEN_SENT = reads().where(
    referrals.c.receiver_agency == bindparam("to_agency"),
    referrals.c.service_id == bindparam("service_id"),
    referrals.c.person_names == bindparam("names"),
    referrals.c.direction == DIRECTIONS[Side.SENDER],
    referrals.c.status.in_(sorted(s.value for s in OPEN)),
)


class SqlReferrals:
    """The referrals of one transaction (``locking``: rows read are locked until it ends)."""

    def __init__(self, session: AsyncConnection, locking: bool) -> None:
        self.session = session
        self.locking = locking
        # Read ahead and not handed out yet: each is handed out once, so a second ``get`` of
        # a referral reads what the first one's ``save`` wrote.
        self._ahead: dict[str, Referral | None] = {}

    async def get(self, referral_id: str) -> Referral | None:
        if referral_id not in self._ahead:
            await self.read_ahead([referral_id])
        return self._ahead.pop(referral_id)

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        """Read these referrals with their histories, two statements for any number, for
        the next ``get`` of each in this transaction."""
        wanted = sorted(set(referral_ids) - self._ahead.keys())
        if not wanted:
            return
        query = _LOCKING_READ if self.locking else _READ
        found = {row["id"]: row for row in (await execute(self.session, query, {"ids": wanted})).mappings()}
        entries: dict[str, list[HistoryEntry]] = {referral_id: [] for referral_id in found}
        if found:
            for entry in (await execute(self.session, _HISTORIES, {"ids": list(found)})).mappings():
                entries[entry["referral_id"]].append(_entry(entry))
        for referral_id in wanted:
            row = found.get(referral_id)
            self._ahead[referral_id] = referral_of(row, entries[referral_id]) if row is not None else None

    def _changed(self, referral: Referral) -> None:
        """What was read ahead of this referral, or of the one it follows (whether that was
        sent again), no longer holds."""
        self._ahead.pop(referral.id, None)
        if referral.previous_referral_id is not None:
            self._ahead.pop(referral.previous_referral_id, None)

    async def open_sent(self, to_agency: str, service_id: str, names: str) -> list[Referral]:
        """The open referrals this agency sent to ``to_agency``'s ``service_id`` for a
        person whose folded names are ``names``, without history."""
        found = await execute(
            self.session, _OPEN_SENT, {"to_agency": to_agency, "service_id": service_id, "names": names}
        )
        return [referral_of(row) for row in found.mappings()]

    async def add(self, referral: Referral) -> None:
        self._changed(referral)
        row = {
            "id": referral.id,
            "direction": referral.direction,
            "sender_agency": referral.sender_agency,
            "receiver_agency": referral.receiver_agency,
            "service_id": referral.service_id,
            "domain": referral.domain,
            "priority": referral.priority.value,
            "legal_basis": referral.legal_basis.model_dump(mode="json", exclude_none=True),
            "previous_referral_id": referral.previous_referral_id,
            "pathway_id": referral.pathway.id if referral.pathway else None,
            "pathway_lead": referral.pathway.lead_agency if referral.pathway else None,
            "created_by": referral.created_by,
            "created_at": referral.created_at,
            **_state(referral),
        }
        await execute(self.session, _INSERT, row)  # values as parameters: one statement, compiled once
        await self._record(referral)

    async def save(self, referral: Referral) -> None:
        self._changed(referral)
        await execute(self.session, _UPDATE_STATE, {"referral": referral.id, **_state(referral)})
        if referral.notes_erased:  # the notes and messages, and the messages' files
            await self.session.execute(update(history).where(history.c.referral_id == referral.id).values(note=None))
            files = message_attachments.c.referral_id == referral.id
            await self.session.execute(delete(message_attachments).where(files))
        await self._record(referral)

    async def closed_before(self, cutoff: datetime, limit: int) -> list[str]:
        c = referrals.c
        query = (
            select(c.id)
            .where(c.status.in_([s.value for s in CLOSED]), c.erased_at.is_(None), c.updated_at <= cutoff)
            .order_by(c.updated_at, c.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def _record(self, referral: Referral) -> None:
        """Insert the history entries not stored yet, in their order, in one statement."""
        new = [entry for entry in referral.history if not entry.stored]
        if not new:
            return
        rows = [
            {
                "referral_id": referral.id,
                "event_id": entry.event_id,
                "event": entry.event,
                "by_agency": entry.by_agency,
                "by_user": entry.by_user,
                "status": entry.status,
                "at": entry.at,
                "details": entry.details,
                "note": entry.note,
            }
            for entry in new
        ]
        await execute(self.session, _RECORD, rows)
        for entry in new:
            entry.stored = True
