"""The development sign-in: on only when explicitly enabled (``crocevia up`` does, compose
does not), and only for a form that came from the sign-in page of the same browser."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from crocevia.devnet import Network, NetworkConfig
from crocevia_common.settings import ServiceSettings
from crocevia_common.web.signin import SIGNIN_COOKIE
from tests.integration.web.pages import post_sign_in, signin_token_of

ROOT = Path(__file__).resolve().parents[3]
CHOICE = {"agency": "cpia2", "role": "operator", "next": "/ui"}


def signed_in_by(answer: httpx.Response) -> bool:
    return "crocevia_session=" in answer.headers.get("set-cookie", "")


async def test_a_cross_site_sign_in_without_the_form_token_is_refused_and_signs_nobody_in(node_factory):
    async with node_factory("cpia2") as cpia:
        bare = await cpia.post("/signin", data=CHOICE)
        await cpia.get("/signin")  # the pre-session cookie alone is not enough either
        no_token = await cpia.post("/signin", data=CHOICE)
        wrong = await cpia.post("/signin", data={**CHOICE, "csrf": "0" * 64})
        still_out = await cpia.get("/ui")
    for answer in (bare, no_token, wrong):
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert not signed_in_by(answer)
    assert "sign-in form" in bare.text.lower() or "modulo di accesso" in bare.text.lower()
    assert still_out.status_code == 303 and still_out.headers["location"].startswith("/signin")


async def test_another_browsers_form_token_does_not_sign_this_one_in(node_factory):
    async with node_factory("cpia2") as cpia:
        attacker = (await cpia.get("/signin")).text  # the attacker's own page, with its own cookie
        token = signin_token_of(attacker)
        cpia.cookies.clear()
        await cpia.get("/signin")  # the victim's browser has a pre-session of its own
        forged = await cpia.post("/signin", data={**CHOICE, "csrf": token})
    assert forged.status_code == 403 and not signed_in_by(forged)


async def test_the_sign_in_pages_form_signs_in_and_drops_the_pre_session_cookie(node_factory):
    async with node_factory("cpia2") as cpia:
        page = await cpia.get("/signin")
        pre_session = page.headers["set-cookie"]
        answer = await post_sign_in(cpia, CHOICE)
    assert f"{SIGNIN_COOKIE}=" in pre_session and "HttpOnly" in pre_session and "SameSite=strict" in pre_session
    assert answer.status_code == 303 and signed_in_by(answer)
    assert f'{SIGNIN_COOKIE}=""' in answer.headers["set-cookie"]


async def test_without_the_setting_the_sign_in_page_points_to_the_identity_provider_and_mints_nothing(node_factory):
    async with node_factory("cpia2", dev_signin=False) as cpia:
        page = await cpia.get("/signin", params={"lang": "en"})
        minted = await cpia.post("/signin", data=CHOICE)
    assert page.status_code == 200
    assert "accepts only tokens of the identity provider" in page.text and 'action="/signin"' not in page.text
    assert SIGNIN_COOKIE not in page.headers.get("set-cookie", "")
    assert minted.status_code == 404 and not signed_in_by(minted)


def test_the_setting_is_off_by_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CROCEVIA_DEV_SIGNIN", raising=False)
    assert ServiceSettings().dev_signin is False
    monkeypatch.setenv("CROCEVIA_DEV_SIGNIN", "true")
    assert ServiceSettings().dev_signin is True


def test_crocevia_up_turns_the_sign_in_on_and_docker_compose_does_not(tmp_path: Path):
    config = NetworkConfig(data_dir=tmp_path, agencies_dir=ROOT / "deploy/demo/agencies")
    network = Network(config)
    launched = {name: network.service_env(name, 1, {}) for name in ("referrals-cpia2", "notifications", "audit")}
    assert {name: env.get("CROCEVIA_DEV_SIGNIN") for name, env in launched.items()} == dict.fromkeys(launched, "true")
    assert "CROCEVIA_DEV_SIGNIN" not in (ROOT / "docker-compose.yml").read_text()
