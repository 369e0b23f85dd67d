"""A referrals node's pages, in the test process on real NATS and SQLite: the sign-in, the
cookie session, forms that call the same use cases as the API, errors next to fields."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest

from crocevia_common.web.i18n import LOCAL_ZONE, Translator, strings
from tests.integration.web.pages import csrf_of, error_next_to, post_sign_in, sign_in
from tests.kit.services import eventually

COURSE = "cpia2/main-service"


def referral_form(csrf: str, **overrides: str) -> dict[str, str]:
    form = {
        "csrf": csrf,
        "service": COURSE,
        "priority": "routine",
        "legal_basis.basis": "consent",
        "legal_basis.captured_by": "operator-pioltello-casa",
        "legal_basis.captured_at": datetime.now(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M"),
        "person.given_name": "Amina",
        "person.family_name": "K.",
        "person.languages": "ar, fr",
        "reason": "Italian course A1",
        "idempotency_key": "k1",
    }
    form.update(overrides)
    return form


async def test_pages_lead_to_the_sign_in_without_a_session(node_factory):
    async with node_factory("cpia2") as cpia:
        answer = await cpia.get("/ui/referrals/new")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?next=/ui/referrals/new"
        assert (await cpia.get("/")).headers["location"] == "/ui"


async def test_the_dev_sign_in_keeps_the_session_in_an_httponly_cookie_that_the_api_ignores(node_factory):
    async with node_factory("cpia2") as cpia:
        page = await cpia.get("/signin")
        assert "OpenID Connect" in page.text  # in production the token comes from the identity provider
        answer = await post_sign_in(cpia, {"agency": "cpia2", "role": "operator", "next": "/ui"})
        cookie = answer.headers["set-cookie"]
        assert answer.status_code == 303 and answer.headers["location"] == "/ui"
        assert "crocevia_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert (await cpia.get("/ui")).status_code == 200
        assert (await cpia.get("/referrals")).status_code == 401  # the API wants the bearer header


async def test_the_sign_in_refuses_a_person_of_another_agency_next_to_the_field(node_factory):
    async with node_factory("cpia2") as cpia:
        answer = await post_sign_in(cpia, {"agency": "cpia2", "role": "operator", "person": "operator-pioltello-casa"})
        assert answer.status_code == 422
        assert error_next_to(answer.text, "person")
        assert "crocevia_session" not in answer.headers.get("set-cookie", "")


async def test_a_referral_sent_from_the_form_is_accepted_from_its_page_at_the_other_node(node_factory):
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia:
        await sign_in(casa, "pioltello-casa")

        async def cpia2_in_casas_directory() -> bool:  # cpia2 started after: its entry travels
            return "cpia2" in {e["organization"]["id"] for e in (await casa.get("/directory/agencies")).json()}

        await eventually(cpia2_in_casas_directory)
        form = await casa.get("/ui/referrals/new?domain=education")
        assert COURSE in form.text and "decisione entro 5 giorni" in form.text  # the response targets, in Italian
        sent = await casa.post("/ui/referrals/new", data=referral_form(csrf_of(form.text)))
        assert sent.status_code == 303, sent.text
        referral_id = re.fullmatch(r"/ui/referrals/([^?]+)\?done=sent", sent.headers["location"]).group(1)

        await sign_in(cpia, "cpia2")
        needs = await eventually(lambda: _page_with(cpia, "/ui", referral_id))
        assert "Amina K." in needs
        page = await cpia.get(f"/ui/referrals/{referral_id}")
        assert 'id="action-accept"' in page.text and "Italian course A1" in page.text
        accepted = await cpia.post(f"/ui/referrals/{referral_id}/accept", data={"csrf": csrf_of(page.text)})
        assert accepted.status_code == 303
        after = await cpia.get(accepted.headers["location"])
        assert 'class="status status-accepted"' in after.text and 'id="action-start"' in after.text


async def _page_with(client, path: str, text: str) -> str | None:
    answer = await client.get(path)
    return answer.text if text in answer.text else None


async def test_form_errors_are_shown_next_to_the_field_that_caused_them(node_factory, tokens):
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2"):
        await sign_in(casa, "pioltello-casa")
        csrf = csrf_of((await casa.get("/ui/referrals/new")).text)
        no_name = await casa.post("/ui/referrals/new", data=referral_form(csrf, **{"person.family_name": ""}))
        assert no_name.status_code == 422
        assert error_next_to(no_name.text, "person-family_name")
        assert 'value="Amina"' in no_name.text  # what was typed stays

        unknown = await casa.post("/ui/referrals/new", data=referral_form(csrf, service="cpia2/no-such-course"))
        assert unknown.status_code == 422
        assert 'id="service-error"' in unknown.text  # the API's problem field: service_id

        no_consent = await casa.post("/ui/referrals/new", data=referral_form(csrf, **{"legal_basis.captured_by": ""}))
        assert no_consent.status_code == 422 and 'id="legal_basis-error"' in no_consent.text

        never_expires = referral_form(csrf, **{"legal_basis.expires_at": "9999-12-31"})
        past_the_calendar = await casa.post("/ui/referrals/new", data=never_expires)
        assert past_the_calendar.status_code == 422 and 'id="legal_basis-error"' in past_the_calendar.text
        assert (await casa.get("/referrals", headers=tokens.bearer("pioltello-casa"))).json()["items"] == []


async def test_an_action_error_is_shown_next_to_its_field_and_a_refused_step_says_why(node_factory, tokens):
    from tests.integration.referrals.conftest import referral_body

    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia:
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        referral_id = created.json()["id"]
        await sign_in(cpia, "cpia2")
        page = await eventually(lambda: _page_with(cpia, f"/ui/referrals/{referral_id}", "action-reject"))
        csrf = csrf_of(page)
        rejected = await cpia.post(f"/ui/referrals/{referral_id}/reject", data={"csrf": csrf, "reason_code": ""})
        assert rejected.status_code == 422
        assert error_next_to(rejected.text, "reject-reason_code")

        await cpia.post(f"/ui/referrals/{referral_id}/accept", data={"csrf": csrf})
        again = await cpia.post(f"/ui/referrals/{referral_id}/accept", data={"csrf": csrf})
        assert again.status_code == 409 and 'id="problem"' in again.text


async def test_a_form_without_this_sessions_token_is_refused(node_factory, tokens):
    from tests.integration.referrals.conftest import referral_body

    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia:
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        await sign_in(cpia, "cpia2")
        answer = await cpia.post(f"/ui/referrals/{created.json()['id']}/accept", data={"csrf": "0" * 32})
        assert answer.status_code == 403


async def test_pages_speak_italian_by_default_and_english_on_request(node_factory):
    async with node_factory("cpia2") as cpia:
        await sign_in(cpia, "cpia2")
        assert "<h1>Da fare per noi</h1>" in (await cpia.get("/ui")).text
        assert "<h1>Needs us</h1>" in (await cpia.get("/ui", headers={"Accept-Language": "en-GB,en;q=0.9"})).text
        switched = await cpia.get("/ui?lang=en")
        assert "crocevia_lang=en" in switched.headers["set-cookie"]
        assert '<html lang="en">' in (await cpia.get("/ui")).text  # remembered


async def test_a_person_of_another_agency_is_told_the_node_is_not_theirs(node_factory, tokens):
    async with node_factory("cpia2") as cpia:
        cpia.cookies.set("crocevia_session", tokens.session("pioltello-casa"))
        answer = await cpia.get("/ui")
        assert answer.status_code == 403 and "cpia2" in answer.text


async def test_with_an_identity_provider_the_sign_in_page_only_says_where_tokens_come_from(tmp_path, nats_url):
    from crocevia_referrals.bootstrap import create_app
    from crocevia_referrals.settings import ReferralsSettings
    from tests.kit.services import agency_file, serve

    settings = ReferralsSettings(
        agency_id="cpia2",
        agency_file=agency_file(tmp_path, "cpia2"),
        nats_url=nats_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cpia2.db'}",
        auth_jwks_url="https://idp.example/jwks",
        dev_signin=True,  # an identity provider wins over the development sign-in
    )
    async with serve(create_app(settings)) as cpia:
        page = await cpia.get("/signin")
        assert "OpenID Connect" in page.text and 'action="/signin"' not in page.text
        minted = await cpia.post("/signin", data={"agency": "cpia2", "role": "operator"})
        assert minted.status_code == 404 and "crocevia_session" not in minted.headers.get("set-cookie", "")


async def test_a_consent_withdrawn_from_the_page_erases_the_details_and_the_other_page_says_so(node_factory, tokens):
    from tests.integration.referrals.conftest import referral_body

    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia:
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        referral_id = created.json()["id"]
        await sign_in(casa, "pioltello-casa")
        page = await eventually(lambda: _page_with(casa, f"/ui/referrals/{referral_id}", "status-received"))
        withdrawn = await casa.post(f"/ui/referrals/{referral_id}/withdraw-consent", data={"csrf": csrf_of(page)})
        assert withdrawn.status_code == 303

        await sign_in(cpia, "cpia2")
        erased = await eventually(lambda: _page_with(cpia, f"/ui/referrals/{referral_id}", 'id="erased"'))
        assert "Amina" not in erased and 'id="person"' not in erased


async def test_a_rejected_referral_is_sent_again_from_its_page_to_the_suggested_agency(node_factory, tokens):
    from tests.integration.referrals.conftest import referral_body

    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia, node_factory("csl-lavoro") as csl:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))).json()[
            "id"
        ]
        await eventually(lambda: _page_with_status(cpia, tokens, "cpia2", rid, "received"))
        rejected = await cpia.post(
            f"/referrals/{rid}/reject",
            json={"reason_code": "out-of-area", "suggested_agency": "csl-lavoro"},
            headers=tokens.bearer("cpia2"),
        )
        assert rejected.status_code == 200
        await sign_in(casa, "pioltello-casa")
        page = await eventually(lambda: _page_with(casa, f"/ui/referrals/{rid}", 'id="action-redirect"'))
        options = re.findall(r'<option value="([^"]+)"', page.split('id="action-redirect"')[1])
        assert options[0] == "csl-lavoro/main-service", "the suggested agency comes first"
        assert not any(o.startswith("cpia2/") for o in options), "not back to the agency that rejected it"

        missing = await casa.post(f"/ui/referrals/{rid}/redirect", data={"csrf": csrf_of(page), "target": ""})
        assert missing.status_code == 422 and error_next_to(missing.text, "redirect-target")

        sent = await casa.post(f"/ui/referrals/{rid}/redirect", data={"csrf": csrf_of(page), "target": options[0]})
        assert sent.status_code == 303, sent.text
        second = re.fullmatch(r"/ui/referrals/([^?]+)\?done=redirect", sent.headers["location"]).group(1)
        arrived = await eventually(lambda: _page_with_status(csl, tokens, "csl-lavoro", second, "received"))
        assert arrived["previous_referral_id"] == rid and arrived["person"]["given_name"] == "Amina"


async def _page_with_status(client, tokens, agency: str, rid: str, status: str) -> dict | None:
    answer = await client.get(f"/referrals/{rid}", headers=tokens.bearer(agency))
    return answer.json() if answer.status_code == 200 and answer.json()["status"] == status else None


# Bad inputs to an action: (who acts, action, input, the field at fault, the problem's slug)
BAD_ACTION_INPUTS = [
    ("cpia2", "reject", {}, "reason_code", "missing-code"),
    ("cpia2", "reject", {"reason_code": "bored"}, "reason_code", "unknown-code"),
    ("cpia2", "reject", {"reason_code": "no-capacity", "suggested_agency": "no-such-agency"}, "suggested_agency",
     "unknown-agency"),
    ("cpia2", "reject", {"reason_code": "no-capacity", "suggested_agency": "pioltello-casa"}, "suggested_agency",
     "not-another-agency"),
    ("cpia2", "reject", {"reason_code": "no-capacity", "suggested_agency": "Not An Agency"}, "suggested_agency",
     "validation"),
    ("cpia2", "request-info", {"note": ""}, "note", "missing-note"),
    ("cpia2", "request-info", {"note": "x" * 10001}, "note", "validation"),
    ("pioltello-casa", "cancel", {"reason_code": "bored"}, "reason_code", "unknown-code"),
]  # fmt: skip


@pytest.mark.parametrize(("agency", "action", "given", "field", "slug"), BAD_ACTION_INPUTS, ids=str)
async def test_the_api_and_the_page_refuse_the_same_action_input_the_same_way(
    node_factory, tokens, agency: str, action: str, given: dict[str, str], field: str, slug: str
) -> None:
    from tests.integration.referrals.conftest import referral_body

    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia, node_factory("csl-lavoro"):
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))).json()[
            "id"
        ]
        node = cpia if agency == "cpia2" else casa
        await eventually(lambda: _page_with_status(node, tokens, agency, rid, "received"))
        before = (await node.get(f"/referrals/{rid}", headers=tokens.bearer(agency))).json()

        api = await node.post(f"/referrals/{rid}/{action}", json=given, headers=tokens.bearer(agency))
        assert api.status_code == 422 and api.headers["content-type"] == "application/problem+json", api.text
        problem = api.json()
        assert problem["type"] == f"/problems/{slug}"
        if slug == "validation":
            assert problem["errors"][0]["loc"][-1] == field
            key = f"validation.{problem['errors'][0]['type']}"
        else:
            assert problem["field"] == field
            key = f"problem.{slug}"
        assert key in strings(), f"the pages have no words for {key}"

        await sign_in(node, agency)
        page = await node.get(f"/ui/referrals/{rid}")
        answer = await node.post(f"/ui/referrals/{rid}/{action}", data={"csrf": csrf_of(page.text), **given})
        assert answer.status_code == 422
        assert html.unescape(error_next_to(answer.text, f"{action}-{field}") or "") == Translator("it")(key)

        after = (await node.get(f"/referrals/{rid}", headers=tokens.bearer(agency))).json()
        assert after == before, "neither changed anything"


async def test_an_urgent_referral_to_a_service_without_an_urgent_target_says_the_routine_one_applies(node_factory):
    routine_only = [
        {
            "id": "main-service",
            "name": "Italiano A1",
            "domain": "education",
            "response_targets": {"routine": {"receive_within_hours": 24, "decide_within_hours": 120}},
        }
    ]
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2", services=routine_only):
        await sign_in(casa, "pioltello-casa")
        form = await eventually(lambda: _page_with(casa, "/ui/referrals/new", COURSE))
        sent = await casa.post("/ui/referrals/new", data=referral_form(csrf_of(form), priority="urgent"))
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"].endswith("?done=sent&warn=routine-target")
        page = await casa.get(sent.headers["location"])
        assert 'id="warning-routine-target"' in page.text
        assert html.escape(Translator("it")("warning.routine-target")) in page.text
        assert "valgono quelli ordinari" in page.text  # and next to the targets, while the referral lasts
