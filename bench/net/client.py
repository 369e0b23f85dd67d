"""The network's HTTP API as an outside client uses it: development tokens signed with the
network's key, referrals created at the nodes, lists read page by page."""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import VerifyKey

from crocevia_common.auth import ensure_dev_key, issue_dev_token
from crocevia_contracts.sealing import key_id

STEERING = "steering-committee"


@dataclass(frozen=True)
class Sent:
    """A referral the benchmark created: who sent it to whom, and when the request left."""

    id: str
    sender: str
    receiver: str
    sent_at: float  # wall clock (time.time()), comparable with the services' timestamps


class Refused(RuntimeError):
    """A request the service answered with an error: its status and problem ``type``."""

    def __init__(self, what: str, answer: httpx.Response) -> None:
        super().__init__(f"{what}: {answer.status_code} {answer.text[:300]}")
        self.status = answer.status_code
        try:
            problem = answer.json()
        except ValueError:
            problem = None
        self.type = str(problem.get("type", "")) if isinstance(problem, dict) else ""

    @property
    def answer(self) -> str:
        """``503 /problems/database-unavailable``: what the service said, no detail."""
        return f"{self.status} {self.type}".strip()


def when(text: str) -> float:
    """A service's ISO 8601 timestamp as wall-clock seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Client:
    """One HTTP client for every service of the network described by ``urls`` (its
    ``network.json``)."""

    def __init__(self, urls: Mapping[str, Any], key_file: Path) -> None:
        self.nodes: dict[str, str] = dict(urls["agencies"])
        self.audit: str = urls["audit"]
        self.notifications: str = urls["notifications"]
        self._key = ensure_dev_key(key_file)
        self._people = itertools.count()  # each referral about a person of its own
        self.http = httpx.AsyncClient(
            timeout=180.0,
            trust_env=False,  # loopback only, never through a proxy
            # Below uvicorn's 5 s keep-alive, so that no request goes out on a connection the
            # server is closing.
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=2.0),
        )
        self._services: dict[str, str] = {}
        self._tokens: dict[tuple[str, str], dict[str, str]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    def token(self, agency: str, role: str) -> dict[str, str]:
        """The bearer header of ``<role>-<agency>`` (made once: they last 12 hours)."""
        if (agency, role) not in self._tokens:
            value = issue_dev_token(self._key, agency=agency, roles=[role], sub=f"{role}-{agency}")
            self._tokens[agency, role] = {"Authorization": f"Bearer {value}"}
        return self._tokens[agency, role]

    def operator(self, agency: str) -> dict[str, str]:
        return self.token(agency, "operator")

    def auditor(self) -> dict[str, str]:
        return self.token(STEERING, "network-auditor")

    async def learn_services(self) -> None:
        """One service of each agency to refer people to (an available one when there is)."""
        first = next(iter(self.nodes.values()))
        for agency in self.nodes:
            answer = await self.http.get(f"{first}/directory/services", params={"agency": agency})
            answer.raise_for_status()
            offered = answer.json()
            available = [s for s in offered if s.get("capacity") == "available"] or offered
            self._services[agency] = available[0]["id"]

    async def signing_keys(self) -> dict[str, VerifyKey]:
        """Every agency's Ed25519 verifier key as the directory publishes it, by key id."""
        answer = await self.http.get(f"{next(iter(self.nodes.values()))}/directory/agencies")
        answer.raise_for_status()
        keys = [base64.b64decode(agency["public_keys"]["signing"]) for agency in answer.json()]
        return {key_id(key): VerifyKey(key) for key in keys}

    def pairs(self) -> itertools.cycle[tuple[str, str]]:
        """Every ordered pair of agencies, round and round."""
        return itertools.cycle([(a, b) for a in self.nodes for b in self.nodes if a != b])

    def one_pair(self) -> tuple[tuple[str, str], itertools.cycle[tuple[str, str]]]:
        """The first two agencies, and referrals between them, each way in turn."""
        a, b = list(self.nodes)[:2]
        return (a, b), itertools.cycle([(a, b), (b, a)])

    async def create(self, sender: str, receiver: str, key: str | None = None) -> Sent:
        """A referral from ``sender`` to ``receiver``, made once per ``key`` (its
        ``Idempotency-Key``; a new one by default)."""
        body = {
            "to_agency": receiver,
            "service_id": self._services[receiver],
            "priority": "routine",
            "reason": "Benchmark referral",
            "legal_basis": {"basis": "public-task"},
            # A person of their own: the node looks for the same person's open referrals.
            "person": {"given_name": "Bench", "family_name": f"Mark {next(self._people)}", "languages": ["it"]},
        }
        headers = {**self.operator(sender), "Idempotency-Key": key or str(uuid.uuid4())}
        sent_at = time.time()
        try:
            answer = await self.http.post(f"{self.nodes[sender]}/referrals", json=body, headers=headers)
        except httpx.TransportError:  # sent again with the same key: still one referral
            answer = await self.http.post(f"{self.nodes[sender]}/referrals", json=body, headers=headers)
        if answer.status_code not in (200, 201):
            raise Refused(f"POST /referrals at {sender}", answer)
        return Sent(answer.json()["id"], sender, receiver, sent_at)

    async def waiting_at(self, sender: str) -> bool:
        """Whether one of ``sender``'s referrals has not been received yet (one row read)."""
        answer = await self.http.get(
            f"{self.nodes[sender]}/referrals",
            params={"direction": "outgoing", "status": "requested", "limit": 1},
            headers=self.operator(sender),
        )
        answer.raise_for_status()
        return bool(answer.json()["items"])

    async def pages(
        self, url: str, headers: dict[str, str], params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (``items``, ``next_cursor``)."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {**(params or {}), "limit": 200}
        while True:
            answer = await self.http.get(url, params=query, headers=headers)
            answer.raise_for_status()
            page = answer.json()
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]

    async def referrals(self, agency: str) -> list[dict[str, Any]]:
        """Every referral ``agency``'s node holds, as its list shows them."""
        return await self.pages(f"{self.nodes[agency]}/referrals", self.operator(agency))

    async def inbox(self, agency: str) -> list[dict[str, Any]]:
        """Every item of the inbox of ``agency``'s operator."""
        return await self.pages(f"{self.notifications}/inbox", self.operator(agency))
