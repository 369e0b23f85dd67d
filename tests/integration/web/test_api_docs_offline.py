"""Every service documents its API at /docs (Swagger UI) and /redoc with the files it serves
itself: nothing is loaded from a CDN, so the pages work offline and tell no third party."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_documentation_loads_nothing_from_elsewhere(node_factory, page):
    async with node_factory("cpia2") as node:
        html = (await node.get(page)).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        loaded = {src: (await node.get(src)).status_code for src in sources if src.startswith("/")}
        schema = await node.get("/openapi.json")
    assert [src for src in sources if "//" in src] == [], "a script, style or font from another host"
    assert loaded and set(loaded.values()) == {200}, loaded
    assert any(src.endswith(".js") for src in loaded)
    assert schema.json()["info"]["title"].startswith("Crocevia referrals node")
