"""Bounded values for the services' HTTP inputs: ids that fit their columns, referral ids
that look like one, opaque page cursors, instants every time zone can show, and a limit
on the size of a request body. What is out of bounds is a 4xx, never a 500."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from starlette.exceptions import HTTPException

from crocevia_common.auth import MAX_SUB
from crocevia_common.problems import Problem, problem_response

# The largest values of the databases' INTEGER and BIGINT columns (SQLite takes 64 bits).
MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_INT32, description="a row id")]
TreeSize = Annotated[int, Field(ge=0, le=MAX_INT64)]

# Referral ids are UUIDs (the node makes UUIDv7s); the columns that hold them are 64 long.
REFERRAL_ID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ReferralId = Annotated[str, Field(min_length=36, max_length=36, pattern=REFERRAL_ID, description="a referral's UUID")]
# Any id a path or a filter names (referral, event, webhook, delivery): at most a column.
IdText = Annotated[str, Field(max_length=64)]
AgencyText = Annotated[str, Field(max_length=64)]
SubText = Annotated[str, Field(max_length=MAX_SUB)]
SHORT_TEXT = 100  # service ids, languages, codes in a filter

ASCII_DIGITS = re.compile(r"^[0-9]{1,19}$")


def decimal_id(text: str | None, maximum: int = MAX_INT32) -> int | None:
    """``text`` as a non-negative id when it is ASCII digits within ``maximum``; else None."""
    if text is None or not ASCII_DIGITS.match(text):
        return None
    value = int(text)
    return value if value <= maximum else None


# Instants: far enough from datetime's ends that every time zone can show them.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def in_calendar(moment: datetime) -> datetime:
    """``moment`` (naive means UTC) when every time zone can show it; else ValueError."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date is out of range") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(f"the date must lie between {EARLIEST.date()} and {LATEST.date()}")
    return moment


Instant = Annotated[datetime, AfterValidator(in_calendar)]


def shifted(moment: datetime, delta: timedelta) -> datetime | None:
    """``moment + delta``, or None when that leaves the calendar."""
    try:
        return in_calendar(moment + delta)
    except (OverflowError, ValueError):
        return None


# Cursors: base64url of a small JSON value; whatever a client sends back is read with care.
MAX_CURSOR = 200
Cursor = Annotated[str, Field(max_length=MAX_CURSOR, description="next_cursor of a previous page")]


class InvalidCursor(ValueError):
    """A cursor this service did not give out."""


def encode_cursor(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The value of a cursor made by :func:`encode_cursor`; InvalidCursor for anything else.
    Its length is bounded first, so it can never nest deeper than JSON can read."""
    if len(cursor) > MAX_CURSOR:
        raise InvalidCursor("the cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidCursor("not a cursor of this listing") from None


def cursor_int(value: Any, maximum: int = MAX_INT64) -> int:
    """An integer of a cursor, within what its column holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidCursor("not a cursor of this listing")
    return value


def cursor_text(value: Any, max_length: int = 64) -> str:
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidCursor("not a cursor of this listing")
    return value


# Request bodies: the largest the API takes (a staff file's list, a referral) is far less.
MAX_BODY_BYTES = 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 problem+json,
    from its ``Content-Length`` when it has one, else as soon as the app has read too much."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, larger: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path pattern, limit): the few routes that take files
        self.larger = tuple((re.compile(pattern), limit) for pattern, limit in larger)

    def _limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.fullmatch(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path") or "")
        detail = f"a request body may hold at most {limit} bytes"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            problem = Problem(413, "payload-too-large", "Payload too large", detail)
            await problem_response(problem, scope.get("path"))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException passes the framework's body parsing unchanged.
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counted, send)
