"""Hostile HTTP inputs, and what every refusal of one must look like."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

BIG = 10**30
DEEP_JSON = "[" * 3000 + "]" * 3000


def cursor_of(value: Any) -> str:
    """A cursor made the way the services make theirs, around any JSON value."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def cursor_of_text(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class BadInput:
    """A request and the refusal it must get: ``status`` and the problem's ``type`` slug."""

    name: str
    method: str
    path: str
    status: int
    problem: str
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | str | None = None
    headers: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name

    async def send(self, client: httpx.AsyncClient, auth: dict[str, str]) -> httpx.Response:
        headers = {**auth, **self.headers}
        headers = {k: v for k, v in headers.items() if v is not None}
        return await client.request(
            self.method, self.path, params=self.params, json=self.json, content=self.content, headers=headers
        )


def assert_problem(answer: httpx.Response, status: int, problem: str) -> None:
    """A 4xx ``application/problem+json`` answer with the stable type ``/problems/<problem>``."""
    assert answer.headers.get("content-type", "").startswith("application/problem+json"), answer.text[:300]
    body = answer.json()
    assert (answer.status_code, body["type"], body["status"]) == (status, f"/problems/{problem}", status), body
