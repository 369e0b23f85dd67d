"""The reads of an inclusion proof (the entry, the tree's size or the latest checkpoint, the
nodes on its path, the checkpoint's cosignatures) run in one short snapshot on SQLite's
connection itself, each statement made once, not through SQLAlchemy's execution each
request; an agency's own proof reads its entry through SQLAlchemy (its condition names the
agency). Either way the proof leads from the entry's leaf to the root it gives."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.handlers import proofs
from crocevia_audit.handlers.append import TrailWriter
from crocevia_common.db import Database
from crocevia_common.tlog.checkpoint import SignedCheckpoint
from crocevia_common.tlog.verification import check_inclusion
from tests.integration.audit.events import Network, checked


@pytest.mark.parametrize(("party", "through_sqlalchemy"), [(None, ["BEGIN"]), ("cpia2", ["BEGIN", "SELECT"])])
async def test_a_proofs_reads_run_on_sqlites_connection_itself(tmp_path: Path, party, through_sqlalchemy) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    await db.migrate(MIGRATIONS)
    net, writer = Network(), TrailWriter(unit_of_work(db))
    events = [net.event("requested", f"ref-{i}", sender="pioltello-casa", receiver="cpia2") for i in range(13)]
    await writer.append(checked(events))
    size, root = await writer.head()
    async with unit_of_work(db)() as work:
        await work.checkpoints.add(SignedCheckpoint(size, root, "crocevia.test/trail\n13\n\n", datetime.now(UTC)))
    ran: list[tuple[str, bool]] = []  # each statement, and whether it ran on the connection itself

    def seen(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        ran.append((statement.split(None, 1)[0].upper(), cursor is None))

    answers = []
    try:
        for tree_size in (None, 9, None):  # the latest checkpoint's tree, an earlier one; read again
            event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
            try:
                async with IntegrityQueries.reading(db) as reads:
                    answers.append(await proofs.inclusion(reads, checked(events[5:6])[0].id, tree_size, party))
            finally:
                event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
            assert [kind for kind, here in ran if not here] == through_sqlalchemy, ran
            assert len(ran) <= 6, ran
            ran.clear()
    finally:
        await db.dispose()
    assert [(a["leaf_index"], a["tree_size"], a["checkpoint"] is not None) for a in answers] == [
        (5, 13, True),
        (5, 9, False),
        (5, 13, True),
    ]
    assert answers[0]["root"] == base64.b64encode(root).decode()
    for answer in answers:
        proof = [base64.b64decode(h) for h in answer["proof"]]
        leaf, given_root = base64.b64decode(answer["leaf_hash"]), base64.b64decode(answer["root"])
        check_inclusion(leaf, answer["leaf_index"], answer["tree_size"], proof, given_root)
