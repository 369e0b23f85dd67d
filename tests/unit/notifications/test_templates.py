"""Notices read in the person's language, with public facts only."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.routing import TOPICS
from crocevia_notifications.domain.templates import TITLES, Message, Names, render, render_digest

NAMES = Names(
    {"pioltello-casa": "Comune di Pioltello - Ufficio Casa", "cpia2": "CPIA 2"}, {"italiano-a1": "Corso di italiano A1"}
)


def notice(event: str = "requested", kind: NoticeKind = NoticeKind.EVENT, **extra: str) -> Notice:
    return Notice(
        id="n-1",
        kind=kind,
        event=event,
        referral_id="r-42",
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="italiano-a1",
        priority="urgent",
        status="received",
        acting_agency="cpia2",
        by_agency="pioltello-casa",
        occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
        **extra,
    )


def test_a_request_reads_in_italian_with_names_from_the_directory():
    message = render(notice(), "it", NAMES, "http://cpia2.test/referrals/r-42")
    assert message.title == "Nuovo invio da Comune di Pioltello - Ufficio Casa per Corso di italiano A1"
    assert "Priorità: urgente" in message.body
    assert "Stato: ricevuto" in message.body
    assert message.body.rstrip().endswith("Apri: http://cpia2.test/referrals/r-42")


def test_a_request_reads_in_english():
    message = render(notice(), "en-GB", NAMES, "/referrals/r-42")
    assert message.title == "New referral from Comune di Pioltello - Ufficio Casa for Corso di italiano A1"
    assert "Priority: urgent" in message.body


def test_an_unknown_language_falls_back_to_italian_and_unknown_names_to_ids():
    message = render(notice(), "ar", Names({}, {}), "/referrals/r-42")
    assert message.title == "Nuovo invio da pioltello-casa per italiano-a1"


def test_every_topic_and_stage_has_a_title_in_both_languages():
    keys = {t for t in TOPICS if t not in ("reminder", "escalation")}
    keys |= {f"{k}:{s}" for k in ("reminder", "escalation") for s in ("receive", "decide")}
    for language in ("it", "en"):
        assert keys <= set(TITLES[language]), language


def test_a_rejection_says_its_public_reason_code():
    message = render(notice("rejected", reason_code="no-capacity"), "en", NAMES, "/r")
    assert "Reason: no-capacity" in message.body


def test_an_escalation_names_the_stage_and_priority():
    message = render(notice("decide", NoticeKind.ESCALATION), "it", NAMES, "/r")
    assert message.title == (
        "Segnalazione: un invio urgente da Comune di Pioltello - Ufficio Casa attende una decisione oltre i tempi"
    )


def test_a_notice_has_no_place_for_anything_about_the_person():
    names = {f.name for f in fields(Notice)}
    assert names.isdisjoint({"person", "given_name", "family_name", "reason", "needs", "note", "sealed"})


def test_a_digest_lists_its_messages_oldest_first():
    digest = render_digest(
        "en",
        [
            (datetime(2026, 11, 2, 10, tzinfo=UTC), Message("second", "B\n")),
            (datetime(2026, 11, 2, 9, tzinfo=UTC), Message("first", "A\n")),
        ],
    )
    assert digest.title == "Crocevia: 2 notifications"
    assert digest.body.index("A") < digest.body.index("B")


def test_a_new_message_says_who_wrote_and_no_word_of_it():
    """A notice holds only an event's public facts: a message's text is sealed, never in it."""
    assert {f.name for f in fields(Notice)}.isdisjoint({"note", "text", "sealed", "attachments"})
    message = render(notice("message-sent"), "en", NAMES, "/referrals/r-42")
    assert message.title == "New message from Comune di Pioltello - Ufficio Casa about a referral"
    assert render(notice("message-sent"), "it", NAMES, "/r").title.startswith("Nuovo messaggio da Comune di Pioltello")
