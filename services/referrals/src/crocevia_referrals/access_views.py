"""What the node's access log routes and pages read: a page of the log, and its chain
checked against the last anchor published in the trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from pydantic import BaseModel, Field

from crocevia_referrals.adapters.access_log import AccessFilter
from crocevia_referrals.domain.access_log import AccessEntry, Head, verify


class AccessLogPage(BaseModel):
    items: list[AccessEntry]
    next_cursor: str | None


class AccessLogCheck(BaseModel):
    ok: bool
    head: Head
    anchored: Head | None = Field(description="the last head this node published in the trail")
    broken_at: int | None = Field(description="the first entry that does not hold")
    reason: str | None


class AccessQueries(Protocol):
    async def page(self, flt: AccessFilter, limit: int, cursor: str | None) -> tuple[list[AccessEntry], str | None]: ...

    def chain(self) -> AsyncIterator[AccessEntry]: ...

    async def last_anchor(self) -> Head | None: ...


async def access_log(queries: AccessQueries, flt: AccessFilter, limit: int, cursor: str | None) -> AccessLogPage:
    """Reads of personal details, newest first; raise InvalidCursor for a cursor not ours."""
    entries, next_cursor = await queries.page(flt, limit, cursor)
    return AccessLogPage(items=entries, next_cursor=next_cursor)


async def check_access_log(queries: AccessQueries) -> AccessLogCheck:
    """The chain recomputed from its first entry, and held to the last anchor published."""
    anchor = await queries.last_anchor()
    found = verify([e async for e in queries.chain()], anchor)
    return AccessLogCheck(
        ok=found.ok,
        head=found.head,
        anchored=anchor,
        broken_at=found.broken_at,
        reason=found.reason,
    )
