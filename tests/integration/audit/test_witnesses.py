"""The audit and its witnesses, each witness its own process: every new checkpoint is
cosigned and served with the cosignatures; verifiers (the CLI, the integrity page, the
status route) hold it to a k of n policy; a trail rewritten consistently and re-signed with
the log's own key is refused by the witness, and every verifier reports it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey
from pydantic import SecretStr
from sqlalchemy import select, update

from crocevia_audit.adapters.tables import cosignatures
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.entrypoints import cli
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_common.db import Database
from crocevia_common.key_files import encode_seed
from crocevia_common.tlog.checkpoint import CheckpointError
from crocevia_common.tlog.note import SignatureLine, parse_verifier_key, verifier_key
from crocevia_common.tlog.policy import WitnessPolicy, open_witnessed_checkpoint
from crocevia_common.tlog.witness_protocol import origin_hash
from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.integration.audit.events import Network, checked
from tests.integration.audit.wire import jetstream, publish
from tests.kit.hostile import assert_problem
from tests.kit.nats import free_port
from tests.kit.services import eventually
from tests.kit.witness import WitnessProcess

POOL = 8  # logs the module's witnesses know: each test takes one of its own


class Log:
    """A log the witnesses know: its origin and signing key."""

    def __init__(self, number: int) -> None:
        self.origin = f"crocevia.test/witnessed-{number}"
        self.key = SigningKey.generate()

    @property
    def vkey(self) -> str:
        return verifier_key(self.origin, bytes(self.key.verify_key))

    def settings(self, *witnesses: WitnessProcess, **overrides: Any) -> dict[str, Any]:
        """The audit's settings for this log, asking ``witnesses`` to cosign."""
        return {
            "origin": self.origin,
            "audit_signing_key": SecretStr(encode_seed(self.key)),
            "witnesses": [{"url": w.url, "key": key_of(w)} for w in witnesses],
            "witness_retry_seconds": 0.2,
            **overrides,
        }


@pytest.fixture(scope="module")
def pool() -> list[Log]:
    return [Log(i) for i in range(POOL)]


def started(workdir: Path, name: str, logs: list[Log]) -> WitnessProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    process = WitnessProcess(workdir, f"sqlite+aiosqlite:///{workdir / 'witness.db'}", [log.vkey for log in logs])
    process.name = name
    return process.start()


@pytest.fixture(scope="module")
def witnesses(tmp_path_factory: pytest.TempPathFactory, pool: list[Log]) -> Iterator[list[WitnessProcess]]:
    """Two witnesses run by two parties, each its own process, witnessing every log of the pool."""
    root = tmp_path_factory.mktemp("witnesses")
    running: list[WitnessProcess] = []
    try:
        for name in ("prefettura.test/witness", "partner.test/witness"):
            running.append(started(root / name.split(".")[0], name, pool))
        yield running
    finally:
        for process in running:
            process.stop()


@pytest.fixture
def log(pool: list[Log]) -> Log:
    return pool.pop()


def key_of(witness: WitnessProcess) -> str:
    return httpx.get(f"{witness.url}/key", timeout=5).text.strip()


def policy(*witnesses: WitnessProcess, quorum: int | None = None) -> WitnessPolicy:
    return WitnessPolicy.from_keys([key_of(w) for w in witnesses], len(witnesses) if quorum is None else quorum)


async def held_by(witness: WitnessProcess, log: Log) -> str:
    """The checkpoint ``witness`` cosigned last for ``log``, as it serves it to monitors."""
    async with httpx.AsyncClient(base_url=witness.url) as client:
        return (await client.get(f"/{origin_hash(log.origin)}/checkpoint")).text


async def witnessed_at(audit: httpx.AsyncClient, size: int) -> dict[str, Any]:
    """The audit's own report once its latest checkpoint has ``size`` entries and meets its policy."""

    async def report() -> dict[str, Any] | None:
        answer = (await audit.get("/checkpoint/witnesses")).json()
        return answer if answer["size"] == size and answer["ok"] else None

    found: dict[str, Any] = await eventually(report, timeout=20)
    return found


async def test_each_new_checkpoint_is_cosigned_by_its_witnesses_and_served_with_their_lines(
    audit_factory, nats_url, witnesses, log, database_url, tokens
):
    net = Network()
    both = policy(*witnesses)
    deliveries = [net.event("requested", f"ref-{i}") for i in range(5)]
    async with audit_factory(database_url, **log.settings(*witnesses)) as audit, jetstream(nats_url) as js:
        await publish(js, deliveries)
        await witnessed_at(audit, 5)
        first = (await audit.get("/checkpoint")).text
        proven = await audit.get(
            "/proofs/inclusion",
            params={"event_id": json.loads(deliveries[2].payload)["id"], "tree_size": 5},
            headers=tokens.bearer("x", "network-auditor"),
        )
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(5, 12)])
        report = await witnessed_at(audit, 12)  # cosigned from 5 with a consistency proof
        served = (await audit.get("/checkpoint")).text
        _, finding = await cli.check_latest(audit, None, both)
    assert proven.json()["checkpoint"] == first  # an inclusion proof names the cosigned checkpoint
    for note, size in ((first, 5), (served, 12)):
        witnessed = open_witnessed_checkpoint(note, [parse_verifier_key(log.vkey)], both, origin=log.origin)
        assert witnessed.checkpoint.size == size and len(witnessed.cosigned) == 2
    assert finding.ok and "cosigned by at least 2 of its 2 witnesses" in finding.message
    assert [w["cosigned_at"] is not None for w in report["witnesses"]] == [True, True]
    for witness in witnesses:  # each holds the log's latest checkpoint as its own
        held = await held_by(witness, log)
        assert held.split("\n\n")[0] == served.split("\n\n")[0]


async def test_a_checkpoint_with_a_missing_or_forged_cosignature_fails_the_policy(
    audit_factory, nats_url, witnesses, log, tokens, tmp_path
):
    net = Network()
    prefettura, partner = witnesses
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    async with audit_factory(url, **log.settings(prefettura)) as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(3)])
        await witnessed_at(audit, 3)
        note = (await audit.get("/checkpoint")).text
        with pytest.raises(CheckpointError, match="cosigned by 1 of the 2 witnesses the policy names; 2 are required"):
            await cli.check_latest(audit, None, policy(prefettura, partner))
        assert (await cli.check_latest(audit, None, policy(prefettura, partner, quorum=1)))[1].ok

        async with opened(url) as db, db.transaction() as session:
            latest = cosignatures.c.size == 3
            line = SignatureLine.parse((await session.execute(select(cosignatures.c.line).where(latest))).scalar_one())
            forged = bytearray(line.signature)
            forged[-1] ^= 0x01
            await session.execute(
                update(cosignatures).where(latest).values(line=str(SignatureLine(line.name, bytes(forged))))
            )
        with pytest.raises(CheckpointError, match="does not verify"):
            await cli.check_latest(audit, None, policy(prefettura))
        report = (await audit.get("/checkpoint/witnesses")).json()
        audit.cookies.set(SESSION_COOKIE, tokens.session("cpia2", "auditor"))
        page = await audit.get("/ui/integrity", params={"lang": "en"})
    assert not report["ok"] and "does not verify" in report["message"]
    assert page.status_code == 200
    assert 'id="witness-verdict" data-state="fail"' in page.text and "NOT cosigned" in page.text
    # The page's script checks the cosignatures itself, against the policy it names.
    assert json.dumps({"keys": [key_of(prefettura)], "quorum": 1}) in page.text
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(note)
    assert cli.read_checkpoint(saved, parse_verifier_key(log.vkey), policy(prefettura)).size == 3
    with pytest.raises(CheckpointError, match="cosigned by 1 of the 2"):
        cli.read_checkpoint(saved, parse_verifier_key(log.vkey), policy(prefettura, partner))


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()


async def rewrite(url: str, log: Log, net: Network, count: int) -> None:
    """What an operator holding the database and the log's key can do: a trail of ``count``
    other entries, its tree and checkpoint recomputed, signed with the log's own key."""
    async with opened(url) as db:
        await db.migrate(MIGRATIONS)
        writer = TrailWriter(unit_of_work(db))
        await writer.append(checked([net.event("requested", f"forged-{i}") for i in range(count)]))
        signer = Checkpointer(unit_of_work(db), writer, log.key, log.origin, every_entries=1, every_seconds=60)
        assert await signer.sign_if_due(on_time=True) is not None


async def test_a_trail_rewritten_and_re_signed_with_the_log_key_is_refused_and_every_verifier_reports_it(
    audit_factory, nats_url, witnesses, log, tokens, tmp_path, capsys
):
    net = Network()
    prefettura, _ = witnesses
    honest_db, rewritten_db = (f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in ("honest", "rewritten"))
    async with audit_factory(honest_db, **log.settings(prefettura)) as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(5)])
        await witnessed_at(audit, 5)
        honest = (await audit.get("/checkpoint")).text
    await rewrite(rewritten_db, log, net, 7)
    auditor = tokens.bearer("x", "network-auditor")

    async with audit_factory(rewritten_db, **log.settings(prefettura)) as audit:

        async def refused() -> dict[str, Any] | None:
            answer = (await audit.get("/checkpoint/witnesses")).json()
            return answer if answer["witnesses"][0]["last_answer"] else None

        report = await eventually(refused, timeout=20)
        served = (await audit.get("/checkpoint")).text
        recomputed = (await audit.get("/verify", headers=auditor)).json()
        exported = await audit.get("/trail/export", headers=auditor)
        with pytest.raises(CheckpointError, match="cosigned by 0 of the 1 witnesses"):
            await cli.check_latest(audit, None, policy(prefettura))
        audit.cookies.set(SESSION_COOKIE, tokens.session("x", "network-auditor"))
        page = await audit.get("/ui/integrity", params={"lang": "en"})

    # The rewritten trail recomputes to its checkpoint, signed by the log's key...
    assert (recomputed["first_mismatch"], recomputed["bad_checkpoints"]) == (None, [])
    assert open_witnessed_checkpoint(served, [parse_verifier_key(log.vkey)], WitnessPolicy((), 0)).checkpoint.size == 7
    # ...but the witness refused it (not consistent with what it cosigned) and still holds the honest one.
    assert "422" in report["witnesses"][0]["last_answer"] and "not-consistent" in report["witnesses"][0]["last_answer"]
    held = await held_by(prefettura, log)
    assert held.split("\n\n")[0] == honest.split("\n\n")[0]
    # Every verifier reports it: the audit's own reports, its integrity page, the CLI.
    assert not report["ok"] and "cosigned by 0 of the 1 witnesses" in report["message"]
    assert recomputed["witnessed"] == report
    # (/verify also finds that what the log published on AUDIT is not what it holds now.)
    assert not recomputed["ok"] and recomputed["published"]["counts"]["root-differs"] >= 1
    assert 'data-state="fail"' in page.text and "cosigned by 0 of the 1 witnesses" in page.text
    export, checkpoint = tmp_path / "trail.jsonl", tmp_path / "checkpoint.txt"
    export.write_bytes(exported.content)
    checkpoint.write_text(served)
    arguments = ["verify", str(export), "--checkpoint", str(checkpoint), "--key", log.vkey]
    assert cli.main(arguments) == 0  # with the log's key alone the forgery passes
    capsys.readouterr()
    assert cli.main([*arguments, "--witness", key_of(prefettura)]) == 1
    assert "cosigned by 0 of the 1 witnesses the policy names; 1 are required" in capsys.readouterr().err
    assert base64.b64decode(exported.headers["crocevia-checkpoint"]).decode() == served


async def test_a_receipt_is_proven_against_a_checkpoint_its_witnesses_cosigned_never_one_waiting_for_them(
    audit_factory, nats_url, witnesses, log, tokens, tmp_path
):
    net = Network()
    _, partner = witnesses
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    auditor = tokens.bearer("x", "network-auditor")
    unreachable = {"witnesses": [{"url": f"http://127.0.0.1:{free_port()}", "key": key_of(partner)}]}
    async with audit_factory(url, **{**log.settings(partner), **unreachable}) as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", "ref-1"), net.event("received", "ref-1")])

        async def signed() -> bool:
            answer = await audit.get("/checkpoint")
            return answer.status_code == 200 and answer.text.split("\n")[1] == "2"

        await eventually(signed, timeout=20)
        waiting = await audit.get("/receipts/ref-1", headers=auditor)
    assert_problem(waiting, 409, "receipt-not-ready")  # signed by the log, not yet cosigned

    async with audit_factory(url, **log.settings(partner)) as audit:  # the witness answers again
        await witnessed_at(audit, 2)
        receipt = (await audit.get("/receipts/ref-1", headers=auditor)).json()
    witnessed = open_witnessed_checkpoint(receipt["checkpoint"], [parse_verifier_key(log.vkey)], policy(partner))
    assert witnessed.checkpoint.size == receipt["tree_size"] == 2 and len(witnessed.cosigned) == 1
    assert [e["event"] for e in receipt["events"]] == ["requested", "received"]
