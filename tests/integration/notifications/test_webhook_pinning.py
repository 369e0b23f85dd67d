"""A webhook goes to the address the guard checked, not to whatever the name resolves to
a moment later (DNS rebinding)."""

from __future__ import annotations

from crocevia_notifications.adapters import webhook_client
from crocevia_notifications.adapters.addresses import pinned
from crocevia_notifications.adapters.webhook_client import HttpWebhookClient
from tests.integration.notifications.support import WebhookReceiver


def test_a_pinned_url_connects_to_the_address_and_keeps_the_host():
    assert pinned("https://hooks.example:8443/in?x=1", "93.184.216.34") == (
        "https://93.184.216.34:8443/in?x=1",
        {"Host": "hooks.example:8443"},
        {"sni_hostname": "hooks.example"},
    )
    assert pinned("http://hooks.example/in", "2001:db8::1") == (
        "http://[2001:db8::1]/in",
        {"Host": "hooks.example"},
        {},
    )


async def test_the_client_sends_to_the_checked_address_with_the_original_host(monkeypatch):
    checked: list[str] = []

    async def guard(url: str, _allowed: object) -> str:
        checked.append(url)
        return "127.0.0.1"  # what the guard resolved and approved

    monkeypatch.setattr(webhook_client, "check_url", guard)
    receiver = WebhookReceiver()
    async with receiver.running():
        client = HttpWebhookClient(timeout_seconds=5, allowed_hosts=())
        try:
            # The name does not resolve at all: only the pinned address can be reached.
            url = f"http://hooks.invalid:{receiver.port}/pinned"
            outcome = await client.post(url, {"webhook-id": "msg_1"}, b"{}")
        finally:
            await client.close()
    assert outcome.ok, outcome.error
    assert checked == [url]
    [hit] = receiver.hits["pinned"]
    assert hit.headers["host"] == f"hooks.invalid:{receiver.port}"
    assert hit.headers["webhook-id"] == "msg_1"
