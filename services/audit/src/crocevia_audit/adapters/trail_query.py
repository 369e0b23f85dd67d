"""Reading the trail: filtered, in position order, a page at a time (keyset, never OFFSET).

Every read made for a caller whose view is limited to one agency (``party``) goes through
``concerning``: the entries of referrals that agency sends or receives, and the notices
addressed to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, union_all
from sqlalchemy.engine import RowMapping

from crocevia_audit.adapters.tables import trail_entries
from crocevia_audit.domain.indicators import TrailEvent
from crocevia_common import inputs
from crocevia_common.db import Database

c = trail_entries.c
# Everything but the entry bytes: what listings and exports show.
LISTED = [col for col in trail_entries.columns if col.name != "entry"]
_CHUNK = 2000  # rows per fetch of the indicators' streamed query


def concerning(party: str) -> ColumnElement[bool]:
    """The entries an agency's own view holds: its referrals' events, notices addressed to it."""
    return or_(c.sender_agency == party, c.receiver_agency == party, c.to_agency == party)


def _not(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """``column`` is not ``value`` (also when it holds none)."""
    return or_(column.is_(None), column != value)


class CursorError(ValueError):
    """A cursor this service did not give out, or one for another order."""


@dataclass(frozen=True)
class TrailFilter:
    referral_id: str | None = None
    agency: str | None = None  # either party
    sender: str | None = None  # the pathway's from
    receiver: str | None = None  # the pathway's to
    events: tuple[str, ...] = ()
    domain: str | None = None
    priority: str | None = None
    since: datetime | None = None  # occurred_at >= since
    until: datetime | None = None  # occurred_at < until
    below: int | None = None  # position < below: the tree size an export is consistent with
    party: str | None = field(default=None)  # the agency the caller's view is limited to (``concerning``)

    def apply(self, query: Select[Any]) -> Select[Any]:
        conditions = []
        if self.referral_id:
            conditions.append(c.referral_id == self.referral_id)
        if self.party:
            conditions.append(concerning(self.party))
        if self.agency:
            conditions.append(or_(c.sender_agency == self.agency, c.receiver_agency == self.agency))
        if self.sender:
            conditions.append(c.sender_agency == self.sender)
        if self.receiver:
            conditions.append(c.receiver_agency == self.receiver)
        if self.events:
            conditions.append(c.event.in_(self.events))
        if self.domain:
            conditions.append(c.domain == self.domain)
        if self.priority:
            conditions.append(c.priority == self.priority)
        if self.since:
            conditions.append(c.occurred_at >= self.since)
        if self.until:
            conditions.append(c.occurred_at < self.until)
        if self.below is not None:
            conditions.append(c.position < self.below)
        return query.where(*conditions) if conditions else query

    def described(self) -> dict[str, Any]:
        """The filters set (``below`` aside), as an export's header names them."""
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
            if v not in (None, ()) and k != "below"
        }

    def is_whole_trail(self) -> bool:
        """True when the filter keeps every entry below ``below``."""
        return not any(
            (
                self.referral_id,
                self.agency,
                self.sender,
                self.receiver,
                self.events,
                self.domain,
                self.priority,
                self.since,
                self.until,
                self.party,
            )
        )


def encode_cursor(position: int, newest_first: bool) -> str:
    return inputs.encode_cursor({"p": position, "o": "newest" if newest_first else "oldest"})


def decode_cursor(cursor: str, newest_first: bool) -> int:
    try:
        raw = inputs.decode_cursor(cursor)
        position, order = inputs.cursor_int(raw["p"]), raw["o"]
    except (ValueError, TypeError, KeyError):
        raise CursorError("not a cursor of this trail") from None
    if order != ("newest" if newest_first else "oldest"):
        raise CursorError("the cursor belongs to a listing in the other order")
    return position


class TrailQueries:
    """Listings of the trail; each opens its own read session."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self, flt: TrailFilter, *, limit: int, newest_first: bool, cursor: str | None
    ) -> tuple[list[RowMapping], str | None]:
        """One page of entries and the cursor of the next (None at the end); CursorError
        for a cursor this listing did not give out."""
        after = decode_cursor(cursor, newest_first) if cursor is not None else None

        def listing(keep: TrailFilter, *also: ColumnElement[bool]) -> Select[Any]:
            query = keep.apply(select(*LISTED)).where(*also)
            if after is not None:
                query = query.where(c.position < after if newest_first else c.position > after)
            order = c.position.desc() if newest_first else c.position.asc()
            return query.order_by(order).limit(limit + 1)

        if flt.agency:
            # Either party: the page of the entries it sends, merged with the page of those
            # it receives from another. Each is read in position order from its own index;
            # an OR of the two would make the database sort every entry of the agency.
            others = replace(flt, agency=None)
            sends = listing(others, c.sender_agency == flt.agency).subquery()
            receives = listing(others, c.receiver_agency == flt.agency, _not(c.sender_agency, flt.agency)).subquery()
            both = union_all(select(sends), select(receives)).subquery()
            order = both.c.position.desc() if newest_first else both.c.position.asc()
            query = select(both).order_by(order).limit(limit + 1)
        else:
            query = listing(flt)
        async with self.db.connect() as session:
            rows = list((await session.execute(query)).mappings())
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (encode_cursor(rows[-1]["position"], newest_first) if more and rows else None)

    async def scan(self, flt: TrailFilter, *, page_size: int, with_entry: bool = False) -> AsyncIterator[RowMapping]:
        """Every matching entry, oldest first, reading ``page_size`` rows at a time."""
        columns = [*LISTED, c.entry] if with_entry else LISTED
        after = -1
        async with self.db.connect() as session:
            while True:
                query = flt.apply(select(*columns)).where(c.position > after).order_by(c.position).limit(page_size)
                rows = list((await session.execute(query)).mappings())
                for row in rows:
                    yield row
                if len(rows) < page_size:
                    return
                after = rows[-1]["position"]

    async def parties(self, party: str | None) -> list[str]:
        """The agencies that send or receive in ``party``'s view of the trail (all, with no party)."""
        senders, receivers = select(c.sender_agency), select(c.receiver_agency)
        if party:
            senders, receivers = senders.where(concerning(party)), receivers.where(concerning(party))
        async with self.db.connect() as session:
            return sorted(str(a) for a in (await session.execute(senders.union(receivers))).scalars())

    async def indicator_events(
        self, since: datetime | None, until: datetime | None, party: str | None
    ) -> AsyncIterator[TrailEvent]:
        """The events of referrals requested in ``[since, until)``, by referral, in trail
        order. One query, streamed (a server-side cursor on PostgreSQL), so memory holds one
        chunk of rows at a time and the cohort is selected once, not once per page."""
        cohort = select(c.referral_id).where(c.event == "requested")
        if since:
            cohort = cohort.where(c.occurred_at >= since)
        if until:
            cohort = cohort.where(c.occurred_at < until)
        if party:
            cohort = cohort.where(concerning(party))
        query = (
            select(*(getattr(c, name) for name in TrailEvent.__slots__))
            .where(c.referral_id.in_(cohort.scalar_subquery()))
            .order_by(c.referral_id, c.position)
            .execution_options(yield_per=_CHUNK)
        )
        async with self.db.connect() as session:
            async for row in await session.stream(query):
                yield TrailEvent(*row)
