"""Single sign-on for the pages against a real OpenID provider (panva's oidc-provider): the
authorization code flow with PKCE, the claims that name the agency and the roles as Keycloak
and Entra ID give them, the API taking the provider's access token as the same person,
signing out at the provider too, and a referrals node signing its staff in this way."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from crocevia_common.auth import Role, TokenVerifier
from crocevia_common.web.access import WebAccess
from crocevia_common.web.session_cookie import SESSION_COOKIE
from crocevia_common.web.sso import FLOW_COOKIE
from tests.integration.web.pages import csrf_of
from tests.integration.web.sso import ENTRA, KEYCLOAK, session_in, set_cookies, sso_service, sso_settings
from tests.kit.identity_provider import APP, CLIENT_ID, CLIENT_SECRET, RESOURCE, Browser, IdentityProvider


async def test_a_page_sends_a_stranger_through_the_provider_and_back_to_that_page(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        asked = await app.get("/ui", params={"tab": "mine"})
        assert (asked.status_code, asked.headers["location"]) == (303, "/signin?next=/ui%3Ftab%3Dmine")
        page = await app.get(asked.headers["location"], params={"lang": "en"})
        assert "Sign in with Test ID" in page.text and 'action="/signin"' not in page.text  # no development form

        start = await app.get("/signin/oidc", params={"next": "/ui?tab=mine"})
        request = parse_qs(urlsplit(start.headers["location"]).query)
        flow_cookie = start.headers["set-cookie"]
        callback = await browser.log_in("ada", "/ui?tab=mine")
        signed_in = await app.get(callback)
        landed = await app.get(signed_in.headers["location"])

    assert {k: v[0] for k, v in request.items() if k in ("response_type", "client_id", "code_challenge_method")} == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "code_challenge_method": "S256",
    }
    assert all(len(request[k][0]) >= 43 for k in ("state", "nonce", "code_challenge"))
    assert f"{FLOW_COOKIE}=" in flow_cookie and "HttpOnly" in flow_cookie and "SameSite=lax" in flow_cookie
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/ui?tab=mine")
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    assert f'{FLOW_COOKIE}=""' in set_cookies(signed_in)  # the sign-in under way is over
    assert landed.status_code == 200 and "cpia2: operator" in landed.text and "ada" in landed.text


async def test_the_api_takes_the_providers_access_token_as_the_same_person_as_the_pages(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        await app.get(await browser.log_in("ada"))
        held = session_in(app)
        assert held is not None and held["bearer"]
        on_the_api = await app.get("/whoami", headers={"Authorization": f"Bearer {held['bearer']}"})
        on_the_stream = await app.get("/whoami/stream")  # the pages' session, as a browser's EventSource sends it
        without = await app.get("/whoami")  # the API never reads the cookie

    person = {"sub": "ada", "agency": "cpia2", "roles": ["operator"]}
    assert (on_the_api.status_code, on_the_api.json()) == (200, person)
    assert (on_the_stream.status_code, on_the_stream.json()) == (200, person)
    assert without.status_code == 401
    assert (held["sub"], held["agency"], held["roles"], held["via"]) == ("ada", "cpia2", ["operator"], "oidc")


async def test_an_api_client_with_its_own_code_flow_gets_an_access_token_the_api_takes(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        await app.get(await browser.log_in("ada"))  # the provider knows the browser now
        tokens = await own_code_flow(browser)
        access = await app.get("/whoami", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        id_token = await app.get("/whoami", headers={"Authorization": f"Bearer {tokens['id_token']}"})

    assert (access.status_code, access.json()["agency"]) == (200, "cpia2")
    # The ID token is for the pages (its audience is their client), not for the API.
    assert (id_token.status_code, id_token.json()["type"]) == (401, "/problems/invalid-token")


async def own_code_flow(browser: Browser) -> dict[str, str]:
    """An authorization code flow run by the test itself, as an API client would."""
    verifier = generate_token(48)
    provider = browser.provider
    asked = await browser.get(
        f"{provider.issuer}/auth",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "openid crocevia",
            "redirect_uri": f"{APP}/signin/callback",
            "state": generate_token(32),
            "nonce": generate_token(32),
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "resource": RESOURCE,
        },
    )
    back = await browser.follow(asked, stop_at="/signin/callback")
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    answer = await browser.idp.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{APP}/signin/callback",
            "code_verifier": verifier,
            "resource": RESOURCE,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.parametrize(
    ("mapping", "account", "agency", "roles"),
    [
        pytest.param(KEYCLOAK, "ada", "cpia2", ["operator"], id="keycloak-groups"),
        pytest.param(ENTRA, "bea", "pioltello-casa", ["supervisor"], id="entra-app-roles"),
        pytest.param({}, "eve", "cpia2", ["operator"], id="crocevia-names"),
    ],
)
async def test_the_agency_and_roles_come_from_the_configured_claims_and_unknown_roles_are_ignored(
    identity_provider: IdentityProvider, tmp_path, mapping, account, agency, roles
):
    async with sso_service(identity_provider, tmp_path, **mapping) as app, Browser(app, identity_provider) as browser:
        signed_in = await app.get(await browser.log_in(account))
        held = session_in(app)
        assert held is not None
        api = await app.get("/whoami", headers={"Authorization": f"Bearer {held['bearer']}"})
    assert signed_in.status_code == 303
    assert (held["agency"], held["roles"]) == (agency, roles)  # canteen staff, directory readers: not Crocevia's
    assert api.json() == {"sub": account, "agency": agency, "roles": roles}


@pytest.mark.parametrize(
    ("account", "status", "message"),
    [("nia", 403, "does not say which agency you work for"), ("ugo", 403, "has no role in Crocevia")],
)
async def test_a_person_without_an_agency_or_a_role_gets_a_clear_page_and_no_session(
    identity_provider, tmp_path, account, status, message
):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        refused = await app.get(await browser.log_in(account), headers={"Accept-Language": "en"})
        after = await app.get("/ui")
    assert refused.status_code == status and message in refused.text
    assert f"{SESSION_COOKIE}=" not in set_cookies(refused) and session_in(app) is None
    assert after.status_code == 303


async def test_forms_carry_the_sessions_token_which_stays_the_same_as_page_views_renew_the_session(
    identity_provider, tmp_path
):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        await app.get(await browser.log_in("ada"))
        first = await app.get("/ui")
        second = await app.get("/ui")
        sent = await app.post("/ui/notes", data={"csrf": csrf_of(first.text)})
        forged = await app.post("/ui/notes", data={"csrf": "0" * 32})
        bare = await app.post("/ui/notes", data={})
    assert csrf_of(first.text) == csrf_of(second.text)
    assert f"{SESSION_COOKIE}=" in set_cookies(second)  # each view renews the session
    assert sent.status_code == 303
    assert forged.status_code == 403 and bare.status_code == 403


async def test_signing_out_ends_the_session_here_and_at_the_provider(identity_provider, tmp_path):
    async with sso_service(identity_provider, tmp_path, **KEYCLOAK) as app, Browser(app, identity_provider) as browser:
        await app.get(await browser.log_in("ada"))
        page = await app.get("/ui")
        out = await app.post("/signout", data={"csrf": csrf_of(page.text)})
        logout_page = await browser.get(out.headers["location"])
        form = {**dict(_hidden_fields(logout_page.text)), "logout": "yes"}
        confirmed = await browser.post(f"{identity_provider.issuer}/session/end/confirm", data=form)
        after = await app.get("/ui")
        again = await browser.to_provider()  # the provider asks who it is again

    end_session = urlsplit(out.headers["location"])
    assert out.status_code == 303 and f"{end_session.scheme}://{end_session.netloc}" == identity_provider.issuer
    assert parse_qs(end_session.query) == {"client_id": [CLIENT_ID], "post_logout_redirect_uri": [f"{APP}/signin"]}
    assert f'{SESSION_COOKIE}=""' in set_cookies(out) and session_in(app) is None
    assert confirmed.status_code in (302, 303) and confirmed.headers["location"] == f"{APP}/signin"
    assert after.status_code == 303 and after.headers["location"].startswith("/signin")
    assert again.status_code == 200 and 'name="login"' in again.text


def _hidden_fields(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)


async def test_a_referrals_node_signs_its_staff_in_with_the_provider_and_its_api_takes_the_token(
    identity_provider, node_factory, tmp_path
):
    secret = tmp_path / "client-secret"
    secret.write_text(CLIENT_SECRET)
    node = node_factory(
        "cpia2",
        auth_jwks_url=identity_provider.jwks_url,
        auth_issuer=identity_provider.issuer,
        auth_audience=RESOURCE,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret_file=secret,
        oidc_scopes="openid profile crocevia",
    )
    async with node as cpia, Browser(cpia, identity_provider) as browser:
        sign_in_page = await cpia.get("/signin", params={"lang": "en"})
        landed = await browser.follow(await browser.sign_in("eve"))
        held = session_in(cpia)
        assert held is not None
        listed = await cpia.get("/referrals", headers={"Authorization": f"Bearer {held['bearer']}"})
        minted = await cpia.post("/signin", data={"agency": "cpia2", "role": "operator"})
    assert "Sign in with 127.0.0.1" in sign_in_page.text and 'action="/signin"' not in sign_in_page.text
    assert landed.status_code == 200 and "<h1>Needs us</h1>" in landed.text
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert held["roles"] == [Role.OPERATOR.value]
    assert minted.status_code == 404  # the development sign-in is off beside single sign-on


def test_single_sign_on_without_the_providers_keys_is_refused_at_start(identity_provider, tmp_path):
    with pytest.raises(ValueError, match="CROCEVIA_AUTH_JWKS_URL"):
        WebAccess.of(sso_settings(identity_provider, tmp_path, auth_jwks_url=None))
    with pytest.raises(ValueError, match="CROCEVIA_SESSION_KEY_FILE"):
        WebAccess.of(sso_settings(identity_provider, tmp_path, oidc_client_secret_file=None))
    with pytest.raises(ValueError, match="CROCEVIA_OIDC_ROLE_MAP"):
        TokenVerifier(sso_settings(identity_provider, tmp_path, oidc_role_map={"/crocevia/boss": "boss"}))


async def test_behind_a_proxy_that_ends_tls_the_cookies_are_secure_and_the_provider_sees_the_public_address(
    identity_provider, tmp_path
):
    public = "https://pages.example.org/signin/callback"
    async with sso_service(identity_provider, tmp_path, oidc_redirect_url=public, **KEYCLOAK) as app:
        start = await app.get("/signin/oidc")
    assert "Secure" in start.headers["set-cookie"]
    assert parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"] == [public]
