"""What the node's access log routes and pages read: a page of the log, and its chain
checked against the last anchor published in the trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from crocevia_referrals.adapters.access_log import AccessFilter
from crocevia_referrals.adapters.queries import ListFilter
from crocevia_referrals.domain.access_log import AccessEntry, Head, verify
from crocevia_referrals.message_views import MessageQueries, Thread, thread
from crocevia_referrals.view_models import ReferralView
from crocevia_referrals.views import Reads, referral, referrals

# At most this many referrals in one person's export (a person has a handful).
MAX_REFERRALS = 1000


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


class SubjectAccess(BaseModel):
    """Everything this node holds about one person, for their access request (GDPR Art. 15):
    their referrals with every event and note, the messages about them (each file's name, type
    and size), and every read of their details."""

    agency: str
    generated_at: datetime
    referrals: list[ReferralView]
    messages: list[Thread]
    access_log: list[AccessEntry]


async def subject_access(
    reads: Reads,
    queries: AccessQueries,
    messages: MessageQueries,
    words: list[str],
    now: datetime,
    limit: int = MAX_REFERRALS,
) -> SubjectAccess:
    """The referrals whose person matches every one of ``words`` (open and closed, sent and
    received; an erased one no longer matches), each whole, and the access log about them."""
    flt = ListFilter(person_words=words, include_closed=True)
    found: list[ReferralView] = []
    cursor: str | None = None
    while len(found) < limit:
        page = await referrals(reads, flt, min(200, limit - len(found)), cursor, now)
        for item in page.items:
            whole = await referral(reads, item.id)
            if whole is not None:
                found.append(whole)
        cursor = page.next_cursor
        if cursor is None:
            break
    log: list[AccessEntry] = []
    for item in found:
        cursor = None
        while True:
            entries, cursor = await queries.page(AccessFilter(referral_id=item.id), 500, cursor)
            log += entries
            if cursor is None:
                break
    threads = [t for t in [await thread(reads, messages, item.id) for item in found] if t and t.messages]
    return SubjectAccess(agency=reads.agency_id, generated_at=now, referrals=found, messages=threads, access_log=log)
