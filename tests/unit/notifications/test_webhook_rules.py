"""Standard Webhooks signatures, the retry schedule, and the addresses a webhook never reaches."""

from __future__ import annotations

import base64
import ipaddress
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crocevia_notifications.domain.webhooks import (
    embedded_ipv4,
    forbidden_address,
    headers,
    new_secret,
    retry_delay,
    sign,
    signing_secrets,
)


def test_a_signed_delivery_verifies_with_the_standardwebhooks_library():
    secret = new_secret()
    body = json.dumps({"type": "referral.requested", "data": {"referral_id": "r-1"}}).encode()
    signed = headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, signed) == {"type": "referral.requested", "data": {"referral_id": "r-1"}}


def test_a_tampered_body_or_another_secret_does_not_verify():
    secret = new_secret()
    signed = headers([secret], "msg_1", int(time.time()), b'{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b'{"a":1}', signed)


def test_during_a_rotation_both_secrets_sign_and_either_verifies():
    old, new = new_secret(), new_secret()
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    keys = signing_secrets(new, old, now + timedelta(hours=24), now)
    assert keys == [new, old]
    signed = headers(keys, "msg_1", int(time.time()), b'{"a":1}')
    assert len(signed["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(b'{"a":1}', signed) == {"a": 1}
    assert Webhook(new).verify(b'{"a":1}', signed) == {"a": 1}


def test_after_the_grace_period_only_the_new_secret_signs():
    old, new = new_secret(), new_secret()
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert signing_secrets(new, old, now, now) == [new]
    assert signing_secrets(new, old, now - timedelta(seconds=1), now) == [new]
    assert signing_secrets(new, None, None, now) == [new]
    signed = headers(signing_secrets(new, old, now, now), "msg_1", int(time.time()), b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(b"{}", signed)
    with pytest.raises(ValueError, match="at least one secret"):
        headers([], "msg_1", int(time.time()), b"{}")


def test_a_secret_is_whsec_and_32_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_the_signature_is_the_known_vector_of_the_specification():
    # The example of the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_retries_follow_the_schedule_and_then_stop():
    schedule = [5, 300, 1800]
    assert [retry_delay(schedule, n) for n in (1, 2, 3, 4)] == [5, 300, 1800, None]
    assert 5 <= retry_delay(schedule, 1, jitter=1.0) <= 5.5  # type: ignore[operator]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "fe80::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_forbidden(address):
    assert forbidden_address(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert forbidden_address(address) is None


# IPv6 forms that carry an IPv4 address, built from it; the Teredo server is a public one.
TEREDO_SERVER = ipaddress.IPv4Address("65.54.227.120")
EMBEDDINGS = {
    "ipv4-mapped": lambda v4: ipaddress.IPv6Address(f"::ffff:{v4}"),
    "ipv4-compatible": lambda v4: ipaddress.IPv6Address(int(v4)),
    "6to4": lambda v4: ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1),
    "teredo": lambda v4: ipaddress.IPv6Address(
        (0x20010000 << 96) | (int(TEREDO_SERVER) << 64) | (0x8000 << 48) | (0x1234 << 32) | (int(v4) ^ 0xFFFFFFFF)
    ),
    "nat64": lambda v4: ipaddress.IPv6Address(f"64:ff9b::{v4}"),
    "nat64-local": lambda v4: ipaddress.IPv6Address(f"64:ff9b:1::{v4}"),
}


@pytest.mark.parametrize("form", sorted(EMBEDDINGS))
@pytest.mark.parametrize("internal", ["127.0.0.1", "10.0.0.1", "169.254.169.254"])
def test_an_ipv6_address_carrying_an_internal_ipv4_one_is_forbidden(form, internal):
    address = EMBEDDINGS[form](ipaddress.IPv4Address(internal))
    reason = forbidden_address(str(address))
    assert reason is not None and f"carries {internal}" in reason


@pytest.mark.parametrize("form", sorted(EMBEDDINGS))
def test_an_ipv6_address_carrying_a_public_ipv4_one_is_allowed(form):
    assert forbidden_address(str(EMBEDDINGS[form](ipaddress.IPv4Address("93.184.215.14")))) is None


def test_the_embedded_address_is_read_where_each_form_keeps_it():
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("2002:7f00:1::"))] == ["127.0.0.1"]
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:f5ff:fffe"))] == [
        "65.54.227.120",
        "10.0.0.1",
    ]
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("64:ff9b::a9fe:a9fe"))] == ["169.254.169.254"]
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700:4700::1111")) == []


def test_a_teredo_address_with_an_internal_server_is_forbidden():
    address = (0x20010000 << 96) | (int(ipaddress.IPv4Address("10.0.0.1")) << 64) | (0x5DB8D70E ^ 0xFFFFFFFF)
    assert forbidden_address(str(ipaddress.IPv6Address(address))) is not None


@pytest.mark.parametrize("address", ["::", "::1"])
def test_the_unspecified_and_loopback_ipv6_addresses_are_not_read_as_ipv4(address):
    assert embedded_ipv4(ipaddress.IPv6Address(address)) == []
    assert forbidden_address(address) is not None
