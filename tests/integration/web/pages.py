"""Driving pages over HTTP in tests: sign in with the development picker, find a page's
form token, the error next to a field."""

from __future__ import annotations

import re

import httpx


async def sign_in(client: httpx.AsyncClient, agency: str, role: str = "operator", person: str = "") -> None:
    answer = await post_sign_in(client, {"agency": agency, "role": role, "person": person, "next": "/ui"})
    assert answer.status_code == 303, answer.text


async def post_sign_in(client: httpx.AsyncClient, fields: dict[str, str]) -> httpx.Response:
    """Open the sign-in page (its pre-session cookie stays in ``client``) and post its form."""
    page = await client.get("/signin")
    return await client.post("/signin", data={**fields, "csrf": signin_token_of(page.text)})


def signin_token_of(html: str) -> str:
    found = re.search(r'name="csrf" id="signin-csrf" value="([0-9a-f]+)"', html)
    assert found, "the sign-in page has no form token"
    return found.group(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def error_next_to(html: str, field_id: str) -> str | None:
    """The error message shown under the field with id ``field_id``, if any; the field
    must point to it with ``aria-describedby``."""
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">.*?</span>\s*(.*?)</p>', html, re.S)
    if not found:
        return None
    assert re.search(rf'id="{re.escape(field_id)}"[^>]*aria-describedby="[^"]*{re.escape(field_id)}-error', html), (
        f"{field_id} does not point to its error"
    )
    return found.group(1).strip()
