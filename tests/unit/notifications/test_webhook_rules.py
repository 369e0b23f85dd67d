"""Standard Webhooks signatures, the retry schedule, and the addresses a webhook never reaches."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crocevia_notifications.domain.webhooks import forbidden_address, headers, new_secret, retry_delay, sign


def test_a_signed_delivery_verifies_with_the_standardwebhooks_library():
    secret = new_secret()
    body = json.dumps({"type": "referral.requested", "data": {"referral_id": "r-1"}}).encode()
    signed = headers(secret, "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, signed) == {"type": "referral.requested", "data": {"referral_id": "r-1"}}


def test_a_tampered_body_or_another_secret_does_not_verify():
    secret = new_secret()
    signed = headers(secret, "msg_1", int(time.time()), b'{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b'{"a":1}', signed)


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
