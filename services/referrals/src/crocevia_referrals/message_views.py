"""What the message routes and pages read: a referral's thread (each message with its files
and, for those of the other agency, when this agency read it), and one file."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from crocevia_referrals.adapters.messages import FileInfo
from crocevia_referrals.views import Reads


class MessageQueries(Protocol):
    async def files(self, referral_id: str) -> list[FileInfo]: ...

    async def content(self, referral_id: str, attachment_id: str) -> tuple[FileInfo, bytes] | None: ...

    async def read_at(self, referral_id: str) -> dict[str, datetime]: ...


class AttachmentItem(BaseModel):
    id: str
    name: str
    media_type: str
    size: int
    sha256: str


class MessageItem(BaseModel):
    id: str
    by_agency: str
    by_user: str | None
    at: datetime
    text: str | None  # None once the personal details are erased
    ours: bool
    read_at: datetime | None  # of the other agency's: when this agency read it
    attachments: list[AttachmentItem]


class Thread(BaseModel):
    referral_id: str
    messages: list[MessageItem]
    unread: int
    may_write: bool


async def thread(reads: Reads, queries: MessageQueries, referral_id: str) -> Thread | None:
    """The messages of a referral, oldest first; None when there is no such referral here."""
    found = await reads.queries.one(referral_id)
    if found is None:
        return None
    files = await queries.files(referral_id)
    read = await queries.read_at(referral_id)
    items = []
    for entry in found.messages:
        ours = entry.by_agency == reads.agency_id
        attached = [AttachmentItem(**vars(f)) for f in files if f.message_id == entry.event_id]
        items.append(
            MessageItem(
                id=entry.event_id,
                by_agency=entry.by_agency,
                by_user=entry.by_user,
                at=entry.at,
                text=entry.note,
                ours=ours,
                read_at=None if ours else read.get(entry.event_id),
                attachments=attached,
            )
        )
    unread = sum(1 for m in items if not m.ours and m.read_at is None)
    return Thread(referral_id=referral_id, messages=items, unread=unread, may_write=found.may_write)


async def attachment(queries: MessageQueries, referral_id: str, attachment_id: str) -> tuple[FileInfo, bytes] | None:
    """One file of a referral's messages, with its description."""
    return await queries.content(referral_id, attachment_id)
