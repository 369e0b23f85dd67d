"""Each referral's running totals (``referral_totals``): written with the entries in the
append's transaction, grouped and counted by the database for the indicators, recomputed
from the trail by the check."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_audit.adapters.tables import indicator_months, referral_totals, trail_entries
from crocevia_audit.domain.cells import CELL_FIELDS, TIMES, Cell, sorted_times
from crocevia_audit.domain.indicators import STEPS, TrailEvent
from crocevia_audit.domain.totals import Held, Measures, Mismatch, Totals, fold
from crocevia_audit.handlers.ports import HELD_BY, Cohort, Unheld
from crocevia_common.db import SnapshotReads, upsert_in
from crocevia_common.statements import execute

t = referral_totals.c
m = indicator_months.c
STEP_COLUMNS = tuple(f"{step.replace('-', '_')}_at" for step in STEPS)
_FACTS = ("referral_id", "sender_agency", "receiver_agency", "service_id", "domain", "priority", "lifecycle")
_COUNTS = ("reason_code", "outcome", "reminders", "escalations")
_CHUNK = 400  # referral ids per IN (...) query
_ADD_TOTALS = insert(referral_totals)
# What each batch reads and writes besides, made once (run on SQLite's connection itself: see
# ``crocevia_common.statements``).
_LOAD = select(referral_totals).where(t.referral_id.in_(bindparam("ids", expanding=True)))
_DELETE = delete(referral_totals).where(t.referral_id.in_(bindparam("ids", expanding=True)))
_STREAM = 2000  # rows per fetch of a streamed read


_MEASURES = tuple(f.name for f in fields(Measures))
_TIME_COLUMNS = _MEASURES[1:]  # receive_us, decide_us, complete_us
_HELD = {"held_to": "fingerprint", "receive_due": "receive_due", "decide_due": "decide_due"}  # column: field


@functools.cache
def _raise_generations(dialect: str) -> Any:
    """One statement: a month's first changed totals make its row, later ones raise its
    generation (made once per dialect)."""
    return upsert_in(dialect, indicator_months).on_conflict_do_update(
        index_elements=["month"], set_={"generation": m.generation + 1}
    )


def totals_row(totals: Totals, held: Held | None = None) -> dict[str, Any]:
    """The row of ``totals``, with its measures and ``held``'s due times (none: the
    target is not known; the indicators count it against the directory when read)."""
    measures, held = totals.measures(), held or Held()
    return {
        **{name: getattr(totals, name) for name in (*_FACTS, *_COUNTS)},
        **dict(zip(STEP_COLUMNS, totals.steps, strict=True)),
        **{name: getattr(measures, name) for name in _MEASURES},
        **{column: getattr(held, name) for column, name in _HELD.items()},
    }


def totals_of(values: Mapping[Any, Any]) -> Totals:
    """The totals of a ``referral_totals`` row (its mapping)."""
    return Totals(
        **{name: values[name] for name in (*_FACTS, *_COUNTS)},
        steps=tuple(values[column] for column in STEP_COLUMNS),
    )


def _events_by_referral() -> Select[Any]:
    """Every entry as the indicators see it, by referral, in trail order."""
    c = trail_entries.c
    return select(*(getattr(c, name) for name in TrailEvent.__slots__)).order_by(c.referral_id, c.position)


class TotalsRows:
    """The running totals, in a unit of work's transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def load(self, referral_ids: Collection[str]) -> dict[str, Totals]:
        ordered = sorted(set(referral_ids))
        found: dict[str, Totals] = {}
        for start in range(0, len(ordered), _CHUNK):
            rows = await execute(self.session, _LOAD, {"ids": ordered[start : start + _CHUNK]})
            found.update({row["referral_id"]: totals_of(row) for row in rows.mappings()})
        return found

    async def save(self, totals: Sequence[Totals], held: Mapping[str, Held]) -> None:
        """Write these referrals' totals, replacing the rows they had, with the due times
        ``held`` gives by referral id (none for a referral it has no entry for)."""
        ids = [row.referral_id for row in totals]
        for start in range(0, len(ids), _CHUNK):
            await execute(self.session, _DELETE, {"ids": ids[start : start + _CHUNK]})
        if totals:
            rows = [totals_row(row, held.get(row.referral_id)) for row in totals]
            await execute(self.session, _ADD_TOTALS, rows)
            await self._changed({row["requested_month"] for row in rows} - {None})

    async def _changed(self, months: Collection[str]) -> None:
        """Raise the generation of ``months``, whose referrals' totals changed."""
        if months:
            statement = _raise_generations(self.session.dialect.name)
            await execute(self.session, statement, [{"month": month, "generation": 1} for month in sorted(months)])

    async def restate(self, held: Mapping[str, Held]) -> None:
        if not held:
            return
        rows = [
            {"id": referral_id, **{column: getattr(h, name) for column, name in _HELD.items()}}
            for referral_id, h in held.items()
        ]
        statement = update(referral_totals).where(t.referral_id == bindparam("id"))
        await self.session.execute(statement.values({column: bindparam(column) for column in _HELD}), rows)
        ids, months = sorted(held), set()
        for start in range(0, len(ids), _CHUNK):
            query = select(t.requested_month).where(t.referral_id.in_(ids[start : start + _CHUNK])).distinct()
            months |= set((await self.session.execute(query)).scalars())
        await self._changed(months - {None})


def _where(cohort: Cohort) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [t.requested_at.is_not(None)]
    if cohort.since:
        found.append(t.requested_at >= cohort.since)
    if cohort.until:
        found.append(t.requested_at < cohort.until)
    if cohort.party:
        found.append(or_(t.sender_agency == cohort.party, t.receiver_agency == cohort.party))
    return found


# A group's field (``indicators.group_fields``) as a column of the totals.
_GROUP_COLUMNS = {"month": t.requested_month}


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


# The counts of a group, by their name in ``indicators.Group.counts``.
_COUNTED: dict[str, ColumnElement[int]] = {
    "requested": func.count(),
    **{step: _count(getattr(t, f"{step.replace('-', '_')}_at").is_not(None)) for step in STEPS[1:-1]},
    "erasures_pending": _count(and_(t.consent_withdrawn_at.is_not(None), t.personal_data_erased_at.is_(None))),
    "reminders": func.sum(t.reminders),
    "escalations": func.sum(t.escalations),
}


# Each time's values in a cell, as the text of a list (``_values`` reads it back).
_LISTED = tuple(func.aggregate_strings(cast(getattr(t, name), String), ",") for name in TIMES)
_UNDECIDED = and_(t.accepted_at.is_(None), t.rejected_at.is_(None))
# How many came after their stored due time (none counted where none was stored).
_LATE = (
    _count(t.received_at > t.receive_due),
    _count(
        and_(
            ~_UNDECIDED,
            or_(t.accepted_at.is_(None), t.accepted_at > t.decide_due),
            or_(t.rejected_at.is_(None), t.rejected_at > t.decide_due),
        )
    ),
)
_CELL = tuple(getattr(t, name) for name in CELL_FIELDS)
_OPEN_RECEIVE = and_(t.received_at.is_(None), t.receive_due.is_not(None))
_OPEN_DECISION = and_(_UNDECIDED, t.decide_due.is_not(None))


def _values(listed: str | None) -> list[int]:
    return [int(value) for value in listed.split(",")] if listed else []


class TotalsQueries(SnapshotReads):
    """Reads of the running totals and of what they are recomputed from; each opens its own
    read session, unless made by ``reading`` (the indicators' several queries then see the
    same totals)."""

    @staticmethod
    def _group(names: Sequence[str]) -> list[ColumnElement[Any]]:
        return [_GROUP_COLUMNS[name] if name in _GROUP_COLUMNS else getattr(t, name) for name in names]

    async def cells(self, since: datetime | None, until: datetime | None) -> list[Cell]:
        """The cells of the referrals requested in ``[since, until)``: their counts and
        times in one read of their rows, each time's values as one text per cell (a window
        per time, sorting the rows in the database, took twice as long, at 1M entries on
        SQLite), and the due times still open: both read as of one moment, so that a
        referral appended meanwhile is in neither."""
        requested = _where(Cohort(since, until))
        counted = select(*_CELL, *_COUNTED.values(), *_LATE, *_LISTED).where(*requested).group_by(*_CELL)
        still_open = select(*_CELL, _OPEN_RECEIVE, t.receive_due, _OPEN_DECISION, t.decide_due).where(
            *requested, or_(_OPEN_RECEIVE, _OPEN_DECISION)
        )
        k, c = len(_CELL), len(_COUNTED)
        found: dict[tuple[Any, ...], Cell] = {}
        async with self._one_moment() as session:
            for row in await session.execute(counted):
                values = row[k:]
                found[tuple(row[:k])] = Cell(
                    tuple(row[:k]),
                    {name: int(n or 0) for name, n in zip(_COUNTED, values[:c], strict=True)},
                    int(values[c] or 0),
                    int(values[c + 1] or 0),
                    [],
                    [],
                    {name: sorted_times(_values(listed)) for name, listed in zip(TIMES, values[c + 2 :], strict=True)},
                )
            for row in await session.execute(still_open):
                cell = found[tuple(row[:k])]
                open_receive, receive_due, open_decision, decide_due = row[k:]
                if open_receive:
                    cell.receive_due.append(receive_due)
                if open_decision:
                    cell.decide_due.append(decide_due)
        for cell in found.values():
            cell.receive_due.sort()
            cell.decide_due.sort()
        return list(found.values())

    async def generations(self) -> dict[str, int]:
        """Every month a referral was requested in, with its generation."""
        async with self._session() as session:
            return {row.month: row.generation for row in await session.execute(select(indicator_months))}

    async def months_without_generation(self) -> list[str]:
        """The months referrals were requested in that ``indicator_months`` lacks (their
        referrals would be left out of the indicators asked over whole months)."""
        query = (
            select(t.requested_month)
            .where(t.requested_month.is_not(None), t.requested_month.not_in(select(m.month)))
            .distinct()
            .order_by(t.requested_month)
        )
        async with self._session() as session:
            return list((await session.execute(query)).scalars())

    async def unheld(
        self, names: Sequence[str], cohort: Cohort, held_by: tuple[str, str, str], fingerprint: str | None
    ) -> list[Unheld]:
        """The cohort's referrals held by ``held_by`` whose due times were not stored under
        the target of that ``fingerprint``."""
        group = self._group(names)
        query = select(*group, t.requested_at, t.received_at, t.accepted_at, t.rejected_at).where(
            *_where(cohort),
            *(getattr(t, name) == value for name, value in zip(HELD_BY, held_by, strict=True)),
            t.held_to.is_distinct_from(fingerprint),
        )
        async with self._session() as session:
            rows = (await session.execute(query)).all()
        return [Unheld(tuple(row[: len(group)]), *row[len(group) :]) for row in rows]

    async def held(self) -> dict[tuple[str, str, str], set[str | None]]:
        held_by = [getattr(t, name) for name in HELD_BY]
        query = select(*held_by, t.held_to).where(t.requested_at.is_not(None)).group_by(*held_by, t.held_to)
        found: dict[tuple[str, str, str], set[str | None]] = {}
        async with self.db.connect() as session:
            for row in await session.execute(query):
                found.setdefault((row[0], row[1], row[2]), set()).add(row[3])
        return found

    async def requested_unheld(
        self, held_by: tuple[str, str, str], fingerprint: str, limit: int
    ) -> list[tuple[str, datetime]]:
        query = (
            select(t.referral_id, t.requested_at)
            .where(
                t.requested_at.is_not(None),
                *(getattr(t, name) == value for name, value in zip(HELD_BY, held_by, strict=True)),
                t.held_to.is_distinct_from(fingerprint),
            )
            .order_by(t.referral_id)
            .limit(limit)
        )
        async with self.db.connect() as session:
            return [(row.referral_id, row.requested_at) for row in await session.execute(query)]

    async def cohort(self, since: datetime | None, until: datetime | None, party: str | None) -> AsyncIterator[Totals]:
        """The totals of the referrals requested in ``[since, until)`` that ``party``
        (every one with none) sends or receives, streamed."""
        query = select(referral_totals).where(*_where(Cohort(since, until, party)))
        async with self.db.connect() as session:
            result = await session.stream(query.execution_options(yield_per=_STREAM))
            async for rows in result.partitions():  # a fetch at a time, not a row at a time
                for row in rows:
                    yield totals_of(row._mapping)

    async def stored(self) -> tuple[dict[str, Totals], list[Mismatch]]:
        """Every stored row of totals, by referral id; and the rows whose measures are not
        what their totals give (``Totals.measures``)."""
        found: dict[str, Totals] = {}
        measured: list[Mismatch] = []
        async with self.db.connect() as session:
            stream = await session.stream(select(referral_totals).execution_options(yield_per=_STREAM))
            async for row in stream:
                totals = found[row.referral_id] = totals_of(row._mapping)
                should = totals.measures()
                differ = tuple(name for name in _MEASURES if getattr(row, name) != getattr(should, name))
                if differ:
                    measured.append(Mismatch(row.referral_id, differ))
        return found, measured

    async def trail_events(self) -> AsyncIterator[TrailEvent]:
        """Every entry of the trail as the indicators see it, by referral, in trail order."""
        async with self.db.connect() as session:
            result = await session.stream(_events_by_referral().execution_options(yield_per=_STREAM))
            async for rows in result.partitions():
                for row in rows:
                    yield TrailEvent(*row)


def rebuild(connection: Connection) -> int:
    """Recompute every referral's totals from the trail on ``connection`` (a migration's),
    replacing what is stored, a page of referrals at a time; return how many there are."""
    c = trail_entries.c
    connection.execute(delete(referral_totals))
    written, after = 0, ""
    while True:
        page = select(c.referral_id).where(c.referral_id > after).distinct().order_by(c.referral_id).limit(_CHUNK)
        ids = list(connection.execute(page).scalars())
        if not ids:
            return written
        events = connection.execute(_events_by_referral().where(c.referral_id.in_(ids)))
        rows = [totals_row(totals) for totals in fold(TrailEvent(*row) for row in events)]
        if rows:
            connection.execute(insert(referral_totals), rows)
        written, after = written + len(rows), ids[-1]


def count_months(connection: Connection) -> None:
    """Give every month the totals hold a referral requested in a generation, where it has
    none (``indicator_months``; a migration's ``connection``)."""
    months = select(t.requested_month, literal(1)).where(
        t.requested_month.is_not(None), t.requested_month.not_in(select(m.month))
    )
    connection.execute(insert(indicator_months).from_select(["month", "generation"], months.distinct()))
