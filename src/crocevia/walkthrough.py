"""The README's walkthrough over HTTP, as its ``curl`` lines run it: pioltello-casa refers
Amina to cpia2's Italian course, cpia2 receives, accepts, starts and completes it, the
sender sees every step, the audit holds the trail and ``/verify`` is ok."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from crocevia_common.auth import issue_dev_token

SENDER, RECEIVER = "pioltello-casa", "cpia2"
STEPS = ["requested", "received", "accepted", "in-progress", "completed"]
REFERRAL = {
    "to_agency": RECEIVER,
    "service_id": "italiano-a1",
    "priority": "routine",
    "reason": "Italian course A1",
    "legal_basis": {"basis": "consent", "captured_by": "op-1", "captured_at": "2026-11-01T10:00:00Z"},
    "person": {"given_name": "Amina", "family_name": "K.", "languages": ["ar", "fr"]},
}


class WalkthroughFailed(AssertionError):
    """A step did not answer what the README shows; the message says which and what came."""


@dataclass(frozen=True, slots=True)
class WalkthroughUrls:
    sender: str
    receiver: str
    notifications: str
    audit: str


def run_walkthrough(
    urls: WalkthroughUrls, dev_key: bytes, say: Callable[[str], None], wait: float = 30.0
) -> dict[str, Any]:
    """Run every step, telling ``say`` one line each; return what ``/verify`` answered."""
    tokens = {
        SENDER: _bearer(dev_key, SENDER, "operator"),
        RECEIVER: _bearer(dev_key, RECEIVER, "operator"),
        "auditor": _bearer(dev_key, "steering-committee", "network-auditor"),
    }
    with httpx.Client(timeout=15, trust_env=False) as http:

        def read(url: str, who: str) -> Any:
            return _answer(http.get(url, headers=tokens[who]), 200)

        def until(what: str, probe: Callable[[], Any], holds: Callable[[Any], bool]) -> Any:
            deadline = time.monotonic() + wait
            while not holds(found := probe()):
                if time.monotonic() > deadline:
                    raise WalkthroughFailed(f"{what}: not within {wait:.0f} s; last answer: {found}")
                time.sleep(0.3)
            return found

        offered = _answer(http.get(f"{urls.sender}/directory/services", params={"agency": RECEIVER}), 200)
        _expect("cpia2's italiano-a1 in pioltello-casa's directory", any(s["id"] == "italiano-a1" for s in offered))
        say(f"ok: pioltello-casa's directory offers {RECEIVER}'s italiano-a1")

        sent = _answer(http.post(f"{urls.sender}/referrals", json=REFERRAL, headers=tokens[SENDER]), 201)
        referral = f"{urls.sender}/referrals/{sent['id']}"
        until("received at cpia2", lambda: read(referral, SENDER)["status"], lambda s: s == "received")
        say("ok: pioltello-casa sent cpia2 a referral; it says received")

        incoming = read(f"{urls.receiver}/referrals?direction=incoming", RECEIVER)["items"]
        arrived = [i for i in incoming if i["id"] == sent["id"]]
        _expect("cpia2 reads Amina's details", bool(arrived) and arrived[0]["person"]["given_name"] == "Amina")
        say("ok: cpia2 opened the sealed details")

        trail = f"{urls.audit}/trail?referral_id={sent['id']}&order=oldest"
        types = until("requested and received in the trail", lambda: _types(read(trail, "auditor")), _both_steps)
        say(f"ok: the audit's trail holds {', '.join(types)}")

        inbox = f"{urls.notifications}/inbox"
        until("cpia2's inbox", lambda: read(inbox, RECEIVER)["items"], lambda items: _mentions(items, sent["id"]))
        say("ok: cpia2's inbox tells of the referral")

        for action, status in (("accept", "accepted"), ("start", "in-progress"), ("complete", "completed")):
            body = {"outcome": "got-help"} if action == "complete" else None
            done = http.post(f"{urls.receiver}/referrals/{sent['id']}/{action}", json=body, headers=tokens[RECEIVER])
            _expect(f"cpia2 {action}s: {status}", _answer(done, 200)["status"] == status)
        say("ok: cpia2 accepted, started and completed it")

        until("every step at pioltello-casa", lambda: _events(read(referral, SENDER)), lambda e: e == STEPS)
        say(f"ok: pioltello-casa sees {', '.join(STEPS)}")

        verified = until(
            "/verify ok with a signed checkpoint over the referral",
            lambda: read(f"{urls.audit}/verify", "auditor"),
            lambda v: v["ok"] is True and (v["latest_checkpoint_size"] or 0) >= len(STEPS),
        )
        say(f"ok: the audit's /verify: {verified['entries']} entries recompute to the signed checkpoints")
        return dict(verified)


def _bearer(key: bytes, agency: str, role: str) -> dict[str, str]:
    token = issue_dev_token(key, agency=agency, roles=[role], sub=f"{role}-{agency}", ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def _answer(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise WalkthroughFailed(
            f"{response.request.method} {response.request.url.path}: HTTP {response.status_code} "
            f"(expected {status}): {response.text[:300]}"
        )
    return response.json()


def _expect(what: str, holds: bool) -> None:
    if not holds:
        raise WalkthroughFailed(what)


def _types(trail: dict[str, Any]) -> list[str]:
    return [str(item["type"]).removeprefix("org.crocevia.referral.").removesuffix(".v1") for item in trail["items"]]


def _both_steps(types: list[str]) -> bool:
    return {"requested", "received"} <= set(types)


def _mentions(items: list[dict[str, Any]], referral_id: str) -> bool:
    return any(item.get("referral_id") == referral_id for item in items)


def _events(referral: dict[str, Any]) -> list[str]:
    return [str(step["event"]) for step in referral["history"]]
