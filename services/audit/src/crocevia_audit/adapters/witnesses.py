"""The witnesses over HTTP (c2sp.org/tlog-witness), through the shared client."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from crocevia_audit.handlers.witnessing import Witness
from crocevia_common.tlog.note import SignatureLine
from crocevia_common.tlog.witness_client import request_cosignature


class WitnessCaller:
    """Asks witnesses over HTTP, ``timeout_seconds`` at most per request, on one client kept
    for the service's life (its connections and TLS context are made once, not per
    checkpoint); never through a proxy from the environment (a witness is named by its
    address)."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, witness: Witness, note: str, old: int, proof: Sequence[bytes]) -> SignatureLine:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_seconds, trust_env=False)
        return await request_cosignature(self._client, witness.url, witness.key, note, old, proof)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
