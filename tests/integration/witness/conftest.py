from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kit.trail_log import TrailLog
from tests.kit.witness import WitnessProcess

# Logs the module's witness is started with: each test takes one of its own, so the tests
# share the process (slow to start) but never a log's state.
POOL = 40


@pytest.fixture(scope="module")
def trail_pool() -> list[TrailLog]:
    return [TrailLog(origin=f"crocevia.test/trail-{i}") for i in range(POOL)]


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory, trail_pool: list[TrailLog]) -> Iterator[WitnessProcess]:
    """One witness process (on SQLite) for the module, witnessing every log of the pool."""
    workdir = tmp_path_factory.mktemp("witness")
    process = WitnessProcess(workdir, f"sqlite+aiosqlite:///{workdir / 'witness.db'}", [t.vkey for t in trail_pool])
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def trail(trail_pool: list[TrailLog]) -> TrailLog:
    """A log of the pool no other test used, five entries long."""
    return trail_pool.pop().grow(5)
