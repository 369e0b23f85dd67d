"""Messages between the two agencies, as rules and as use cases on fakes: a file's kind by its
bytes, the limits of a message, a file that is not what its reference says; a message goes
both ways in any status without changing it, is applied once, keeps its files at both nodes,
and nothing of it survives an erasure; what is refused ships, stores and publishes nothing."""

from __future__ import annotations

import copy
import json

import pytest

from crocevia_common.messaging.intake import Unprocessable
from crocevia_contracts.events import EventName, MessageSent
from crocevia_contracts.lifecycle import Side, Status, allowed_actions, apply_event
from crocevia_referrals.domain.actions import STAFF_ACTIONS, ActionInput
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.messages import (
    MAX_ATTACHMENT_BYTES,
    MAX_TEXT,
    AttachmentRef,
    MediaType,
    check_attachment,
    check_received,
    check_text,
    read_message,
    sha256_of,
    sniff,
)
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.incoming import apply_incoming
from crocevia_referrals.handlers.messages import Upload, mark_read, send_message
from crocevia_referrals.handlers.sending import send_referral
from tests.unit.referrals.fakes import FakeCarrier, Network, World, agency, delivered, world
from tests.unit.referrals.test_handlers import CASA, CPIA, OPERATOR, RECEIVER, request

PDF = b"%PDF-1.4\nminutes of the meeting\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


# -- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [(PDF, MediaType.PDF), (PNG, MediaType.PNG), (JPEG, MediaType.JPEG), (b"GIF89a", None), (b"", None)],
)
def test_a_files_kind_is_judged_by_its_first_bytes(content: bytes, kind: MediaType | None) -> None:
    assert sniff(content) is kind


def test_a_file_named_like_a_pdf_is_refused_when_its_bytes_are_not_one() -> None:
    with pytest.raises(Invalid) as refused:
        check_attachment("report.pdf", b"MZ\x90\x00 an executable")
    assert refused.value.slug == "attachment-type"
    assert check_attachment("scan.exe", PDF) is MediaType.PDF, "the name does not count either way"


def test_a_file_over_ten_megabytes_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        check_attachment("big.pdf", b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES)
    assert refused.value.slug == "attachment-too-large"
    assert check_attachment("edge.pdf", b"%PDF-" + b"0" * (MAX_ATTACHMENT_BYTES - 5)) is MediaType.PDF


@pytest.mark.parametrize(
    ("text", "files", "slug"),
    [("x" * (MAX_TEXT + 1), 0, "message-too-long"), ("  \n", 0, "message-empty"), ("hi", 6, "too-many-attachments")],
)
def test_a_message_within_its_limits_only(text: str, files: int, slug: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_text(text, files)
    assert refused.value.slug == slug
    assert check_text("x" * MAX_TEXT) and check_text("", 1) == ""


def test_a_received_file_must_be_what_its_reference_says() -> None:
    ref = AttachmentRef(
        id="0195e0a4-7b7e-7c4d-9f00-000000000001",
        name="a.pdf",
        media_type=MediaType.PDF,
        size=len(PDF),
        sha256=sha256_of(PDF),
        object="o-1",
        key="k" * 43 + "=",
    )
    check_received(ref, PDF)
    for other, why in ((PDF + b" ", "size"), (PDF[:-1] + b"X", "SHA-256"), (PNG, "size")):
        with pytest.raises(ValueError, match=why):
            check_received(ref, other)


def test_a_sealed_message_that_is_not_one_is_refused_naming_fields_not_values() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        read_message(b"Amina's secret")
    with pytest.raises(ValueError) as refused:
        read_message(json.dumps({"text": "ok", "to": "Amina K."}).encode())
    assert "Amina" not in str(refused.value)
    assert read_message(b'{"text": "ok"}').text == "ok"


def test_either_side_writes_in_any_status_and_the_status_stays() -> None:
    for status in Status:
        for side in Side:
            assert apply_event(EventName.MESSAGE_SENT, status, side) is status
            assert "send-message" not in allowed_actions(status, side)
    assert "send-message" not in STAFF_ACTIONS


# -- the use cases --------------------------------------------------------------------------


def two_nodes() -> tuple[World, World, Network]:
    buckets: dict[str, dict[str, tuple[str, bytes]]] = {}
    casa, cpia = world(CASA, agency(CPIA)), world(CPIA, agency(CASA))
    casa.node.carrier, cpia.node.carrier = FakeCarrier(buckets, CASA), FakeCarrier(buckets, CPIA)
    return casa, cpia, Network(casa, cpia)


async def referred() -> tuple[World, World, Network, str]:
    casa, cpia, network = two_nodes()
    rid = (await send_referral(casa.node, OPERATOR, request())).referral_id
    await network.deliver()
    return casa, cpia, network, rid


async def test_a_message_with_a_file_is_kept_at_both_nodes_and_leaves_the_bucket() -> None:
    casa, cpia, network, rid = await referred()
    mid = await send_message(casa.node, OPERATOR, rid, "Tuesday evenings", [Upload("isee.pdf", PDF)])
    await network.deliver()

    [mine], [theirs] = casa.referral(rid).messages, cpia.referral(rid).messages
    assert mine.event_id == theirs.event_id == mid and mine.note == theirs.note == "Tuesday evenings"
    assert [f.content for f in casa.uow.stored.files[mid]] == [f.content for f in cpia.uow.stored.files[mid]] == [PDF]
    assert cpia.uow.stored.files[mid][0].media_type == "application/pdf"
    assert casa.node.carrier.buckets[CPIA] == {}  # type: ignore[attr-defined]
    assert cpia.referral(rid).status is Status.RECEIVED, "a message changes no status"
    assert await mark_read(cpia.node, RECEIVER, rid) == 1 and await mark_read(cpia.node, RECEIVER, rid) == 0


async def test_a_message_delivered_twice_is_kept_once() -> None:
    casa, cpia, _, rid = await referred()
    await send_message(cpia.node, RECEIVER, rid, "Which evening?", [])
    event = cpia.published[-1]
    casa.seals.texts[event.event_id] = event.sealed_text or b""
    item = delivered(CPIA, CASA, event.data, 99, event.event_id)
    await apply_incoming(casa.node, item)
    await apply_incoming(casa.node, item)
    assert [m.note for m in casa.referral(rid).messages] == ["Which evening?"]


@pytest.mark.parametrize(
    ("text", "uploads", "slug"),
    [
        ("see file", [Upload("a.pdf", b"GIF89a")], "attachment-type"),
        ("x" * (MAX_TEXT + 1), [], "message-too-long"),
        ("", [Upload("a.png", PNG), Upload("b.gif", b"GIF89a")], "attachment-type"),
    ],
)
async def test_what_is_refused_ships_stores_and_publishes_nothing(text: str, uploads: list[Upload], slug: str) -> None:
    casa, _, _, rid = await referred()
    before = copy.deepcopy(casa.uow.stored)
    with pytest.raises(Invalid) as refused:
        await send_message(casa.node, OPERATOR, rid, text, uploads)
    assert refused.value.slug == slug
    assert casa.uow.stored == before and casa.node.carrier.buckets.get(CPIA, {}) == {}  # type: ignore[attr-defined]


async def test_once_consent_is_withdrawn_no_message_goes_and_none_is_kept() -> None:
    casa, cpia, network, rid = await referred()
    await send_message(casa.node, OPERATOR, rid, "before", [Upload("a.png", PNG)])
    await network.deliver()
    await act(casa.node, OPERATOR, rid, ActionInput("withdraw-consent"))
    await send_message(cpia.node, RECEIVER, rid, "crossing the withdrawal", [])  # written before it arrived
    await network.deliver()

    for node in (casa, cpia):
        assert [m.note for m in node.referral(rid).messages] == [None, None]
        assert node.uow.stored.files == {}
    with pytest.raises(Invalid) as refused:
        await send_message(casa.node, OPERATOR, rid, "after", [])
    assert refused.value.slug == "messages-closed"


async def test_a_file_missing_from_the_bucket_is_unprocessable_and_nothing_is_kept() -> None:
    casa, cpia, _, rid = await referred()
    await send_message(casa.node, OPERATOR, rid, "file", [Upload("a.jpg", JPEG)])
    event = casa.published[-1]
    casa.node.carrier.buckets[CPIA].clear()  # type: ignore[attr-defined]
    cpia.seals.texts[event.event_id] = event.sealed_text or b""
    before = copy.deepcopy(cpia.uow.stored)
    with pytest.raises(Unprocessable, match="attachment 1: the object is not in the bucket"):
        await apply_incoming(cpia.node, delivered(CASA, CPIA, event.data, 50, event.event_id))
    assert cpia.uow.stored == before and isinstance(event.data, MessageSent)
