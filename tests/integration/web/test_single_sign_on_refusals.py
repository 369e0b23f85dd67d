"""What single sign-on refuses, against a real OpenID provider: ID tokens with the wrong
audience, issuer, nonce, signature or expiry, a callback with another browser's state or
without this browser's code verifier, a provider that names another issuer, sessions that
have ended or were never ours. Each gets a page that says so (problem+json on the stream
route) and starts no session; a session that was there stays as it was."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from crocevia_common.auth import Principal, Role
from crocevia_common.web.session_cookie import SESSION_COOKIE, Sessions
from crocevia_common.web.sso import FLOW_COOKIE
from tests.integration.web.sso import (
    IDLE_MINUTES,
    KEYCLOAK,
    Clock,
    browser_of,
    build_sso_app,
    session_in,
    set_cookies,
    sso_service,
)
from tests.kit.identity_provider import Browser, IdentityProvider, TokenAnswerRewriter, forged

EN = {"Accept-Language": "en"}
Tamper = Callable[[str, IdentityProvider], str]
NOT_VALID = "identity token received is not valid"


TAMPERED: dict[str, Tamper] = {
    "wrong audience": lambda token, idp: forged(token, idp.signing_key, aud="another-application"),
    "wrong issuer": lambda token, idp: forged(token, idp.signing_key, iss="https://idp.example"),
    "wrong nonce": lambda token, idp: forged(token, idp.signing_key, nonce="n" * 43),
    "no nonce": lambda token, idp: forged(token, idp.signing_key, nonce=None),
    "expired": lambda token, idp: forged(token, idp.signing_key, exp=int(time.time()) - 600),
    "signed with another key": lambda token, _idp: forged(token, RSAKey.generate_key(2048, private=True)),
    "unsigned": lambda token, _idp: forged(token, None),
}


async def test_the_id_token_as_the_provider_issued_it_signs_in(identity_provider, tmp_path):
    rewriter = TokenAnswerRewriter()  # the same way to the provider as the refusals below, untouched
    async with (
        sso_service(identity_provider, tmp_path, transport=rewriter, **KEYCLOAK) as app,
        Browser(app, identity_provider) as browser,
    ):
        callback = await browser.log_in("ada")
        rewriter.rewrite = lambda body: body
        signed_in = await app.get(callback)
    assert signed_in.status_code == 303 and session_in(app) is not None


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
async def test_an_id_token_that_does_not_hold_starts_no_session(identity_provider, tmp_path, tamper: Tamper):
    rewriter = TokenAnswerRewriter()
    async with (
        sso_service(identity_provider, tmp_path, transport=rewriter, **KEYCLOAK) as app,
        Browser(app, identity_provider) as browser,
    ):
        callback = await browser.log_in("ada")
        rewriter.rewrite = lambda body: {**body, "id_token": tamper(body["id_token"], identity_provider)}
        refused = await app.get(callback, headers=EN)
        after = await app.get("/ui")
    assert refused.status_code == 401 and NOT_VALID in refused.text
    assert f"{SESSION_COOKIE}=" not in set_cookies(refused) and session_in(app) is None
    assert after.status_code == 303 and after.headers["location"].startswith("/signin")


async def test_a_callback_planted_from_another_browser_does_not_sign_this_one_in(identity_provider, tmp_path):
    app = build_sso_app(identity_provider, tmp_path, **KEYCLOAK)
    async with (
        browser_of(app) as victim_app,
        browser_of(app) as attacker_app,
        Browser(victim_app, identity_provider) as victim,
        Browser(attacker_app, identity_provider) as attacker,
    ):
        planted = await attacker.log_in("eve")  # the attacker's own code and state
        cold = await victim_app.get(planted, headers=EN)  # no sign-in under way here
        await victim.to_provider()  # a sign-in of the victim's own, under way
        crossed = await victim_app.get(planted, headers=EN)
    assert cold.status_code == 400 and "did not start in this browser" in cold.text
    assert crossed.status_code == 400 and "does not match the sign-in started in this browser" in crossed.text
    assert session_in(victim_app) is None


async def test_an_answer_naming_another_issuer_starts_no_session(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        callback = await browser.log_in("ada")
        issued_by = parse_qs(urlsplit(callback).query)["iss"]
        mixed_up = callback.replace("iss=", "iss=https%3A%2F%2Fidp.example%2F&was=")
        refused = await app.get(mixed_up, headers=EN)
    assert issued_by == [identity_provider.issuer]  # the provider names itself (RFC 9207)
    assert refused.status_code == 400 and "comes from another identity provider" in refused.text
    assert session_in(app) is None


async def test_a_callback_without_this_browsers_code_verifier_starts_no_session(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        callback = await browser.log_in("ada")
        app.cookies.delete(FLOW_COOKIE)  # the verifier, the state and the nonce lived there
        refused = await app.get(callback, headers=EN)
    assert refused.status_code == 400 and "did not start in this browser" in refused.text
    assert session_in(app) is None


async def test_a_callback_used_twice_leaves_the_session_of_the_first_as_it_was(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        callback = await browser.log_in("ada")
        await app.get(callback)
        before = session_in(app)
        replayed = await app.get(callback)
        after = session_in(app)
    assert replayed.status_code == 400
    assert before is not None and after == before


async def test_a_sign_in_left_at_the_provider_too_long_or_answered_with_an_error_starts_no_session(
    identity_provider, tmp_path
):
    clock = Clock()
    async with (
        sso_service(identity_provider, tmp_path, clock=clock, **KEYCLOAK) as app,
        Browser(app, identity_provider) as browser,
    ):
        denied = await app.get(
            "/signin/callback", params={"error": "access_denied", "state": await state_of(app)}, headers=EN
        )
        no_code = await app.get("/signin/callback", params={"state": await state_of(app)}, headers=EN)
        callback = await browser.log_in("ada")
        clock.advance(11)
        late = await app.get(callback, headers=EN)
    assert denied.status_code == 400 and "did not complete the sign-in" in denied.text
    assert no_code.status_code == 400 and "no sign-in code" in no_code.text
    assert late.status_code == 400 and "took too long" in late.text
    assert session_in(app) is None


async def state_of(app: httpx.AsyncClient) -> str:
    """Start signing in; the state the service sent the provider."""
    start = await app.get("/signin/oidc")
    return parse_qs(urlsplit(start.headers["location"]).query)["state"][0]


async def test_a_provider_whose_discovery_names_another_issuer_is_not_followed(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, auth_issuer=f"{identity_provider.issuer}/") as app:
        answer = await app.get("/signin/oidc", headers=EN)
    assert answer.status_code == 502 and "does not answer as it should" in answer.text
    assert FLOW_COOKIE not in set_cookies(answer)


async def test_a_session_ends_after_the_idle_time_and_the_way_back_leads_to_the_page_asked_for(
    identity_provider, tmp_path
):
    clock = Clock()
    async with (
        sso_service(identity_provider, tmp_path, clock=clock, **KEYCLOAK) as app,
        Browser(app, identity_provider) as browser,
    ):
        await browser.follow(await browser.sign_in("ada"))
        views = []
        for _ in range(3):  # each view renews: 12 minutes in all, never 5 without one
            clock.advance(IDLE_MINUTES - 1)
            views.append((await app.get("/ui")).status_code)
        clock.advance(IDLE_MINUTES + 1)
        ended = await app.get("/ui", params={"tab": "mine"}, headers=EN)
        gone = await app.get("/ui")
        at_provider = await browser.to_provider("/ui?tab=mine")  # the provider still knows the browser
        back = await app.get(str(at_provider.url.join(at_provider.headers["location"])))
        page = await app.get(back.headers["location"])
    assert views == [200, 200, 200]
    assert ended.status_code == 401 and "session has ended" in ended.text
    assert 'href="/signin?next=/ui%3Ftab%3Dmine"' in ended.text
    assert f'{SESSION_COOKIE}=""' in set_cookies(ended)
    assert gone.status_code == 303
    assert (back.status_code, back.headers["location"]) == (303, "/ui?tab=mine") and page.status_code == 200


async def test_an_open_stream_does_not_keep_the_session_alive(identity_provider, tmp_path):
    clock = Clock()
    async with (
        sso_service(identity_provider, tmp_path, clock=clock, **KEYCLOAK) as app,
        Browser(app, identity_provider) as browser,
    ):
        await app.get(await browser.log_in("ada"))
        clock.advance(IDLE_MINUTES - 1)
        listening = await app.get("/whoami/stream")
        clock.advance(2)
        stream_after = await app.get("/whoami/stream")
        ended = await app.get("/ui")
    assert listening.status_code == 200 and "set-cookie" not in listening.headers
    assert ended.status_code == 401
    assert (stream_after.status_code, stream_after.json()["type"]) == (401, "/problems/session-expired")


async def test_a_session_ends_after_its_lifetime_however_busy(identity_provider, tmp_path):
    clock = Clock()
    async with (
        sso_service(identity_provider, tmp_path, clock=clock, **KEYCLOAK) as app,
        Browser(app, identity_provider) as browser,
    ):
        await app.get(await browser.log_in("ada"))
        views = []
        for _ in range(3):  # a view every 4 minutes; the lifetime is 15
            clock.advance(4)
            views.append((await app.get("/ui")).status_code)
        clock.advance(4)
        htmx = await app.get("/ui", headers={"HX-Request": "true"})  # a part of a page, as htmx asks
    assert views == [200, 200, 200]
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/signin?next=/ui"
    assert f'{SESSION_COOKIE}=""' in set_cookies(htmx)


def _altered(value: str, **changes: Any) -> str:
    body, mac = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    new_body = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).rstrip(b"=").decode()
    return f"{new_body}.{mac}"


def _signed_elsewhere(value: str) -> str:
    """A session as it would be with another key: a forger's, or another service's."""
    body = value.split(".")[0]
    held = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    sessions = Sessions(b"k" * 32, idle_seconds=3600, lifetime_seconds=3600)
    return sessions.encode(sessions.renewed(sessions.start(_principal(held), "oidc")))


def _principal(held: dict[str, Any]) -> Principal:
    return Principal(sub=held["sub"], agency="pioltello-casa", roles=frozenset(Role(r) for r in held["roles"]))


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda v: _altered(v, agency="pioltello-casa"), id="altered"),
        pytest.param(_signed_elsewhere, id="signed-with-another-key"),
        pytest.param(lambda _v: "not-a-session", id="garbage"),
    ],
)
async def test_a_forged_session_cookie_counts_for_nothing(identity_provider, tmp_path, forge):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        await app.get(await browser.log_in("ada"))
        value = forge(app.cookies.get(SESSION_COOKIE))
        app.cookies.clear()
        cookie = {"Cookie": f"{SESSION_COOKIE}={value}", **EN}
        page = await app.get("/ui", headers=cookie)
        stream = await app.get("/whoami/stream", headers=cookie)
    assert page.status_code == 401 and "cookie is not this service" in page.text
    assert f'{SESSION_COOKIE}=""' in set_cookies(page)
    assert stream.status_code == 401 and stream.headers["content-type"] == "application/problem+json"
    assert stream.json()["type"] == "/problems/invalid-session"


async def test_beside_single_sign_on_the_development_sign_in_stays_off(identity_provider, tmp_path):
    key = tmp_path / "dev-jwt.key"
    async with sso_service(identity_provider, tmp_path, dev_signin=True, auth_dev_key_file=key) as app:
        page = await app.get("/signin")
        minted = await app.post("/signin", data={"agency": "cpia2", "role": "operator"})
    assert 'id="signin-sso"' in page.text and 'action="/signin"' not in page.text
    assert minted.status_code == 404 and session_in(app) is None
