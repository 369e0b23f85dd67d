"""Sending one webhook request, with the address guard checked again at send time."""

from __future__ import annotations

import time
from collections.abc import Collection

import httpx

from crocevia_notifications.adapters.addresses import check_url, pinned
from crocevia_notifications.domain.webhooks import ForbiddenURL, Outcome


class HttpWebhookClient:
    def __init__(self, timeout_seconds: float, allowed_hosts: Collection[str]) -> None:
        self._allowed = frozenset(allowed_hosts)
        # No redirects: a redirect could lead past the address guard.
        self._http = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, headers={"user-agent": "crocevia-notifications/1"}
        )

    async def check(self, url: str) -> None:
        """Raise ForbiddenURL unless ``url`` may be reached (see ``check_url``)."""
        await check_url(url, self._allowed)

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            address = await check_url(url, self._allowed)
        except ForbiddenURL as exc:
            return Outcome(None, f"forbidden: {exc}", elapsed(), forbidden=True)
        target, extra_headers, extensions = (url, {}, {}) if address is None else pinned(url, address)
        try:
            answer = await self._http.post(
                target, content=body, headers={**headers, **extra_headers}, extensions=extensions
            )
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, elapsed())
        error = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
        return Outcome(answer.status_code, error, elapsed())

    async def close(self) -> None:
        await self._http.aclose()
