"""The shared rules for HTTP inputs: cursors read with care, instants every time zone can
show, ids of ASCII digits, credentials out of URLs that are logged or handed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crocevia_common.inputs import (
    MAX_INT32,
    InvalidCursor,
    cursor_int,
    decimal_id,
    decode_cursor,
    encode_cursor,
    in_calendar,
    shifted,
)
from crocevia_common.redaction import redact, without_credentials

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcC0xIn0.c2lnbmF0dXJl"


def test_a_cursor_reads_back_what_it_was_made_of() -> None:
    assert decode_cursor(encode_cursor([1, "x"])) == [1, "x"]


@pytest.mark.parametrize(
    "cursor",
    ["%%%", "²", encode_cursor([1])[:-2] + "!!", "W" * 201, "W1tb" * 45],  # the last: "[[[..." never closed
)
def test_a_cursor_not_made_here_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


@pytest.mark.parametrize("value", [10**30, -1, True, 1.5, "1"])
def test_a_cursor_number_must_fit_its_column(value: object) -> None:
    with pytest.raises(InvalidCursor):
        cursor_int(value, MAX_INT32)


@pytest.mark.parametrize(("text", "expected"), [("12", 12), ("²", None), ("١٢", None), ("-5", None), ("", None)])
def test_an_id_is_ascii_digits(text: str, expected: int | None) -> None:
    assert decimal_id(text) == expected


def test_an_id_past_its_column_is_no_id() -> None:
    assert decimal_id(str(MAX_INT32)) == MAX_INT32
    assert decimal_id(str(MAX_INT32 + 1)) is None


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(9999, 12, 31),
    ],
)
def test_an_instant_at_the_ends_of_the_calendar_is_refused(moment: datetime) -> None:
    with pytest.raises(ValueError):
        in_calendar(moment)


def test_an_instant_every_zone_can_show_is_kept() -> None:
    moment = datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert in_calendar(moment) is moment
    assert shifted(datetime(9999, 12, 31), timedelta(days=1)) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"/inbox?access_token={JWT}&limit=1", "/inbox?access_token=REDACTED&limit=1"),
        ("/inbox?limit=1&TOKEN=opaque-secret", "/inbox?limit=1&TOKEN=REDACTED"),
        (f"/signin?next=/ui%3Faccess_token%3D{JWT}", "/signin?next=/ui%3Faccess_token%3DREDACTED"),
        ("/trail?referral_id=abc&limit=5", "/trail?referral_id=abc&limit=5"),
        ("/signin/callback?code=Xk3-secret&state=s1&iss=x", "/signin/callback?code=REDACTED&state=s1&iss=x"),
        ("/referrals?reason_code=out-of-area", "/referrals?reason_code=out-of-area"),
    ],
)
def test_credentials_in_a_url_are_redacted(url: str, expected: str) -> None:
    assert redact(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/referrals?person=Nicol%C3%B2+Rossi&limit=2", "/referrals?person=REDACTED&limit=2"),
        ("/ui/referrals?status=received&PERSON=rossi#top", "/ui/referrals?status=received&PERSON=REDACTED#top"),
        (
            "/signin?next=%2Fui%2Freferrals%3Fperson%3DRossi%26limit%3D2",
            "/signin?next=%2Fui%2Freferrals%3Fperson%3DREDACTED%26limit%3D2",
        ),
        ("/referrals?personal=no&service_id=person", "/referrals?personal=no&service_id=person"),
    ],
)
def test_the_words_of_a_person_search_are_redacted(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_the_page_to_return_to_keeps_no_credentials() -> None:
    assert without_credentials(f"unread=true&access_token={JWT}&id_token=x") == "unread=true"
