"""Wires the witness: settings, database (migrated at start), its key file, the HTTP routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from crocevia_common.db import Database
from crocevia_common.inputs import BodyLimit
from crocevia_common.key_files import load_or_create_key_file
from crocevia_common.problems import install_problem_handlers
from crocevia_witness.adapters.checkpoints import transactions
from crocevia_witness.entrypoints import http
from crocevia_witness.handlers.add_checkpoint import Witness
from crocevia_witness.handlers.context import RunningWitness
from crocevia_witness.settings import WitnessSettings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
# An add-checkpoint body: 63 proof lines and a checkpoint with a few dozen signatures.
MAX_BODY_BYTES = 256 * 1024


def witness_of(settings: WitnessSettings) -> Witness:
    """The witness the settings describe, its key read from (or first made in) its key file."""
    return Witness(settings.name, load_or_create_key_file(settings.key_file), settings.witnessed_logs())


def create_app(settings: WitnessSettings | None = None) -> FastAPI:
    """The witness's ASGI app; settings come from ``CROCEVIA_WITNESS_*`` when not given."""
    settings = settings or WitnessSettings()
    db = Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.migrate(MIGRATIONS)
        witness = witness_of(settings)
        app.state.witness = RunningWitness(witness, db, transactions(db))
        if not witness.logs:
            log.warning("this witness witnesses no log: set CROCEVIA_WITNESS_LOGS")
        log.info("witness %s cosigns for %s", witness.cosigner, ", ".join(witness.logs) or "no log")
        try:
            yield
        finally:
            await db.dispose()

    app = FastAPI(title="Crocevia witness", lifespan=lifespan)
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Serving at all means its database is migrated and its key loaded (the lifespan's start).
    @app.get("/readyz", tags=["health"], summary="Ready to cosign: database migrated, key loaded")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    app.include_router(http.router)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app
