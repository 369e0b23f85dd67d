"""The witnesses over HTTP (c2sp.org/tlog-witness), through the shared client."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from crocevia_audit.handlers.witnessing import AskWitness, Witness
from crocevia_common.tlog.note import SignatureLine
from crocevia_common.tlog.witness_client import request_cosignature


def witness_caller(timeout_seconds: float) -> AskWitness:
    """Ask a witness over HTTP, ``timeout_seconds`` at most per request; never through a
    proxy from the environment (a witness is named by its address)."""

    async def ask(witness: Witness, note: str, old: int, proof: Sequence[bytes]) -> SignatureLine:
        async with httpx.AsyncClient(timeout=timeout_seconds, trust_env=False) as client:
            return await request_cosignature(client, witness.url, witness.key, note, old, proof)

    return ask
