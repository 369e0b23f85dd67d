"""A node's use cases, on in-memory fakes: sending, acting, redirecting, and applying the
other node's events. What is refused changes nothing."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from crocevia_common.auth import Principal, Role
from crocevia_common.directory import DirectoryUnavailable
from crocevia_common.messaging.intake import NotYet, Unprocessable, Verified
from crocevia_contracts import LegalBasis, Priority
from crocevia_contracts.events import Accepted, InfoRequested, Received, Requested
from crocevia_contracts.lifecycle import Status, TransitionRefused
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.domain.codes import UNDELIVERABLE
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.domain.personal import Person, PersonalPart
from crocevia_referrals.domain.referral import Referral
from crocevia_referrals.domain.sending import ReferralRequest
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.incoming import apply_incoming
from crocevia_referrals.handlers.sending import Idempotency, redirect, send_referral
from tests.unit.referrals.fakes import NOW, Network, World, agency, delivered, world

CASA, CPIA, CSL = "pioltello-casa", "cpia2", "csl-lavoro"
OPERATOR = Principal("op-casa", CASA, frozenset({Role.OPERATOR}))
RECEIVER = Principal("op-cpia", CPIA, frozenset({Role.OPERATOR}))
CONSENT = LegalBasis.model_validate({"basis": "consent", "captured_by": "op-1", "captured_at": NOW - timedelta(days=1)})
AMINA = PersonalPart(person=Person(given_name="Amina", family_name="K."), reason="Italian course A1")


def request(**overrides: Any) -> ReferralRequest:
    fields: dict[str, Any] = {
        "to_agency": CPIA,
        "service_id": "main-service",
        "priority": Priority.ROUTINE,
        "legal_basis": CONSENT,
        "personal": AMINA,
    }
    return ReferralRequest(**{**fields, **overrides})


def casa(*others: Any) -> World:
    return world(CASA, agency(CPIA), agency(CSL), *others)


def snapshot(w: World) -> Any:
    return copy.deepcopy(w.uow.stored)


# -- sending ------------------------------------------------------------------------------


async def test_a_referral_goes_out_with_its_requested_event_sealing_the_personal_part() -> None:
    w = casa()
    sent = await send_referral(w.node, OPERATOR, request())
    referral = w.referral(sent.referral_id)
    assert (referral.status, referral.direction, referral.counterpart) == (Status.REQUESTED, "outgoing", CPIA)
    assert referral.requested_at == NOW and referral.created_by == "op-casa"
    [event] = w.published
    assert (event.to_agency, event.data.event, event.data.step) == (CPIA, "requested", 1)  # type: ignore[attr-defined]
    assert event.sealed_text is not None and PersonalPart.model_validate_json(event.sealed_text) == AMINA
    assert [(h.event, h.event_id, h.by_user) for h in referral.history] == [("requested", event.event_id, "op-casa")]
    assert sent.warnings == []


@pytest.mark.parametrize(
    ("basis", "why"),
    [
        ({"basis": "consent"}, "needs captured_by and captured_at"),
        ({"basis": "consent", "captured_by": "op-1", "captured_at": NOW + timedelta(hours=1)}, "in the future"),
        ({"basis": "public-task", "expires_at": NOW - timedelta(seconds=1)}, "expired"),
    ],
    ids=["consent-without-author", "consent-in-the-future", "expired"],
)
async def test_a_legal_basis_that_does_not_allow_sending_is_refused(basis: dict[str, Any], why: str) -> None:
    w = casa()
    with pytest.raises(Invalid) as refused:
        await send_referral(w.node, OPERATOR, request(legal_basis=LegalBasis.model_validate(basis)))
    assert (refused.value.slug, refused.value.field) == ("legal-basis", "legal_basis") and why in refused.value.detail
    assert w.uow.stored.referrals == {} and w.published == []


@pytest.mark.parametrize(
    ("overrides", "slug", "field"),
    [
        ({"to_agency": "atlantis"}, "unknown-agency", "to_agency"),
        ({"to_agency": CASA}, "unknown-agency", "to_agency"),
        ({"service_id": "astrology"}, "unknown-service", "service_id"),
        ({"to_agency": "closed"}, "service-closed", "service_id"),
        ({"to_agency": "inactive"}, "service-closed", "service_id"),
        ({"to_agency": "keyless"}, "agency-not-ready", "to_agency"),
    ],
    ids=["unknown-agency", "itself", "unknown-service", "not-accepting", "inactive", "no-keys-yet"],
)
async def test_a_referral_goes_only_to_a_service_of_another_agency_that_takes_it_now(
    overrides: dict[str, Any], slug: str, field: str
) -> None:
    w = casa(agency("closed", accepts_referrals=False), agency("inactive", status="inactive"), agency("keyless"))
    w.seals.without_keys.add("keyless")
    with pytest.raises(Invalid) as refused:
        await send_referral(w.node, OPERATOR, request(**overrides))
    assert (refused.value.slug, refused.value.field) == (slug, field)
    assert w.uow.stored.referrals == {} and w.published == []


async def test_a_directory_that_cannot_be_read_is_not_an_unknown_agency() -> None:
    w = casa()
    w.directory.unavailable = True
    with pytest.raises(DirectoryUnavailable):
        await send_referral(w.node, OPERATOR, request())


@pytest.mark.parametrize(
    ("capacity", "code", "text"),
    [("waitlist", "waitlist", "Italiano A1 has a waiting list"), ("no-capacity", "no-capacity", "no capacity")],
)
async def test_the_sender_is_warned_of_a_waitlisted_or_full_service(capacity: str, code: str, text: str) -> None:
    w = casa(agency("busy", capacity=capacity))
    sent = await send_referral(w.node, OPERATOR, request(to_agency="busy"))
    assert [w.code for w in sent.warnings] == [code] and text in sent.warnings[0].text
    assert w.referral(sent.referral_id).status is Status.REQUESTED


async def test_an_urgent_referral_to_a_service_without_an_urgent_target_is_told_the_routine_one_applies() -> None:
    routine_only = {"routine": {"receive_within_hours": 24, "decide_within_hours": 120}}
    w = casa(agency("routine-only", response_targets=routine_only))
    urgent = await send_referral(w.node, OPERATOR, request(to_agency="routine-only", priority=Priority.URGENT))
    someone_else = PersonalPart(person=Person(given_name="Ines", family_name="R."))
    routine = await send_referral(w.node, OPERATOR, request(to_agency="routine-only", personal=someone_else))
    assert [(w.code, w.text) for w in urgent.warnings] == [
        ("routine-target", "Italiano A1 states no target for urgent referrals: its routine target applies")
    ]
    assert routine.warnings == []
    assert (await send_referral(w.node, OPERATOR, request(priority=Priority.URGENT))).warnings == []


async def test_one_idempotency_key_and_body_create_one_referral() -> None:
    w = casa()
    key = Idempotency("k-1", "sha-of-the-body")
    first = await send_referral(w.node, OPERATOR, request(), key)
    again = await send_referral(w.node, OPERATOR, request(), key)
    assert (again.referral_id, again.replayed, first.replayed) == (first.referral_id, True, False)
    with pytest.raises(Invalid) as reused:
        await send_referral(w.node, OPERATOR, request(), Idempotency("k-1", "sha-of-another-body"))
    assert reused.value.slug == "idempotency-key-reused"
    other_caller = Principal("op-2", CASA, frozenset({Role.OPERATOR}))
    assert (await send_referral(w.node, other_caller, request(), key)).referral_id != first.referral_id
    assert len(w.uow.stored.referrals) == 2


async def test_a_request_that_loses_the_race_for_its_key_answers_the_winners_referral() -> None:
    w = casa()
    key = Idempotency("k-1", "sha")
    prepare = w.seals.prepare

    async def a_concurrent_request_commits_first(agency_id: str) -> None:
        w.seals.prepare = prepare  # type: ignore[method-assign]
        await send_referral(w.node, OPERATOR, request(), key)

    w.seals.prepare = a_concurrent_request_commits_first  # type: ignore[method-assign]
    sent = await send_referral(w.node, OPERATOR, request(), key)
    assert sent.replayed and list(w.uow.stored.referrals) == [sent.referral_id]
    assert len(w.published) == 1


# -- acting -------------------------------------------------------------------------------


async def received_at_cpia(*others: Any) -> tuple[World, str]:
    """cpia2's node, holding a referral pioltello-casa sent it."""
    sender, receiver = casa(), world(CPIA, agency(CASA), agency(CSL), *others)
    sent = await send_referral(sender.node, OPERATOR, request())
    await Network(sender, receiver).deliver()
    return receiver, sent.referral_id


async def walk(w: World, referral_id: str, *actions: str) -> None:
    inputs = {
        "complete": {"outcome": "got-help"},
        "reject": {"reason_code": "no-capacity"},
        "request-info": {"note": "?"},
    }
    by = RECEIVER if w.node.agency_id == CPIA else OPERATOR
    for name in actions:
        await act(w.node, by, referral_id, ActionInput(name, **inputs.get(name, {})))


STEPS = [
    # (side, steps before, action, input, status after, public fields)
    (CPIA, [], "accept", {}, Status.ACCEPTED, {}),
    (CPIA, [], "reject", {"reason_code": "out-of-area", "suggested_agency": CSL}, Status.REJECTED,
     {"reason_code": "out-of-area", "suggested_agency": CSL}),
    (CPIA, ["accept"], "start", {}, Status.IN_PROGRESS, {}),
    (CPIA, ["accept"], "hold", {}, Status.ON_HOLD, {"reason_code": None}),
    (CPIA, ["accept", "start"], "hold", {"reason_code": "waiting-list"}, Status.ON_HOLD,
     {"reason_code": "waiting-list"}),
    (CPIA, ["accept", "hold"], "resume", {}, Status.IN_PROGRESS, {}),
    (CPIA, ["accept", "start"], "complete", {"outcome": "got-help"}, Status.COMPLETED, {"outcome": "got-help"}),
    (CPIA, ["accept", "start"], "fail", {"reason_code": "no-show"}, Status.FAILED, {"reason_code": "no-show"}),
    (CPIA, [], "request-info", {"note": "Which evening is free?"}, Status.RECEIVED, {}),
    (CASA, [], "cancel", {"reason_code": "sent-in-error"}, Status.CANCELLED, {"reason_code": "sent-in-error"}),
    (CASA, ["request-info"], "provide-info", {"note": "Tuesdays"}, Status.RECEIVED, {}),
    (CASA, [], "withdraw-consent", {}, Status.RECEIVED, {}),
]  # fmt: skip


@pytest.mark.parametrize(("side", "before", "action", "given", "status", "public"), STEPS, ids=lambda v: str(v))
async def test_each_action_moves_the_referral_and_queues_its_event(
    side: str, before: list[str], action: str, given: dict[str, Any], status: Status, public: dict[str, Any]
) -> None:
    sender, receiver = casa(), world(CPIA, agency(CASA), agency(CSL))
    rid = (await send_referral(sender.node, OPERATOR, request())).referral_id
    network = Network(sender, receiver)
    await network.deliver()
    await walk(receiver, rid, *before)
    await network.deliver()
    w = receiver if side == CPIA else sender
    published = len(w.published)
    await act(w.node, RECEIVER if side == CPIA else OPERATOR, rid, ActionInput(action, **given))
    referral = w.referral(rid)
    assert referral.status is status
    [event] = w.published[published:]
    assert event.to_agency == referral.counterpart
    assert event.data.model_dump(include=set(public)) == public
    assert event.sealed_text == (given["note"].encode() if "note" in given else None)
    assert (referral.history[-1].event_id, referral.history[-1].details) == (event.event_id, public)
    if action == "withdraw-consent":
        assert referral.consent_withdrawn_at == NOW
    await network.deliver()
    assert sender.referral(rid).status is receiver.referral(rid).status, "both nodes agree"


async def test_a_transition_the_lifecycle_refuses_changes_nothing() -> None:
    w, rid = await received_at_cpia()
    await walk(w, rid, "accept")
    before = snapshot(w)
    with pytest.raises(TransitionRefused) as refused:
        await act(w.node, RECEIVER, rid, ActionInput("accept"))
    assert (refused.value.current, refused.value.allowed) == (
        Status.ACCEPTED,
        ["start", "hold", "request-info"],
    )
    with pytest.raises(TransitionRefused, match="unknown action"):
        await act(w.node, RECEIVER, rid, ActionInput("erase"))
    assert w.uow.stored == before


async def test_the_sender_cannot_decide_for_the_receiver() -> None:
    sender = casa()
    rid = (await send_referral(sender.node, OPERATOR, request())).referral_id
    with pytest.raises(TransitionRefused, match="only the receiver"):
        await act(sender.node, OPERATOR, rid, ActionInput("accept"))


BAD_INPUTS = [
    ("reject", {}, "missing-code", "reason_code"),
    ("reject", {"reason_code": "bored"}, "unknown-code", "reason_code"),
    ("reject", {"reason_code": "no-capacity", "suggested_agency": "no-such-agency"}, "unknown-agency",
     "suggested_agency"),
    ("reject", {"reason_code": "no-capacity", "suggested_agency": CPIA}, "not-another-agency", "suggested_agency"),
    ("reject", {"reason_code": "no-capacity", "suggested_agency": CASA}, "not-another-agency", "suggested_agency"),
    ("accept", {"suggested_agency": CSL}, "unexpected-field", "suggested_agency"),
    ("request-info", {}, "missing-note", "note"),
    ("provide-info", {"note": ""}, "missing-note", "note"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "given", "slug", "field"), BAD_INPUTS, ids=lambda v: str(v))
async def test_an_action_refuses_input_it_cannot_take_and_changes_nothing(
    action: str, given: dict[str, Any], slug: str, field: str
) -> None:
    w, rid = await received_at_cpia()
    before = snapshot(w)
    with pytest.raises(Invalid) as refused:
        await act(w.node, RECEIVER, rid, ActionInput(action, **given))
    assert (refused.value.slug, refused.value.field) == (slug, field)
    assert w.uow.stored == before


async def test_acting_on_a_referral_this_node_does_not_hold_is_not_found() -> None:
    w = casa()
    with pytest.raises(NotFound):
        await act(w.node, OPERATOR, "01a2298c-fb02-729a-bbae-bf27c2140f10", ActionInput("cancel", reason_code="other"))


# -- redirecting --------------------------------------------------------------------------


async def rejected_at_casa(**given: Any) -> tuple[World, str]:
    sender, receiver = casa(agency("elsewhere")), world(CPIA, agency(CASA), agency(CSL))
    rid = (await send_referral(sender.node, OPERATOR, request())).referral_id
    network = Network(sender, receiver)
    await network.deliver()
    await act(receiver.node, RECEIVER, rid, ActionInput("reject", reason_code="out-of-area", **given))
    await network.deliver()
    return sender, rid


async def test_a_rejected_referral_goes_again_to_the_suggested_agency_linked_to_the_first() -> None:
    w, rid = await rejected_at_casa(suggested_agency=CSL)
    assert w.referral(rid).may_redirect and w.referral(rid).suggested_agency == CSL
    sent = await redirect(w.node, OPERATOR, rid, None, "main-service")
    second = w.referral(sent.referral_id)
    assert (second.receiver_agency, second.previous_referral_id) == (CSL, rid)
    assert (second.personal, second.legal_basis, second.priority) == (AMINA, CONSENT, Priority.ROUTINE)
    assert w.published[-1].data.previous_referral_id == rid  # type: ignore[attr-defined]


async def test_a_rejected_referral_may_go_to_another_agency_than_the_suggested_one() -> None:
    w, rid = await rejected_at_casa(suggested_agency=CSL)
    sent = await redirect(w.node, OPERATOR, rid, "elsewhere", "main-service", Priority.URGENT)
    assert (w.referral(sent.referral_id).receiver_agency, w.referral(sent.referral_id).priority) == (
        "elsewhere",
        Priority.URGENT,
    )


@pytest.mark.parametrize(
    ("suggested", "to_agency", "slug"),
    [(None, None, "no-target"), (CSL, CPIA, "not-another-agency"), (None, "atlantis", "unknown-agency")],
    ids=["nowhere-suggested", "back-to-who-rejected-it", "unknown-agency"],
)
async def test_a_redirection_needs_another_agency(suggested: str | None, to_agency: str | None, slug: str) -> None:
    w, rid = await rejected_at_casa(**({"suggested_agency": suggested} if suggested else {}))
    before = snapshot(w)
    with pytest.raises(Invalid) as refused:
        await redirect(w.node, OPERATOR, rid, to_agency, "main-service")
    assert (refused.value.slug, refused.value.field) == (slug, "to_agency")
    assert w.uow.stored == before


async def test_only_a_rejected_referral_with_its_details_may_be_redirected() -> None:
    w = casa()
    rid = (await send_referral(w.node, OPERATOR, request())).referral_id
    with pytest.raises(Invalid) as open_one:
        await redirect(w.node, OPERATOR, rid, CSL, "main-service")
    assert open_one.value.slug == "not-rejected"
    erased, rid = await rejected_at_casa()
    erased.uow.stored.referrals[rid].personal = None
    with pytest.raises(Invalid) as no_details:
        await redirect(erased.node, OPERATOR, rid, CSL, "main-service")
    assert no_details.value.slug == "erased"


async def test_only_the_sender_redirects() -> None:
    w, rid = await received_at_cpia()
    await walk(w, rid, "reject")
    with pytest.raises(NotFound):
        await redirect(w.node, RECEIVER, rid, CSL, "main-service")


# -- applying the other node's events -----------------------------------------------------


def requested(step: int | None = 1, **overrides: Any) -> Requested:
    fields: dict[str, Any] = {
        "referral_id": "01a2298c-fb02-729a-bbae-bf27c2140f10",
        "sender_agency": CASA,
        "receiver_agency": CPIA,
        "service_id": "main-service",
        "priority": "urgent",
        "occurred_at": NOW - timedelta(hours=3),
        "step": step,
        "legal_basis": CONSENT,
    }
    return Requested(**{**fields, **overrides})


def about(referral: Referral, model: Any, step: int, **fields: Any) -> Any:
    """An event of ``model`` about ``referral``, the other node's ``step``-th."""
    known = {
        "referral_id": referral.id,
        "sender_agency": referral.sender_agency,
        "receiver_agency": referral.receiver_agency,
        "service_id": referral.service_id,
        "priority": referral.priority,
    }
    return model(occurred_at=NOW, step=step, **{**known, **fields})


async def arrived(w: World, item: Verified, text: bytes | None = AMINA.model_dump_json().encode()) -> None:
    if text is not None:
        w.seals.texts[item.id] = text
    await apply_incoming(w.node, item)


async def test_a_requested_referral_is_kept_and_answered_received() -> None:
    w = world(CPIA, agency(CASA))
    item = delivered(CASA, CPIA, requested(), 1)
    await arrived(w, item)
    referral = w.referral(item.referral_id)
    assert (referral.direction, referral.status, referral.personal, referral.their_step) == (
        "incoming",
        Status.RECEIVED,
        AMINA,
        1,
    )
    assert referral.requested_at == NOW - timedelta(hours=3), "targets count from when it was requested"
    assert [(h.event, h.by_agency, h.at) for h in referral.history] == [
        ("requested", CASA, NOW - timedelta(hours=3)),
        ("received", CPIA, NOW),
    ]
    [answer] = w.published
    assert (answer.to_agency, answer.data.event, answer.data.step) == (CASA, "received", 1)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "unreadable", "problem"),
    [
        (None, True, "sealed to another key"),
        (b"not json", False, "the personal part is not JSON"),
        (b'{"person": {}}', False, "invalid personal part at person.given_name: missing"),
    ],
    ids=["does-not-open", "not-json", "not-a-personal-part"],
)
async def test_a_referral_this_node_cannot_read_is_answered_undeliverable(
    text: bytes | None, unreadable: bool, problem: str
) -> None:
    w = world(CPIA, agency(CASA))
    item = delivered(CASA, CPIA, requested(), 1)
    if unreadable:
        w.seals.unreadable.add(item.id)
    await arrived(w, item, text)
    referral = w.referral(item.referral_id)
    assert (referral.status, referral.personal) == (Status.REJECTED, None)
    assert [(e.data.event, e.data.model_dump().get("reason_code")) for e in w.published] == [  # type: ignore[attr-defined]
        ("received", None),
        ("rejected", UNDELIVERABLE),
    ]
    assert problem in referral.history[-1].details["problem"]


async def sent_from_casa() -> tuple[World, Referral]:
    w = casa()
    rid = (await send_referral(w.node, OPERATOR, request())).referral_id
    return w, w.referral(rid)


async def test_the_other_nodes_steps_move_the_referral_each_once() -> None:
    w, referral = await sent_from_casa()
    received = delivered(CPIA, CASA, about(referral, Received, 1), 1)
    accepted = delivered(CPIA, CASA, about(referral, Accepted, 2), 2)
    for item in (received, accepted, accepted):  # the second accepted: a redelivery
        await apply_incoming(w.node, item)
    same_step_again = delivered(CPIA, CASA, about(referral, Accepted, 2), 3)
    await apply_incoming(w.node, same_step_again)
    after = w.referral(referral.id)
    assert (after.status, after.their_step) == (Status.ACCEPTED, 2)
    assert [h.event for h in after.history] == ["requested", "received", "accepted"]
    assert same_step_again.id in w.uow.stored.applied, "acknowledged, without effect"


async def test_a_step_that_comes_before_the_one_it_follows_waits_and_changes_nothing() -> None:
    w, referral = await sent_from_casa()
    before = snapshot(w)
    with pytest.raises(NotYet, match="step 2 came before step 1"):
        await apply_incoming(w.node, delivered(CPIA, CASA, about(referral, Accepted, 2), 2))
    assert w.uow.stored == before, "not even marked as applied: it is tried again"


@pytest.mark.parametrize(
    ("fields", "publisher", "reason"),
    [
        ({"service_id": "another-service"}, CPIA, "the parties or the service are not the referral's"),
        ({"receiver_agency": CSL}, CSL, "the parties or the service are not the referral's"),
        ({"referral_id": "01a2298c-fb02-729a-bbae-bf27c2140f11"}, CPIA, "no requested event of this referral"),
    ],
    ids=["another-service", "another-receiver", "unknown-referral"],
)
async def test_an_event_that_names_other_parties_is_refused_and_changes_nothing(
    fields: dict[str, Any], publisher: str, reason: str
) -> None:
    w, referral = await sent_from_casa()
    before = snapshot(w)
    with pytest.raises(Unprocessable, match=reason):
        await apply_incoming(w.node, delivered(publisher, CASA, about(referral, Received, 1, **fields), 1))
    assert w.uow.stored == before


async def test_a_referral_is_requested_once() -> None:
    w = world(CPIA, agency(CASA))
    await arrived(w, delivered(CASA, CPIA, requested(), 1))
    before = snapshot(w)
    with pytest.raises(Unprocessable, match="requested already"):
        await arrived(w, delivered(CASA, CPIA, requested(), 2))
    assert w.uow.stored == before


async def test_an_event_the_lifecycle_does_not_allow_from_its_publisher_is_refused() -> None:
    w = world(CPIA, agency(CASA))
    item = delivered(CASA, CPIA, requested(), 1)
    await arrived(w, item)
    before = snapshot(w)
    with pytest.raises(Unprocessable, match="lifecycle refuses it: sender cannot report accepted"):
        await apply_incoming(w.node, delivered(CASA, CPIA, about(w.referral(item.referral_id), Accepted, 2), 2))
    assert w.uow.stored == before


async def test_a_note_is_read_when_it_opens_and_refused_when_it_does_not() -> None:
    w, referral = await sent_from_casa()
    await apply_incoming(w.node, delivered(CPIA, CASA, about(referral, Received, 1), 1))
    question = delivered(CPIA, CASA, about(referral, InfoRequested, 2), 2)
    w.seals.unreadable.add(question.id)
    before = snapshot(w)
    with pytest.raises(Unprocessable, match="refused: sealed to another key"):
        await apply_incoming(w.node, question)
    assert w.uow.stored == before
    w.seals.unreadable.clear()
    w.seals.texts[question.id] = b"Which evening is free?"
    await apply_incoming(w.node, question)
    assert w.referral(referral.id).history[-1].note == "Which evening is free?"


async def test_a_withdrawn_consent_erases_the_details_at_the_receiver_then_at_the_sender() -> None:
    sender, receiver = casa(), world(CPIA, agency(CASA), agency(CSL))
    rid = (await send_referral(sender.node, OPERATOR, request())).referral_id
    network = Network(sender, receiver)
    await network.deliver()
    await act(receiver.node, RECEIVER, rid, ActionInput("request-info", note="Is Amina free on Tuesdays?"))
    await network.deliver()
    assert sender.referral(rid).history[-1].note == "Is Amina free on Tuesdays?"
    await act(sender.node, OPERATOR, rid, ActionInput("withdraw-consent"))
    assert sender.referral(rid).personal == AMINA, "the sender keeps its copy until the receiver confirms"
    await network.deliver()
    for node in (receiver, sender):
        referral = node.referral(rid)
        assert referral.personal is None and referral.erasure is not None
        assert referral.erasure.reason == "consent-withdrawn"
        assert [h.note for h in referral.history if h.note] == []
        assert referral.status is Status.RECEIVED, "the public part stays"
    assert receiver.referral(rid).consent_withdrawn_at == sender.referral(rid).consent_withdrawn_at == NOW
    assert [h.event for h in sender.referral(rid).history][-2:] == ["consent-withdrawn", "personal-data-erased"]
