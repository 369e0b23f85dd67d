"""docker-compose.yml's topology runs without Docker (every service of the project's image
as a process, this machine's PostgreSQL, a three-server NATS cluster), and the README's
walkthrough passes against it: ``crocevia compose-check``."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


async def names_left(server_url: str, run: str) -> list[str]:
    engine = create_async_engine(server_url)
    try:
        async with engine.connect() as conn:
            databases = (await conn.execute(text("SELECT datname FROM pg_database"))).scalars().all()
            roles = (await conn.execute(text("SELECT rolname FROM pg_roles"))).scalars().all()
    finally:
        await engine.dispose()
    return [name for name in [*databases, *roles] if name.endswith(f"_c{run}")]


def test_the_readme_walkthrough_runs_against_the_compose_topology(postgres_server_url, tmp_path: Path) -> None:
    if postgres_server_url is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL); REQUIRE_POSTGRES=1 makes this fail")
    argv = [str(BIN / "crocevia"), "compose-check", "--walkthrough-only", "--root", str(ROOT)]
    argv += ["--work-dir", str(tmp_path / "work"), "--postgres-url", postgres_server_url]

    done = subprocess.run(argv, capture_output=True, text=True, timeout=170)

    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "nats: a three-server cluster" in out
    assert re.search(r"started 4 of the \d+ services of the compose file", out)
    assert "not started (the walkthrough does not need them): referrals-pioltello-sociali" in out
    assert "ok: cpia2 opened the sealed details" in out
    assert "ok: pioltello-casa sees requested, received, accepted, in-progress, completed" in out
    assert re.search(r"ok: the audit's /verify: \d+ entries recompute to the signed checkpoints", out)
    assert re.search(r"otel-collector: [1-9]\d* OTLP exports of spans received", out)
    run = re.search(r"run ([0-9a-f]{8})", out)
    assert run
    assert asyncio.run(names_left(postgres_server_url, run.group(1))) == []
