"""``make up`` seeds a new data directory with fictional households in every state, through
the nodes' API; started again on the same directory, it adds none."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from crocevia_common.auth import ensure_dev_key, issue_dev_token
from tests.kit.network import crocevia_up

pytestmark = pytest.mark.e2e
CASA, SOCIALI, STRANIERI, SCUOLA = "pioltello-casa", "pioltello-sociali", "pioltello-stranieri", "pioltello-scuola"
# (sender, receiver, given name, status, business status, erased, in a pathway), as both nodes show it.
EXPECTED = {
    (CASA, "cpia2", "Ada", "received", None, False, False),
    (SOCIALI, "csl-lavoro", "Bruno", "accepted", None, False, False),
    (STRANIERI, "prefettura-mediazione", "Carla", "in-progress", None, False, False),
    (CASA, "coop-abitare", "Dario", "on-hold", None, False, False),
    (SCUOLA, "cpia2", "Elena", "completed", None, False, False),
    (SOCIALI, "agenzia-casa-sudest", "Franco", "rejected", None, False, False),
    (CASA, "cpia2", "Giulia", "received", "info-requested", False, False),
    (STRANIERI, SCUOLA, None, "accepted", None, True, False),  # consent withdrawn: erased at both
    (CASA, "cpia2", "Ines", "accepted", None, False, True),
    (CASA, "csl-lavoro", "Ines", "received", None, False, True),
    (CASA, "prefettura-mediazione", "Ines", "received", None, False, True),
}
Row = tuple[str, str, str | None, str, str | None, bool, bool]


@dataclass
class Start:
    output: str
    rows: list[tuple[str, Row]]  # (the node that shows it, the referral)
    pathways: list[dict]


def _start(data: Path) -> Start:
    """Start the network as ``make up`` does, read every node's referrals, stop it."""
    with crocevia_up(data, seed=True) as (network, proc):
        key = ensure_dev_key(data / "dev-jwt.key")
        rows, pathways = [], []
        with httpx.Client(timeout=10, trust_env=False) as http:
            for agency, url in network["agencies"].items():
                token = issue_dev_token(key, agency=agency, roles=["operator"], sub=f"operator-{agency}")
                headers = {"Authorization": f"Bearer {token}"}
                found = http.get(f"{url}/referrals", params={"include_closed": "true"}, headers=headers)
                assert found.status_code == 200, found.text
                rows += [(agency, _row(item)) for item in found.json()["items"]]
                pathways += http.get(f"{url}/pathways", headers=headers).json()["items"]
        output = _stop(proc)
    return Start(output, rows, pathways)


def _row(item: dict) -> Row:
    person = item.get("person")
    return (
        item["sender_agency"],
        item["receiver_agency"],
        person["given_name"] if person else None,
        item["status"],
        item.get("business_status"),
        item.get("erased") is not None,
        item.get("pathway") is not None,
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    return proc.stdout.read() if proc.stdout else ""


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Start]]:
    data = tmp_path_factory.mktemp("demo")
    yield data, _start(data)


def test_a_new_network_shows_each_seeded_household_at_both_of_its_nodes(first: tuple[Path, Start]) -> None:
    _, start = first
    assert (
        "seeded 9 fictional households: received, accepted, in progress, on hold, completed, "
        "rejected with a suggestion, an open question, a withdrawn consent, a pathway of three referrals"
    ) in start.output
    at_sender = {row for node, row in start.rows if node == row[0]}
    at_receiver = {row for node, row in start.rows if node == row[1]}
    assert at_sender == EXPECTED
    assert at_receiver == EXPECTED
    assert len(start.rows) == 2 * len(EXPECTED)  # no referral elsewhere, none twice
    assert [(p["lead_agency"], len(p["referrals"])) for p in start.pathways] == [(CASA, 3)]
    assert all(row[2] is None or row[2] != "Amina" for _, row in start.rows)  # the README's person is its own


def test_a_second_start_on_the_same_data_seeds_nothing_again(first: tuple[Path, Start]) -> None:
    data, start = first
    again = _start(data)
    assert "none added, the data directory was in use before" in again.output
    assert "fictional households" not in again.output
    assert sorted(again.rows, key=repr) == sorted(start.rows, key=repr)
