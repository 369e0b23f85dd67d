"""Messages between the two agencies of a referral: writing one (its files checked, encrypted
and shipped to the other agency's bucket before the message is committed with its event),
keeping those the other agency wrote with their files, and marking them read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import uuid4

from crocevia_common.auth import Principal
from crocevia_common.messaging.intake import Unprocessable
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.domain.messages import (
    AttachmentRef,
    MessageBody,
    check_attachment,
    check_received,
    check_text,
    sha256_of,
)
from crocevia_referrals.handlers.ports import AttachmentError, KeptFile, Node, Work


@dataclass(frozen=True)
class Upload:
    """A file a person attaches, as it came."""

    name: str
    content: bytes


def _kept(ref: AttachmentRef, content: bytes) -> KeptFile:
    return KeptFile(ref.id, ref.name, ref.media_type.value, ref.size, ref.sha256, content)


async def send_message(node: Node, by: Principal, referral_id: str, text: str, uploads: Sequence[Upload]) -> str:
    """Write to the other agency of a referral; the message's id. Raise NotFound, or Invalid
    (too long, a file too large or of another kind, no messages any more) and change nothing."""
    check_text(text, len(uploads))
    kinds = [check_attachment(upload.name, upload.content) for upload in uploads]
    async with node.uow.reading() as work:
        referral = await work.referrals.get(referral_id)
    if referral is None:
        raise NotFound(referral_id)
    if not referral.may_write:  # before anything is shipped
        raise Invalid("messages-closed", "no messages once consent is withdrawn or the details erased")
    await node.seals.prepare(referral.counterpart)
    refs = []
    for upload, kind in zip(uploads, kinds, strict=True):
        shipped = await node.carrier.ship(referral.counterpart, upload.content)
        size, digest = len(upload.content), sha256_of(upload.content)
        described = {"id": str(uuid4()), "name": upload.name, "media_type": kind, "size": size, "sha256": digest}
        refs.append(AttachmentRef(**described, object=shipped.object, key=shipped.key))
    body = MessageBody(text=text, attachments=tuple(refs))
    async with node.uow.transaction() as work:
        referral = await work.referrals.get(referral_id)
        if referral is None:
            raise NotFound(referral_id)
        message_id = referral.send_message(body, by=by.sub, at=node.clock())
        await work.referrals.save(referral)
        contents = [u.content for u in uploads]
        await work.messages.keep(referral_id, message_id, [_kept(r, c) for r, c in zip(refs, contents, strict=True)])
        for event in referral.outbox:
            await work.outbox.put(event)
    return message_id


async def keep_received(node: Node, work: Work, referral_id: str, message_id: str, body: MessageBody) -> list[str]:
    """Fetch, check and keep the files of a message the other agency wrote; the objects to
    discard once kept. Raise Unprocessable naming the attachment (by position) that is missing
    or not what its reference says."""
    files, objects = [], []
    for position, ref in enumerate(body.attachments, 1):
        try:
            content = await node.carrier.fetch(ref.object, ref.key)
            check_received(ref, content)
        except (AttachmentError, ValueError) as exc:
            raise Unprocessable(f"attachment {position}: {exc}") from None
        files.append(_kept(ref, content))
        objects.append(ref.object)
    await work.messages.keep(referral_id, message_id, files)
    return objects


async def mark_read(node: Node, by: Principal, referral_id: str, message_ids: Sequence[str] | None = None) -> int:
    """Mark messages of the other agency read by this agency (``None``: all of them); how
    many were unread. Raise NotFound, or Invalid for an id that is not one of theirs."""
    async with node.uow.transaction() as work:
        referral = await work.referrals.get(referral_id)
        if referral is None:
            raise NotFound(referral_id)
        theirs = [m.event_id for m in referral.messages if m.by_agency == referral.counterpart]
        if message_ids is not None and not set(message_ids) <= set(theirs):
            raise Invalid("message-not-found", "no such message of the other agency's on this referral", "message_id")
        marked = theirs if message_ids is None else message_ids
        return await work.messages.mark_read(referral_id, marked, by.sub, node.clock())
