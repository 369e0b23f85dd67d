"""The messages' files and read state at rest (their text is the history's note)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database
from crocevia_referrals.adapters.tables import message_attachments, message_reads
from crocevia_referrals.handlers.ports import KeptFile


@dataclass(frozen=True)
class FileInfo:
    """An attachment kept here, described (its bytes apart)."""

    id: str
    message_id: str
    name: str
    media_type: str
    size: int
    sha256: str


class SqlMessages:
    """The messages' files and read state, in one transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def keep(self, referral_id: str, message_id: str, files: Sequence[KeptFile]) -> None:
        for position, f in enumerate(files, 1):
            await self.session.execute(
                insert(message_attachments).values(
                    id=f.id,
                    referral_id=referral_id,
                    message_id=message_id,
                    position=position,
                    name=f.name,
                    media_type=f.media_type,
                    size=f.size,
                    sha256=f.sha256,
                    content=f.content,
                )
            )

    async def mark_read(self, referral_id: str, message_ids: Sequence[str], by: str, at: datetime) -> int:
        c = message_reads.c
        found = select(c.message_id).where(c.referral_id == referral_id, c.message_id.in_(set(message_ids)))
        done = set((await self.session.execute(found)).scalars())
        unread = sorted(set(message_ids) - done)
        for message_id in unread:
            values = {"message_id": message_id, "referral_id": referral_id, "read_by": by, "read_at": at}
            await self.session.execute(insert(message_reads).values(**values))
        return len(unread)


class SqlMessageReads:
    """What the message views read: the files' descriptions, one file, the read state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def files(self, referral_id: str) -> list[FileInfo]:
        c = message_attachments.c
        query = (
            select(c.id, c.message_id, c.name, c.media_type, c.size, c.sha256)
            .where(c.referral_id == referral_id)
            .order_by(c.message_id, c.position)
        )
        async with self.db.connect() as session:
            return [FileInfo(**row) for row in (await session.execute(query)).mappings()]

    async def content(self, referral_id: str, attachment_id: str) -> tuple[FileInfo, bytes] | None:
        c = message_attachments.c
        query = select(message_attachments).where(c.referral_id == referral_id, c.id == attachment_id)
        async with self.db.connect() as session:
            row = (await session.execute(query)).mappings().first()
        if row is None:
            return None
        info = FileInfo(row["id"], row["message_id"], row["name"], row["media_type"], row["size"], row["sha256"])
        return info, bytes(row["content"])

    async def read_at(self, referral_id: str) -> dict[str, datetime]:
        c = message_reads.c
        async with self.db.connect() as session:
            found = await session.execute(select(c.message_id, c.read_at).where(c.referral_id == referral_id))
            return {row.message_id: row.read_at for row in found}
