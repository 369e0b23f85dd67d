"""More referrals between other agencies, sent and acted on through the nodes' HTTP API,
so that the indicators have several flows to draw (one rejected, some open)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from crocevia_common.auth import ensure_dev_key, issue_dev_token

# sender, receiver, service, what the receiver does ("action" or "action:code")
FLOWS = [
    ("pioltello-sociali", "csl-lavoro", "orientamento-lavoro", ["accept", "start"]),
    ("pioltello-sociali", "agenzia-casa-sudest", "housing-first", ["reject:no-capacity"]),
    ("pioltello-stranieri", "prefettura-mediazione", "mediazione-linguistica", ["accept"]),
    ("pioltello-casa", "coop-abitare", "accompagnamento-abitativo", ["accept", "start", "complete:got-help"]),
    ("pioltello-scuola", "cpia2", "licenza-media", []),
]
CODE_FIELD = {"reject": "reason_code", "complete": "outcome"}


def _wait(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "the network did not get there in time"
        time.sleep(0.2)
    return found


def seed_referrals(network: dict, key_file: Path) -> list[str]:
    """Send and act on :data:`FLOWS`; return the referral ids once the audit has them all."""
    key = ensure_dev_key(key_file)

    def bearer(agency: str, role: str = "operator") -> dict[str, str]:
        token = issue_dev_token(key, agency=agency, roles=[role], sub=f"{role}-{agency}")
        return {"Authorization": f"Bearer {token}"}

    ids, expected = [], 0
    with httpx.Client(timeout=10, trust_env=False) as http:
        for sender, receiver, service, actions in FLOWS:
            body = {
                "to_agency": receiver,
                "service_id": service,
                "reason": "demo",
                "legal_basis": {
                    "basis": "consent",
                    "captured_by": f"operator-{sender}",
                    "captured_at": datetime.now(UTC).isoformat(),
                },
                "person": {"given_name": "Demo", "family_name": "Household"},
            }
            sent = http.post(f"{network['agencies'][sender]}/referrals", json=body, headers=bearer(sender))
            assert sent.status_code == 201, sent.text
            rid = sent.json()["id"]
            node = network["agencies"][receiver]
            url, headers = f"{node}/referrals/{rid}", bearer(receiver)
            _wait(lambda url=url, headers=headers: http.get(url, headers=headers).status_code == 200)
            for step in actions:
                action, _, code = step.partition(":")
                payload = {CODE_FIELD[action]: code} if code else None
                done = http.post(f"{url}/{action}", json=payload, headers=headers)
                assert done.status_code == 200, done.text
            ids.append(rid)
            expected += 2 + len(actions)
        auditor = bearer("steering-committee", "network-auditor")
        _wait(
            lambda: (
                sum(
                    len(
                        http.get(f"{network['audit']}/trail", params={"referral_id": rid}, headers=auditor).json()[
                            "items"
                        ]
                    )
                    for rid in ids
                )
                == expected
            )
        )
    return ids
