"""NATS permissions generated from the agency registry: an agency publishes only as itself,
reads only what is addressed to it, writes only its own directory entry; only the operator
creates or changes streams."""

from __future__ import annotations

from pathlib import Path

import pytest

from crocevia.cli import main
from crocevia.nats_accounts import (
    accounts_config,
    agency_permissions,
    network_users,
    password_users,
    password_variable,
    service_permissions,
    subject_matches,
)
from crocevia.registry import load_registry
from crocevia_contracts.subjects import inbound_filter, referral_subject

ROOT = Path(__file__).resolve().parents[2]
CPIA2 = agency_permissions("cpia2", "referrals-cpia2")


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("referral.v1.cpia2.*.>", "referral.v1.cpia2.coop-abitare.requested", True),
        ("referral.v1.cpia2.*.>", "referral.v1.cpia2.coop-abitare", False),
        ("referral.v1.*.cpia2.>", "referral.v1.*.cpia2.>", True),
        ("referral.v1.*.cpia2.>", "referral.v1.>", False),
        ("referral.v1.>", "referral.v1.*.cpia2.>", True),
        ("$KV.directory.cpia2", "$KV.directory.cpia2", True),
        ("$KV.directory.cpia2", "$KV.directory.coop-abitare", False),
    ],
)
def test_subjects_match_as_nats_matches_them(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_an_agency_publishes_only_events_from_itself() -> None:
    assert CPIA2.may_publish(referral_subject("cpia2", "coop-abitare", "requested"))
    assert CPIA2.may_publish(referral_subject("cpia2", "pioltello-casa", "accepted"))
    assert not CPIA2.may_publish(referral_subject("coop-abitare", "cpia2", "accepted"))
    assert not CPIA2.may_publish(referral_subject("coop-abitare", "pioltello-casa", "requested"))


def test_an_agency_reads_only_what_is_addressed_to_it() -> None:
    assert CPIA2.may_subscribe(inbound_filter("cpia2"))
    assert not CPIA2.may_subscribe(inbound_filter("coop-abitare"))
    assert not CPIA2.may_subscribe("referral.v1.>")
    assert CPIA2.may_publish("$JS.API.CONSUMER.CREATE.REFERRALS.referrals-cpia2." + inbound_filter("cpia2"))
    assert not CPIA2.may_publish("$JS.API.CONSUMER.CREATE.REFERRALS.referrals-cpia2.referral.v1.>")
    assert not CPIA2.may_publish("$JS.API.CONSUMER.MSG.NEXT.REFERRALS.referrals-coop-abitare")
    assert not CPIA2.may_publish("$JS.ACK.REFERRALS.referrals-coop-abitare.1.2.3.4.5")


def test_an_agency_writes_only_its_own_directory_entry() -> None:
    assert CPIA2.may_publish("$KV.directory.cpia2")
    assert not CPIA2.may_publish("$KV.directory.coop-abitare")
    assert CPIA2.may_publish("$JS.API.DIRECT.GET.KV_directory.$KV.directory.coop-abitare")


STREAMS = ("REFERRALS", "DEADLETTERS", "NOTICES", "AUDIT", "KV_directory", "STOLEN")
OPERATOR_ONLY = ("CREATE", "UPDATE", "DELETE", "PURGE", "MSG.DELETE", "RESTORE")


@pytest.mark.parametrize("user", ["cpia2", "notifications", "audit"])
def test_only_the_operator_creates_changes_or_removes_streams(user: str) -> None:
    (permissions,) = [u.permissions for u in network_users(["cpia2"]) if u.name == user]
    assert permissions is not None

    for stream in STREAMS:
        for action in OPERATOR_ONLY:
            assert not permissions.may_publish(f"$JS.API.STREAM.{action}.{stream}"), (action, stream)
    assert permissions.may_publish("$JS.API.STREAM.INFO.REFERRALS")  # what a service checks at start


def test_the_operator_may_do_anything() -> None:
    (admin,) = [u for u in network_users(["cpia2"]) if u.name == "admin"]

    assert admin.permissions is None


def test_services_read_every_event_and_publish_none() -> None:
    services = service_permissions()

    assert services.may_subscribe("referral.v1.>")
    assert services.may_publish("$JS.API.CONSUMER.CREATE.REFERRALS.audit.referral.v1.>")
    assert not services.may_publish(referral_subject("cpia2", "coop-abitare", "requested"))
    assert not services.may_publish("$KV.directory.cpia2")
    assert not services.may_publish("$JS.API.STREAM.DELETE.REFERRALS")
    assert not services.may_publish("$JS.API.STREAM.PURGE.REFERRALS")


def test_notifications_writes_only_its_own_directory_key() -> None:
    notifications, audit = service_permissions("notifications"), service_permissions("audit")

    assert notifications.may_publish("$KV.directory.service.notifications")
    assert not notifications.may_publish("$KV.directory.service.audit")
    assert not notifications.may_publish("$KV.directory.cpia2")
    assert not notifications.may_publish("$KV.directory.>")
    assert not audit.may_publish("$KV.directory.service.notifications")
    assert not CPIA2.may_publish("$KV.directory.service.notifications")


def test_there_is_one_user_per_agency_then_the_services_and_admin() -> None:
    users = network_users(["cpia2", "coop-abitare", "cpia2"])

    assert [u.name for u in users] == ["coop-abitare", "cpia2", "notifications", "audit", "admin"]
    assert users[0].password_variable == "CROCEVIA_NATS_PASSWORD_COOP_ABITARE"
    assert users[-1].permissions is None


def test_nats_server_needs_a_password_for_every_user_and_the_system_user() -> None:
    assert password_users(["cpia2"]) == ["cpia2", "notifications", "audit", "admin", "system"]


def test_passwords_are_environment_variables_never_values() -> None:
    text = accounts_config(["cpia2"])

    assert "password: $CROCEVIA_NATS_PASSWORD_CPIA2\n" in text
    assert password_variable("agenzia-casa-sudest") == "CROCEVIA_NATS_PASSWORD_AGENZIA_CASA_SUDEST"


def test_the_node_consumer_name_can_follow_another_convention() -> None:
    text = accounts_config(["cpia2"], node_consumer="node-{agency}")

    assert '"$JS.API.CONSUMER.MSG.NEXT.REFERRALS.node-cpia2"' in text
    assert "referrals-cpia2" not in text


def test_the_committed_accounts_file_matches_the_registry() -> None:
    expected = accounts_config(load_registry(ROOT / "deploy" / "demo" / "agencies"))

    assert (ROOT / "deploy" / "nats" / "accounts.conf").read_text() == expected, (
        "regenerate: uv run crocevia nats-accounts --output deploy/nats/accounts.conf"
    )


def test_the_command_writes_the_accounts_file(tmp_path: Path) -> None:
    output = tmp_path / "accounts.conf"

    assert main(["nats-accounts", "--agencies-dir", str(ROOT / "deploy/demo/agencies"), "--output", str(output)]) == 0
    assert output.read_text() == (ROOT / "deploy" / "nats" / "accounts.conf").read_text()
