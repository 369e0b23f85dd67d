"""Messages between the two agencies of a referral: what one may say (text of bounded length,
a few attachments of the kinds a case file holds, each within its size), what the sealed part
of a ``message-sent`` carries, and the kind of a file judged by its first bytes, never its name."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crocevia_contracts.envelope import describe
from crocevia_referrals.domain.errors import Invalid

MAX_TEXT = 5000  # characters of one message
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_NAME = 200


class MediaType(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"


_SIGNATURES: tuple[tuple[bytes, MediaType], ...] = (
    (b"%PDF-", MediaType.PDF),
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"\xff\xd8\xff", MediaType.JPEG),
)


def sniff(content: bytes) -> MediaType | None:
    """The kind of a file by its first bytes; None when it is none of those accepted."""
    return next((kind for magic, kind in _SIGNATURES if content.startswith(magic)), None)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class AttachmentRef(BaseModel):
    """An attachment as the sealed part names it: what the file is, where it waits encrypted
    (``object`` in the receiver's bucket) and the key that opens it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    media_type: MediaType
    size: int = Field(ge=1, le=MAX_ATTACHMENT_BYTES)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the file's plain bytes")
    object: str = Field(pattern=r"^[A-Za-z0-9._-]{1,120}$", description="the object's name in the bucket")
    key: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$", description="base64 of the secretbox key")


class MessageBody(BaseModel):
    """What the sealed part of a ``message-sent`` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(max_length=MAX_TEXT)
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=MAX_ATTACHMENTS)


def read_message(plaintext: bytes | None) -> MessageBody:
    """The message a ``message-sent`` carried, opened; raise ValueError naming what is wrong
    (fields, never values)."""
    if plaintext is None:
        raise ValueError("a message-sent event must carry the sealed message")
    try:
        return MessageBody.model_validate(json.loads(plaintext))
    except ValidationError as exc:
        raise ValueError(describe(exc, "message")) from None
    except ValueError:
        raise ValueError("the message is not JSON") from None


def check_text(text: str, attachments: int = 0) -> str:
    """The text of a message to send, once within its limits; raise Invalid otherwise."""
    if len(text) > MAX_TEXT:
        raise Invalid("message-too-long", f"a message holds at most {MAX_TEXT} characters", "text")
    if not text.strip() and attachments == 0:
        raise Invalid("message-empty", "write something or attach a file", "text")
    if attachments > MAX_ATTACHMENTS:
        raise Invalid("too-many-attachments", f"a message carries at most {MAX_ATTACHMENTS} files", "files")
    return text


def check_attachment(name: str, content: bytes) -> MediaType:
    """The kind of a file to attach, judged by its bytes; raise Invalid when it is too large,
    empty, or not a PDF, PNG or JPEG whatever its name says."""
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Invalid("attachment-too-large", f"a file may hold at most {MAX_ATTACHMENT_BYTES} bytes", "files")
    kind = sniff(content)
    if kind is None:
        raise Invalid("attachment-type", "attach a PDF, PNG or JPEG file (judged by its content)", "files")
    if not name or len(name) > MAX_NAME:
        raise Invalid("attachment-name", f"a file's name holds 1 to {MAX_NAME} characters", "files")
    return kind


def check_received(ref: AttachmentRef, content: bytes) -> None:
    """Raise ValueError unless ``content`` is the file ``ref`` describes: its size, its SHA-256
    and its kind judged again by its bytes."""
    if len(content) != ref.size:
        raise ValueError("its size is not the reference's")
    if sha256_of(content) != ref.sha256:
        raise ValueError("its SHA-256 is not the reference's")
    if sniff(content) is not ref.media_type:
        raise ValueError("its bytes are not of the reference's media type")
