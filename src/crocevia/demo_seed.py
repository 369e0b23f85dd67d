"""The demo network's first data: a few fictional households in every state a referral
takes, sent and acted on through the nodes' HTTP API with development tokens, as each
agency's staff would (never by writing a database).

``crocevia up`` seeds a new data directory once, every household at the same time, and
returns when every sender sees its household where the demo leaves it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from crocevia_common.auth import issue_dev_token

__all__ = ["HOUSEHOLDS", "PATHWAY", "Household", "Pathway", "SeedError", "Step", "seed_demo", "seed_network"]
FAMILY = "Esempio"  # every demo person's family name: fictional at a glance
POLL_SECONDS = 0.5  # between reads while waiting for another node (each read is in the access log)


class SeedError(RuntimeError):
    """A household could not be seeded; the message names its state and the step, never a person."""


@dataclass(frozen=True, slots=True)
class Step:
    """One action at a node: by the referral's ``receiver`` or its ``sender``."""

    action: str
    by: str = "receiver"
    body: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Household:
    """One referral and what the two agencies do with it; ``state`` says where it is left."""

    state: str
    given_name: str
    sender: str
    receiver: str
    service_id: str
    reason: str
    steps: tuple[Step, ...] = ()
    status: str = "received"  # as the sender sees it at the end
    business_status: str | None = None
    erased: bool = False


@dataclass(frozen=True, slots=True)
class Pathway:
    """One household referred to several services at once; ``accepted_by`` accepts its own."""

    state: str
    given_name: str
    lead: str
    services: tuple[tuple[str, str], ...]  # (agency, service id)
    needs: str
    accepted_by: str


HOUSEHOLDS: tuple[Household, ...] = (
    Household("received", "Ada", "pioltello-casa", "cpia2", "italiano-a1", "Corso di italiano A1"),
    Household(
        "accepted",
        "Bruno",
        "pioltello-sociali",
        "csl-lavoro",
        "orientamento-lavoro",
        "Orientamento al lavoro",
        (Step("accept"),),
        status="accepted",
    ),
    Household(
        "in progress",
        "Carla",
        "pioltello-stranieri",
        "prefettura-mediazione",
        "mediazione-linguistica",
        "Mediazione per il rinnovo del permesso",
        (Step("accept"), Step("start")),
        status="in-progress",
    ),
    Household(
        "on hold",
        "Dario",
        "pioltello-casa",
        "coop-abitare",
        "accompagnamento-abitativo",
        "Accompagnamento dopo lo sfratto",
        (Step("accept"), Step("start"), Step("hold", body={"reason_code": "person-unavailable"})),
        status="on-hold",
    ),
    Household(
        "completed",
        "Elena",
        "pioltello-scuola",
        "cpia2",
        "licenza-media",
        "Licenza media per adulti",
        (Step("accept"), Step("start"), Step("complete", body={"outcome": "got-help"})),
        status="completed",
    ),
    Household(
        "rejected with a suggestion",
        "Franco",
        "pioltello-sociali",
        "agenzia-casa-sudest",
        "housing-first",
        "Casa per una persona senza dimora",
        (Step("reject", body={"reason_code": "no-capacity", "suggested_agency": "coop-abitare"}),),
        status="rejected",
    ),
    Household(
        "an open question",
        "Giulia",
        "pioltello-casa",
        "cpia2",
        "italiano-a2",
        "Corso di italiano A2",
        (Step("request-info", body={"question": "Quali sere è libera per il corso?"}),),
        business_status="info-requested",
    ),
    Household(
        "a withdrawn consent",
        "Hamid",
        "pioltello-stranieri",
        "pioltello-scuola",
        "iscrizione-scolastica",
        "Iscrizione a scuola dei figli",
        (Step("accept"), Step("withdraw-consent", by="sender")),
        status="accepted",
        erased=True,
    ),
)
PATHWAY = Pathway(
    "a pathway of three referrals",
    "Ines",
    "pioltello-casa",
    (
        ("cpia2", "licenza-media"),
        ("csl-lavoro", "orientamento-lavoro"),
        ("prefettura-mediazione", "mediazione-linguistica"),
    ),
    "Casa, lavoro e italiano insieme",
    accepted_by="cpia2",
)


def _consent(agency: str) -> dict[str, str]:
    return {"basis": "consent", "captured_by": f"operator-{agency}", "captured_at": datetime.now(UTC).isoformat()}


def _person(given_name: str) -> dict[str, str]:
    return {"given_name": given_name, "family_name": FAMILY, "household": "Famiglia di esempio (dati inventati)"}


def _status_is(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda referral: referral["status"] == status


class _Seeder:
    def __init__(self, http: httpx.AsyncClient, nodes: dict[str, str], key: bytes, timeout: float) -> None:
        self.http, self.nodes, self.key, self.timeout = http, nodes, key, timeout

    def _headers(self, agency: str) -> dict[str, str]:
        token = issue_dev_token(self.key, agency=agency, roles=["operator"], sub=f"operator-{agency}")
        return {"Authorization": f"Bearer {token}"}

    async def call(self, state: str, agency: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """``method path`` at ``agency``'s node; a refusal raises SeedError with the problem's type."""
        answer = await self.http.request(
            method, f"{self.nodes[agency]}{path}", json=body, headers=self._headers(agency)
        )
        if answer.status_code not in (200, 201):
            kind = answer.json().get("type", "") if answer.headers.get("content-type", "").endswith("json") else ""
            what = path.rsplit("/", 1)[-1] if path.count("/") > 2 else path.split("/")[1]  # never an id
            raise SeedError(f"{state}: {method} {what} at {agency} answered {answer.status_code} {kind}")
        found: dict[str, Any] = answer.json()
        return found

    async def until(self, state: str, agency: str, rid: str, holds: Callable[[dict[str, Any]], bool]) -> None:
        """Wait until ``agency``'s node shows referral ``rid`` as ``holds`` wants it."""
        deadline = time.monotonic() + self.timeout
        while not holds(await self.call(state, agency, "GET", f"/referrals/{rid}")):
            if time.monotonic() > deadline:
                raise SeedError(f"{state}: {agency} did not show it within {self.timeout:.0f} s")
            await asyncio.sleep(POLL_SECONDS)

    async def arrived(self, state: str, receiver: str, rid: str) -> None:
        """Wait until ``receiver``'s node has referral ``rid`` (until then it answers 404)."""
        url, headers = f"{self.nodes[receiver]}/referrals/{rid}", self._headers(receiver)
        deadline = time.monotonic() + self.timeout
        while (await self.http.get(url, headers=headers)).status_code != 200:
            if time.monotonic() > deadline:
                raise SeedError(f"{state}: {receiver} did not receive it within {self.timeout:.0f} s")
            await asyncio.sleep(POLL_SECONDS)

    async def household(self, h: Household) -> None:
        body = {
            "to_agency": h.receiver,
            "service_id": h.service_id,
            "reason": h.reason,
            "legal_basis": _consent(h.sender),
            "person": _person(h.given_name),
        }
        rid = str((await self.call(h.state, h.sender, "POST", "/referrals", body))["id"])
        await self.arrived(h.state, h.receiver, rid)
        # Each node acts on its own copy; the lifecycle settles steps that cross on the way.
        for step in h.steps:
            agency = h.receiver if step.by == "receiver" else h.sender
            await self.call(h.state, agency, "POST", f"/referrals/{rid}/{step.action}", step.body or None)

        def finished(r: dict[str, Any]) -> bool:
            return (
                r["status"] == h.status
                and (h.business_status is None or r.get("business_status") == h.business_status)
                and (r.get("erased") is not None) == h.erased
            )

        await self.until(h.state, h.sender, rid, finished)

    async def pathway(self, p: Pathway) -> None:
        services = [{"to_agency": agency, "service_id": service} for agency, service in p.services]
        body = {
            "services": services,
            "needs": p.needs,
            "legal_basis": _consent(p.lead),
            "person": _person(p.given_name),
        }
        opened = await self.call(p.state, p.lead, "POST", "/pathways", body)
        referrals = {r["receiver_agency"]: str(r["id"]) for r in opened["referrals"]}
        accepted = referrals[p.accepted_by]
        await self.arrived(p.state, p.accepted_by, accepted)
        await self.call(p.state, p.accepted_by, "POST", f"/referrals/{accepted}/accept")
        for agency, rid in referrals.items():
            await self.until(p.state, p.lead, rid, _status_is("accepted" if agency == p.accepted_by else "received"))


async def seed_demo(
    nodes: dict[str, str],
    dev_key: bytes,
    *,
    timeout: float = 60.0,
) -> list[str]:
    """Seed :data:`HOUSEHOLDS` and :data:`PATHWAY` at the nodes ``nodes`` names (agency to
    URL), all at once; return the states seeded once every sender shows its own. Raise
    SeedError on a refusal or a state not reached within ``timeout`` seconds."""
    async with httpx.AsyncClient(timeout=15, trust_env=False) as http:
        seeder = _Seeder(http, nodes, dev_key, timeout)
        await asyncio.gather(*(seeder.household(h) for h in HOUSEHOLDS), seeder.pathway(PATHWAY))
    return [h.state for h in HOUSEHOLDS] + [PATHWAY.state]


async def _unless_stopped(work: Awaitable[list[str]], stop: threading.Event) -> list[str] | None:
    task = asyncio.ensure_future(work)
    while not task.done():
        if stop.is_set():
            task.cancel()
            return None
        await asyncio.wait({task}, timeout=0.2)
    return task.result()


def seed_network(
    nodes: dict[str, str], dev_key: bytes, stop: threading.Event, timeout: float = 60.0
) -> list[str] | None:
    """:func:`seed_demo` from synchronous code; None when ``stop`` is set before it is done."""
    try:
        return asyncio.run(_unless_stopped(seed_demo(nodes, dev_key, timeout=timeout), stop))
    except httpx.HTTPError as exc:
        raise SeedError(f"a node did not answer: {type(exc).__name__}") from None
