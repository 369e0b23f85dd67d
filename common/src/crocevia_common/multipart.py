"""``multipart/form-data`` bodies (RFC 7578) read with the standard library's MIME parser:
named fields and files, bounded in number; the body's size is ``BodyLimit``'s to bound."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP


class MultipartError(ValueError):
    """A body that is not the form it claims to be; ``str()`` says why, never its content."""


@dataclass(frozen=True)
class Part:
    """One field of a form: a file when it has a ``filename``."""

    name: str
    filename: str | None
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "multipart/form-data"


def parse_form_data(content_type: str, body: bytes, max_parts: int) -> list[Part]:
    """The fields of a ``multipart/form-data`` body, in order; raise MultipartError when it is
    not one or holds more than ``max_parts`` fields."""
    if not is_multipart(content_type) or "boundary=" not in content_type:
        raise MultipartError("not multipart/form-data with a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise MultipartError("the body holds no parts")
    parts = []
    for item in message.iter_parts():
        parts.append(_part(item))
        if len(parts) > max_parts:
            raise MultipartError(f"a form holds at most {max_parts} fields")
    return parts


def _part(item: Message) -> Part:
    name = item.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise MultipartError("a part has no name")
    payload = item.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    return Part(name, item.get_filename(), content)
