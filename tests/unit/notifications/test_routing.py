"""Who hears of a notice: the party that must act, by role, service, topic and priority."""

from __future__ import annotations

from datetime import UTC, datetime

from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.routing import DEFAULT_SUBSCRIPTIONS, Scope, StaffView, Subscription, recipients

SENDER, RECEIVER = "pioltello-casa", "cpia2"


def notice(
    event: str = "requested",
    *,
    kind: NoticeKind = NoticeKind.EVENT,
    acting: str = RECEIVER,
    priority: str = "routine",
    service_id: str = "italiano-a1",
) -> Notice:
    return Notice(
        id="n-1",
        kind=kind,
        event=event,
        referral_id="r-1",
        sender_agency=SENDER,
        receiver_agency=RECEIVER,
        service_id=service_id,
        priority=priority,
        status="requested",
        acting_agency=acting,
        by_agency=SENDER if acting == RECEIVER else RECEIVER,
        occurred_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )


def staff(pid: int, agency: str, sub: str, *roles: str, services: tuple[str, ...] = (), active: bool = True):
    return StaffView(
        id=pid,
        agency=agency,
        sub=sub,
        roles=frozenset(roles or ("operator",)),
        services=frozenset(services),
        active=active,
    )


PEOPLE = {
    RECEIVER: [
        staff(1, RECEIVER, "giulia"),
        staff(2, RECEIVER, "ahmed", services=("italiano-a1",)),
        staff(3, RECEIVER, "paolo", services=("licenza-media",)),
        staff(4, RECEIVER, "roberta", "supervisor"),
        staff(5, RECEIVER, "gone", active=False),
    ],
    SENDER: [staff(10, SENDER, "op-1"), staff(11, SENDER, "chiara"), staff(12, SENDER, "laura", "supervisor")],
}


def subs_of(found: list[StaffView]) -> list[str]:
    return [p.sub for p in found]


def test_a_request_goes_to_the_receiving_operators_who_handle_its_service():
    found = recipients(notice(), list(DEFAULT_SUBSCRIPTIONS), PEOPLE)
    assert subs_of(found) == ["giulia", "ahmed"]


def test_inactive_people_and_supervisors_do_not_hear_of_a_request():
    found = subs_of(recipients(notice(), list(DEFAULT_SUBSCRIPTIONS), PEOPLE))
    assert "gone" not in found and "roberta" not in found


def test_a_rejection_goes_to_the_senders_operator_who_sent_it():
    found = recipients(notice("rejected", acting=SENDER), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, owner_sub="op-1")
    assert subs_of(found) == ["op-1"]


def test_when_the_sender_is_unknown_every_sending_operator_hears_of_it():
    found = recipients(
        notice("info-requested", acting=SENDER), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, owner_sub="left-the-agency"
    )
    assert subs_of(found) == ["op-1", "chiara"]


def test_the_senders_staff_are_not_filtered_by_the_receivers_service():
    sender_people = {SENDER: [staff(10, SENDER, "op-1", services=("alloggi-sap",))]}
    found = recipients(notice("accepted", acting=SENDER), list(DEFAULT_SUBSCRIPTIONS), sender_people)
    assert subs_of(found) == ["op-1"]


def test_a_reminder_goes_to_operators_and_an_escalation_to_supervisors():
    reminder = recipients(notice("receive", kind=NoticeKind.REMINDER), list(DEFAULT_SUBSCRIPTIONS), PEOPLE)
    escalation = recipients(notice("receive", kind=NoticeKind.ESCALATION), list(DEFAULT_SUBSCRIPTIONS), PEOPLE)
    assert subs_of(reminder) == ["giulia", "ahmed"]
    assert subs_of(escalation) == ["roberta"]


def test_an_agency_subscription_adds_supervisors_for_urgent_requests_only():
    urgent_to_supervisors = Subscription(
        agency=RECEIVER,
        roles=frozenset({"supervisor"}),
        topics=frozenset({"requested"}),
        priorities=frozenset({"urgent"}),
    )
    subscriptions = [*DEFAULT_SUBSCRIPTIONS, urgent_to_supervisors]
    assert subs_of(recipients(notice(priority="urgent"), subscriptions, PEOPLE)) == ["giulia", "ahmed", "roberta"]
    assert subs_of(recipients(notice(priority="routine"), subscriptions, PEOPLE)) == ["giulia", "ahmed"]


def test_a_party_scoped_subscription_hears_of_events_it_need_not_act_on():
    watch_outgoing = Subscription(agency=SENDER, roles=frozenset({"supervisor"}), scope=Scope.PARTY)
    found = recipients(notice("requested"), [*DEFAULT_SUBSCRIPTIONS, watch_outgoing], PEOPLE)
    assert subs_of(found) == ["giulia", "ahmed", "laura"]


def test_an_agency_subscription_never_reaches_into_a_referral_it_is_not_party_to():
    elsewhere = Subscription(agency="csl-lavoro", roles=frozenset({"operator"}), scope=Scope.PARTY)
    assert elsewhere.agency_for(notice()) is None


def test_someone_matched_by_two_subscriptions_is_told_once():
    again = Subscription(agency=RECEIVER, roles=frozenset({"operator"}))
    found = recipients(notice(), [*DEFAULT_SUBSCRIPTIONS, again], PEOPLE)
    assert subs_of(found) == ["giulia", "ahmed"]


def test_an_assigned_referral_is_told_to_its_assignee_first_whatever_their_role():
    assigned = {RECEIVER: "paolo", SENDER: "chiara"}
    info = recipients(notice("info-provided"), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, "op-1", assigned)
    answer = recipients(notice("info-requested", acting=SENDER), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, "op-1", assigned)
    to_supervisor = recipients(
        notice("info-provided"), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, None, {RECEIVER: "roberta"}
    )
    # paolo handles another service and is told all the same: the referral is his now;
    # at the sender, the assignee comes before who sent it.
    assert (subs_of(info), subs_of(answer), subs_of(to_supervisor)) == (["paolo"], ["chiara"], ["roberta"])


def test_a_reminder_goes_to_the_assignee_and_an_escalation_still_to_every_supervisor():
    assigned = {RECEIVER: "ahmed"}
    reminded = recipients(notice(kind=NoticeKind.REMINDER), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, None, assigned)
    escalated = recipients(notice(kind=NoticeKind.ESCALATION), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, None, assigned)
    assert (subs_of(reminded), subs_of(escalated)) == (["ahmed"], ["roberta"])


def test_an_assignee_who_left_or_is_unknown_leaves_the_notice_to_the_team():
    for assignee in ("gone", "never-on-staff", "op-1"):  # op-1 is on the other agency's staff
        found = recipients(notice("info-provided"), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, None, {RECEIVER: assignee})
        assert subs_of(found) == ["giulia", "ahmed"], assignee


def test_one_agencys_assignment_never_narrows_what_the_other_agency_hears():
    found = recipients(
        notice("rejected", acting=SENDER), list(DEFAULT_SUBSCRIPTIONS), PEOPLE, None, {RECEIVER: "paolo"}
    )
    assert subs_of(found) == ["op-1", "chiara"]
