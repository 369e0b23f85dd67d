"""The key that signs checkpoints lives outside the audit's database: given as an
environment secret or a file, or a 0600 file made in the data directory; a database that
still holds a key from an earlier version keeps working until the key moves out; and a
change of key is reported by /verify, never taken silently."""

from __future__ import annotations

import base64
import logging
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import insert, select

from crocevia_audit.adapters.keys import DEFAULT_KEY_FILE, load_signing_key, read_key_file
from crocevia_audit.adapters.tables import log_keys, signing_keys
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.settings import AuditSettings
from crocevia_common.db import Database
from crocevia_common.key_files import SigningKeyError
from crocevia_common.tlog.checkpoint import open_checkpoint
from crocevia_common.tlog.note import parse_verifier_key, verifier_key
from tests.integration.audit.events import Network
from tests.integration.audit.wire import jetstream, publish, stored
from tests.kit.migrations import upgrade_to
from tests.kit.services import eventually

ORIGIN = "crocevia.test/trail"
KEY_VARIABLE = "CROCEVIA_AUDIT_SIGNING_KEY"


def seed_text(key: SigningKey) -> str:
    return base64.b64encode(bytes(key)).decode()


def vkey(key: SigningKey) -> str:
    return verifier_key(ORIGIN, bytes(key.verify_key))


async def signed_and_published(audit, js, count: int) -> list[str]:
    """Append ``count`` events; every checkpoint note published once the last is signed."""
    net = Network()
    await publish(js, [net.event("requested", f"ref-{i}") for i in range(count)])

    async def published():
        notes = [body.decode() for body, _ in await stored(js, "AUDIT", "audit.v1.checkpoint")]
        return notes and f"\n{count}\n" in notes[-1] and notes

    return await eventually(published)


async def keys_in(database_url: str) -> tuple[list[bytes], list[bytes]]:
    """The private seeds and the public keys the audit's database holds."""
    db = Database(database_url)
    try:
        async with db.connect() as session:
            seeds = [bytes(s) for (s,) in await session.execute(select(signing_keys.c.seed))]
            public = [bytes(p) for (p,) in await session.execute(select(log_keys.c.public_key))]
    finally:
        await db.dispose()
    return seeds, public


async def test_a_key_from_a_file_signs_checkpoints_and_the_database_holds_no_private_key(
    audit_factory, nats_url, database_url, tmp_path: Path
):
    key = SigningKey(b"f" * 32)
    key_file = tmp_path / "secrets" / "audit.key"
    key_file.parent.mkdir()
    key_file.write_text(seed_text(key) + "\n")
    key_file.chmod(0o600)
    async with audit_factory(database_url, audit_signing_key_file=key_file) as audit, jetstream(nats_url) as js:
        served = (await audit.get("/checkpoint/key")).text
        notes = await signed_and_published(audit, js, 4)
    verifier = parse_verifier_key(vkey(key))
    assert served.strip() == vkey(key)
    assert [open_checkpoint(note, [verifier], origin=ORIGIN).size for note in notes][-1] == 4
    assert await keys_in(database_url) == ([], [bytes(key.verify_key)])
    assert not (tmp_path / "audit-data" / DEFAULT_KEY_FILE).exists()


async def test_a_key_from_the_environment_signs_checkpoints_and_is_never_written_or_logged(
    audit_factory, nats_url, database_url, tmp_path: Path, monkeypatch, caplog
):
    key = SigningKey(b"e" * 32)
    monkeypatch.setenv(KEY_VARIABLE, seed_text(key))
    caplog.set_level(logging.DEBUG)
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        served = (await audit.get("/checkpoint/key")).text
        notes = await signed_and_published(audit, js, 3)
    assert served.strip() == vkey(key)
    assert open_checkpoint(notes[-1], [parse_verifier_key(served)], origin=ORIGIN).size == 3
    assert await keys_in(database_url) == ([], [bytes(key.verify_key)])
    assert not (tmp_path / "audit-data").exists()  # no key file made
    assert seed_text(key) not in caplog.text and vkey(key) in caplog.text
    assert seed_text(key) not in repr(AuditSettings())


async def test_without_a_key_configured_one_is_made_in_a_0600_file_and_kept_across_restarts(
    audit_factory, nats_url, tmp_path: Path
):
    key_file = tmp_path / "audit-data" / DEFAULT_KEY_FILE
    async with audit_factory() as audit:
        first = (await audit.get("/checkpoint/key")).text
    made = read_key_file(key_file)
    async with audit_factory() as audit:
        again = (await audit.get("/checkpoint/key")).text
    assert made is not None and first.strip() == vkey(made) and again == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_a_configured_key_file_that_does_not_exist_is_made_0600(audit_factory, tmp_path: Path):
    key_file = tmp_path / "new" / "dir" / "audit.key"
    async with audit_factory(audit_signing_key_file=key_file) as audit:
        served = (await audit.get("/checkpoint/key")).text
    made = read_key_file(key_file)
    assert made is not None and served.strip() == vkey(made)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_a_configured_key_other_than_the_one_that_signed_before_is_reported_by_verify(
    audit_factory, nats_url, tokens, monkeypatch, tmp_path: Path
):
    auditor = tokens.bearer("x", "auditor")
    async with audit_factory() as audit, jetstream(nats_url) as js:
        before = (await audit.get("/checkpoint/key")).text.strip()
        await signed_and_published(audit, js, 3)
        assert (await audit.get("/verify", headers=auditor)).json()["ok"] is True
    other = SigningKey(b"o" * 32)
    monkeypatch.setenv(KEY_VARIABLE, seed_text(other))
    async with audit_factory() as audit, jetstream(nats_url) as js:
        report = (await audit.get("/verify", headers=auditor)).json()
    assert report["ok"] is False
    assert (report["key"], report["earlier_keys"]) == (vkey(other), [before])
    assert report["bad_checkpoints"] and all(
        f"signed by an earlier key of this log, {before}, not by its key {vkey(other)}" in problem
        for problem in report["bad_checkpoints"]
    )
    published = report["published"]["disagreements"]
    assert published and {d["kind"] for d in published} == {"earlier-key"}
    assert report["first_mismatch"] is None  # the trail itself still matches what was signed


async def test_a_key_left_in_the_database_keeps_working_until_it_moves_out(
    audit_factory, tokens, database_url, tmp_path: Path, caplog
):
    legacy = SigningKey(b"l" * 32)
    await a_database_of_the_earlier_version_holding(database_url, legacy)
    caplog.set_level(logging.WARNING)
    async with audit_factory(database_url) as audit:
        served = (await audit.get("/checkpoint/key")).text.strip()
    assert served == vkey(legacy)
    assert "still in the audit's database" in caplog.text and "CROCEVIA_AUDIT_SIGNING_KEY_FILE" in caplog.text
    assert await keys_in(database_url) == ([bytes(legacy)], [bytes(legacy.verify_key)])
    assert not (tmp_path / "audit-data" / DEFAULT_KEY_FILE).exists()

    key_file = tmp_path / "keys" / "audit.key"  # configured, not there yet: the key moves to it
    async with audit_factory(database_url, audit_signing_key_file=key_file) as audit:
        moved = (await audit.get("/checkpoint/key")).text.strip()
        report = (await audit.get("/verify", headers=tokens.bearer("x", "auditor"))).json()
    assert moved == vkey(legacy) and bytes(read_key_file(key_file) or b"") == bytes(legacy)
    assert await keys_in(database_url) == ([], [bytes(legacy.verify_key)])
    assert report["ok"] is True and report["earlier_keys"] == []


async def a_database_of_the_earlier_version_holding(database_url: str, key: SigningKey) -> None:
    """The audit's database as revision 0001 left it, its key in ``signing_keys``."""
    db = Database(database_url)

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_to, MIGRATIONS, "0001")
            await conn.execute(
                insert(signing_keys).values(
                    name=ORIGIN, seed=bytes(key), public_key=bytes(key.verify_key), created_at=datetime.now(UTC)
                )
            )
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    "value",
    ["not base64 at all!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 64).decode()],
)
async def test_a_malformed_key_stops_the_start_with_a_reason_that_does_not_repeat_it(trail_db, tmp_path, value):
    settings = AuditSettings(origin=ORIGIN, data_dir=tmp_path, audit_signing_key=value)
    with pytest.raises(SigningKeyError) as refused:
        await load_signing_key(trail_db, settings)
    assert KEY_VARIABLE in str(refused.value) and value not in str(refused.value)
    assert await _rows(trail_db) == 0


async def _rows(db: Database) -> int:
    async with db.connect() as session:
        return len(list(await session.execute(select(log_keys))))
