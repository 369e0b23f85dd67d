"""Checkpoints, proofs, export and verification as an auditor uses them: over HTTP, with
the CLI checking what the service hands out."""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from crocevia_audit.adapters.tables import trail_entries
from crocevia_audit.entrypoints import cli
from crocevia_audit.handlers.export import CSV_COLUMNS
from crocevia_common.tlog.checkpoint import open_checkpoint
from crocevia_common.tlog.note import parse_verifier_key
from crocevia_common.tlog.verification import check_consistency, check_inclusion
from tests.integration.audit.events import Network
from tests.integration.audit.wire import jetstream, publish, stored
from tests.kit.services import eventually

PROBLEM = "application/problem+json"


async def checkpoint_of_size(audit, size: int) -> str:
    async def signed():
        answer = await audit.get("/checkpoint")
        return answer.headers.get("crocevia-tree-size") == str(size) and answer.text

    return await eventually(signed)


async def test_checkpoints_are_signed_served_and_published(audit_factory, nats_url):
    net = Network()
    async with audit_factory(checkpoint_every_entries=5) as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(7)])
        await checkpoint_of_size(audit, 7)
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(7, 12)])
        note = await checkpoint_of_size(audit, 12)
        key = parse_verifier_key((await audit.get("/checkpoint/key")).text)
        published = await eventually(lambda: _published_up_to(js, 12))
        # Which sizes get a checkpoint depends on how the consumer batched the entries and on
        # the clock (every 5 entries or every 0.5 s); each is signed and extends the one before.
        signed = [open_checkpoint(p, [key]) for p in published]
        proofs = [
            (await audit.get("/proofs/consistency", params={"from": a.size, "to": b.size})).json()["proof"]
            for a, b in itertools.pairwise(signed)
            if a.size > 0
        ]
        empty = await audit.get("/checkpoint", params={"size": 0})
        missing = await audit.get("/checkpoint", params={"size": 99})  # none of that size
    checkpoint = open_checkpoint(note, [key], origin="crocevia.test/trail")
    assert checkpoint.size == 12 and checkpoint.extensions[0].startswith("time ")
    assert published[-1] == note
    sizes = [c.size for c in signed]
    assert sizes == sorted(set(sizes)) and sizes[-1] == 12 and 7 in sizes
    for (a, b), proof in zip([pair for pair in itertools.pairwise(signed) if pair[0].size > 0], proofs, strict=True):
        check_consistency(a.size, b.size, a.root, b.root, [base64.b64decode(h) for h in proof])
    assert empty.status_code == 200 and open_checkpoint(empty.text, [key]).size == 0
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


async def _published_up_to(js, size):
    notes = [body.decode() for body, _ in await stored(js, "AUDIT", "audit.v1.checkpoint")]
    return notes and f"\n{size}\n" in notes[-1] and notes


async def test_proofs_over_http_verify_against_the_signed_checkpoint(audit_factory, nats_url, tokens):
    net = Network()
    deliveries = [net.event("requested", f"ref-{i}") for i in range(9)]
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(js, deliveries)
        note = await checkpoint_of_size(audit, 9)
        key = parse_verifier_key((await audit.get("/checkpoint/key")).text)
        checkpoint = open_checkpoint(note, [key])
        event_id = json.loads(deliveries[6].payload)["id"]
        inclusion = (
            await audit.get("/proofs/inclusion", params={"event_id": event_id}, headers=tokens.bearer("cpia2"))
        ).json()
        consistency = await audit.get("/proofs/consistency", params={"from": 4, "to": 9})  # open to anyone
        refused = {
            "no token": await audit.get("/proofs/inclusion", params={"event_id": event_id}),
            "not a number": await audit.get("/proofs/consistency", params={"from": "four", "to": 9}),
            "backwards": await audit.get("/proofs/consistency", params={"from": 5, "to": 3}),
            "too far": await audit.get("/proofs/consistency", params={"from": 5, "to": 90}),
            "not a party": await audit.get(
                "/proofs/inclusion", params={"event_id": event_id}, headers=tokens.bearer("csl-lavoro")
            ),
        }
    assert (inclusion["leaf_index"], inclusion["tree_size"], inclusion["checkpoint"]) == (6, 9, note)
    check_inclusion(
        base64.b64decode(inclusion["leaf_hash"]),
        6,
        9,
        [base64.b64decode(h) for h in inclusion["proof"]],
        checkpoint.root,
    )
    assert (
        consistency.status_code == 200 and consistency.json()["to_root"] == base64.b64encode(checkpoint.root).decode()
    )
    assert {k: (r.status_code, r.headers["content-type"]) for k, r in refused.items()} == {
        "no token": (401, PROBLEM),
        "not a number": (422, PROBLEM),
        "backwards": (422, PROBLEM),
        "too far": (422, PROBLEM),
        "not a party": (404, PROBLEM),
    }


async def test_an_export_verifies_offline_and_a_changed_line_does_not(audit_factory, nats_url, tokens, tmp_path):
    net = Network()
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(11)])
        note = await checkpoint_of_size(audit, 11)
        exported = await audit.get("/trail/export", headers=auditor)
        csv_export = await audit.get("/trail/export", params={"format": "csv", "to": "cpia2"}, headers=auditor)
        key = (await audit.get("/checkpoint/key")).text
    assert exported.status_code == 200
    assert base64.b64decode(exported.headers["crocevia-checkpoint"]).decode() == note
    lines = exported.content.splitlines(keepends=True)
    assert len(lines) == 12 and json.loads(lines[0])["complete"] is True
    export, checkpoint, key_file = tmp_path / "trail.jsonl", tmp_path / "checkpoint.txt", tmp_path / "audit.vkey"
    export.write_bytes(exported.content)
    checkpoint.write_text(note)
    key_file.write_text(key)
    assert cli.main(["verify", str(export), "--checkpoint", str(checkpoint), "--key", str(key_file)]) == 0
    assert cli.main(["verify", str(export), "--checkpoint", str(checkpoint), "--key", key.strip()]) == 0
    export.write_bytes(b"".join([*lines[:4], lines[4].replace(b"routine", b"urgent"), *lines[5:]]))
    finding = cli.verify(export, checkpoint, key)
    assert not finding.ok and "root-differs" in finding.message
    export.write_bytes(b"".join(lines[:-1]))  # the last entry withheld
    assert "truncated" in cli.verify(export, checkpoint, key).message
    rows = csv_export.text.splitlines()
    assert rows[0].split(",") == list(CSV_COLUMNS) and len(rows) == 12


async def test_the_consistency_command_checks_a_newer_checkpoint_extends_an_older(
    audit_factory, nats_url, tmp_path: Path
):
    net = Network()
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(5)])
        old = tmp_path / "old.txt"
        old.write_text(await checkpoint_of_size(audit, 5))
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(5, 13)])
        new = tmp_path / "new.txt"
        new.write_text(await checkpoint_of_size(audit, 13))
        key = (await audit.get("/checkpoint/key")).text
        assert (await cli.consistency(old, str(new), audit, key)).ok
        assert (await cli.consistency(old, "latest", audit, None)).ok
        assert not (await cli.consistency(new, str(old), audit, key)).ok


async def test_verify_names_the_first_entry_edited_in_the_database(audit_factory, nats_url, tokens, database_url):
    net = Network()
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(10)])
        await checkpoint_of_size(audit, 10)
        assert (await audit.get("/verify", headers=auditor)).json()["ok"] is True
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(update(trail_entries).where(trail_entries.c.position == 6).values(domain="health"))
        await engine.dispose()
        report = (await audit.get("/verify", headers=auditor)).json()
        staff = await audit.get("/verify", headers=tokens.bearer("cpia2", "supervisor"))
    assert report["ok"] is False
    assert (report["first_mismatch"]["index"], report["first_mismatch"]["kind"]) == (6, "altered-entry")
    assert "domain" in report["first_mismatch"]["detail"]
    assert staff.status_code == 403


async def test_a_filtered_export_is_checked_entry_by_entry_with_inclusion_proofs(
    audit_factory, nats_url, tokens, tmp_path
):
    net = Network()
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(
            js, [net.event("requested", f"ref-{i}", receiver=("cpia2", "csl-lavoro")[i % 3 == 0]) for i in range(10)]
        )
        note = await checkpoint_of_size(audit, 10)
        exported = await audit.get("/trail/export", params={"to": "csl-lavoro"}, headers=auditor)
        key = (await audit.get("/checkpoint/key")).text
        export, checkpoint = tmp_path / "csl.jsonl", tmp_path / "checkpoint.txt"
        export.write_bytes(exported.content)
        checkpoint.write_text(note)
        audit.headers.update(auditor)
        finding = await cli.verify_filtered(export, checkpoint, key, audit)
        lines = exported.content.splitlines(keepends=True)
        export.write_bytes(lines[0] + lines[1].replace(b"routine", b"urgent") + b"".join(lines[2:]))
        forged = await cli.verify_filtered(export, checkpoint, key, audit)
    assert len(lines) == 1 + 4  # entries 0, 3, 6, 9
    assert finding.ok and finding.message.startswith("4 entries are in the tree of size 10")
    assert not forged.ok and forged.index == 0
    assert cli.main(["verify", str(export), "--checkpoint", str(checkpoint), "--key", key.strip()]) == 1


async def test_after_a_restart_the_log_keeps_its_key_and_extends_the_same_tree(audit_factory, nats_url, tokens):
    net = Network()
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(5)])
        first = await checkpoint_of_size(audit, 5)
        key = (await audit.get("/checkpoint/key")).text
    async with audit_factory() as audit, jetstream(nats_url) as js:
        assert (await audit.get("/checkpoint/key")).text == key
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(5, 9)])
        second = await checkpoint_of_size(audit, 9)
        proof = (await audit.get("/proofs/consistency", params={"from": 5, "to": 9})).json()
        report = (await audit.get("/verify", headers=auditor)).json()
    verifier = parse_verifier_key(key)
    old, new = open_checkpoint(first, [verifier]), open_checkpoint(second, [verifier])
    check_consistency(5, 9, old.root, new.root, [base64.b64decode(h) for h in proof["proof"]])
    assert report["ok"] and report["entries"] == 9
