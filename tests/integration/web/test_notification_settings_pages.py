"""The notifications' settings pages: each person's own preferences and quiet hours; an
agency's staff and subscriptions for its admins. Each form changes exactly what it says (read
back through the API), bad input is shown on the page and changes nothing, and a role the API
refuses is refused the page's action too. On SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import re

import httpx
import pytest

from crocevia_notifications.domain.preferences import Preferences
from crocevia_notifications.domain.routing import TOPICS
from tests.integration.notifications.conftest import NotificationsFactory
from tests.integration.web.pages import csrf_of, error_next_to, sign_in
from tests.kit.services import Tokens

ADMIN = ("cpia2", "admin")


@pytest.fixture
def notifications_factory(notifications_factory: NotificationsFactory, database_url: str) -> NotificationsFactory:
    return functools.partial(notifications_factory, database_url)


async def form_token(app: httpx.AsyncClient, page: str) -> str:
    answer = await app.get(page)
    assert answer.status_code == 200, answer.text
    return csrf_of(answer.text)


def preferences_form(csrf: str, **changed: list[str]) -> list[tuple[str, str]]:
    """The settings form as the page shows it for someone on the defaults, with the channels
    of some notices changed (``info_requested=["inbox"]``)."""
    chosen = {topic: sorted(Preferences().channels_for(topic)) for topic in TOPICS}
    chosen.update({topic.replace("_", "-"): channels for topic, channels in changed.items()})
    fields = [("csrf", csrf), ("email_enabled", "on"), ("digest", "none"), ("daily_digest_at", "08:00")]
    fields += [(f"channels.{topic}", channel) for topic, channels in chosen.items() for channel in channels]
    return fields


def fields_of(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """A form's fields, each name with its values, as httpx posts them."""
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


async def me(app: httpx.AsyncClient, tokens: Tokens, sub: str = "operator-cpia2") -> dict:
    answer = await app.get("/me", headers=tokens.bearer("cpia2", sub=sub))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_person_saves_channels_digest_and_quiet_hours_from_the_settings_page(notifications_factory, tokens):
    async with notifications_factory() as app:
        await sign_in(app, "cpia2", "operator")
        csrf = await form_token(app, "/ui/settings")
        shown = preferences_form(csrf, requested=["inbox"], accepted=["email", "inbox"])
        fields = [(k, v) for k, v in shown if k not in ("digest", "daily_digest_at")]
        fields += [("digest", "daily"), ("daily_digest_at", "07:30")]
        fields += [("quiet_hours.start", "20:00"), ("quiet_hours.end", "07:00")]
        saved = await app.post("/ui/settings", data=fields_of(fields))
        assert (saved.status_code, saved.headers["location"]) == (303, "/ui/settings?done=true")
        prefs = (await me(app, tokens))["preferences"]
        page = await app.get("/ui/settings?done=true")
    # Only the notices taken off their defaults are listed; the others keep following them.
    assert prefs["event_types"] == {"requested": ["inbox"], "accepted": ["email", "inbox"]}
    assert (prefs["digest"], prefs["daily_digest_at"], prefs["email_enabled"]) == ("daily", "07:30:00", True)
    assert prefs["quiet_hours"] == {"start": "20:00:00", "end": "07:00:00"}
    assert 'id="done"' in page.text
    assert re.search(r'id="channels-requested-email"[^>]*>', page.text).group(0).find("checked") == -1
    assert 'value="20:00"' in page.text and 'value="07:30"' in page.text


async def test_bad_settings_are_shown_next_to_their_fields_and_change_nothing(notifications_factory, tokens):
    async with notifications_factory() as app:
        before = (await me(app, tokens))["preferences"]
        await sign_in(app, "cpia2", "operator")
        csrf = await form_token(app, "/ui/settings")
        late = await app.post(
            "/ui/settings",
            data=fields_of([*preferences_form(csrf), ("quiet_hours.start", "25:00"), ("quiet_hours.end", "07:00")]),
        )
        half = await app.post("/ui/settings", data=fields_of([*preferences_form(csrf), ("quiet_hours.start", "22:00")]))
        odd = await app.post("/ui/settings", data=fields_of([*preferences_form(csrf, requested=["pigeon"])]))
        unsigned = await app.post("/ui/settings", data=fields_of(preferences_form("0" * 64, requested=["inbox"])))
        after = (await me(app, tokens))["preferences"]
    assert late.status_code == 422 and error_next_to(late.text, "quiet_hours-start")
    assert half.status_code == 422 and error_next_to(half.text, "quiet_hours-end")
    assert 'value="22:00"' in half.text, "the form keeps what was typed"
    assert odd.status_code == 422 and "event_types.requested.0" in odd.text
    assert unsigned.status_code == 403
    assert after == before


async def test_an_admin_adds_and_deactivates_people_from_the_staff_page(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        await sign_in(app, "cpia2", "admin")
        csrf = await form_token(app, "/ui/staff")
        added = await app.post(
            "/ui/staff",
            data={
                "csrf": csrf,
                "sub": "new-op",
                "name": "Nuova Operatrice",
                "email": "new@cpia2.test",
                "roles": "operator",
            },
        )
        deactivated = await app.post("/ui/staff/op-en/active", data={"csrf": csrf, "active": "false"})
        staff = {p["sub"]: p for p in (await app.get("/agencies/cpia2/staff", headers=admin)).json()}
        page = await app.get("/ui/staff")
    assert (added.status_code, added.headers["location"]) == (303, "/ui/staff?done=added")
    assert deactivated.status_code == 303
    new = staff["new-op"]
    assert (new["name"], new["email"], new["roles"], new["active"]) == (
        "Nuova Operatrice",
        "new@cpia2.test",
        ["operator"],
        True,
    )
    assert staff["op-en"]["active"] is False
    assert [p["active"] for s, p in staff.items() if s not in ("op-en",)] == [True] * 5
    assert 'id="person-op-en" data-active="false"' in page.text and 'id="person-new-op" data-active="true"' in page.text


async def test_bad_staff_forms_show_the_problem_and_change_nothing(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        before = (await app.get("/agencies/cpia2/staff", headers=admin)).json()
        await sign_in(app, "cpia2", "admin")
        csrf = await form_token(app, "/ui/staff")
        boss = await app.post("/ui/staff", data={"csrf": csrf, "sub": "x", "name": "X", "roles": "boss"})
        nameless = await app.post("/ui/staff", data={"csrf": csrf, "sub": "x", "roles": "operator"})
        again = await app.post("/ui/staff", data={"csrf": csrf, "sub": "op-en", "name": "Other", "roles": "admin"})
        nobody = await app.post("/ui/staff/nobody/active", data={"csrf": csrf, "active": "false"})
        unsigned = await app.post("/ui/staff/op-en/active", data={"active": "false"})
        after = (await app.get("/agencies/cpia2/staff", headers=admin)).json()
    assert boss.status_code == 422 and "roles" in boss.text and "boss" in boss.text
    assert nameless.status_code == 422 and error_next_to(nameless.text, "name")
    assert again.status_code == 409 and 'id="problem"' in again.text
    assert nobody.status_code == 404 and 'id="problem"' in nobody.text
    assert unsigned.status_code == 403
    assert after == before


async def test_supervisors_and_operators_may_not_change_the_staff_or_the_subscriptions(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        staff_before = (await app.get("/agencies/cpia2/staff", headers=admin)).json()
        subs_before = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
        answers = []
        for role in ("supervisor", "operator"):
            await sign_in(app, "cpia2", role)
            csrf = await form_token(app, "/ui/settings")
            answers += [
                await app.get("/ui/staff"),
                await app.get("/ui/subscriptions"),
                await app.post("/ui/staff", data={"csrf": csrf, "sub": "x", "name": "X", "roles": "operator"}),
                await app.post("/ui/staff/op-en/active", data={"csrf": csrf, "active": "false"}),
                await app.post("/ui/subscriptions", data={"csrf": csrf, "roles": "operator"}),
            ]
        staff_after = (await app.get("/agencies/cpia2/staff", headers=admin)).json()
        subs_after = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
    assert [a.status_code for a in answers] == [403] * 10
    assert (staff_after, subs_after) == (staff_before, subs_before)


async def test_an_admin_adds_and_removes_a_subscription_from_its_page(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        defaults = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
        await sign_in(app, "cpia2", "admin")
        csrf = await form_token(app, "/ui/subscriptions")
        fields = [("csrf", csrf), ("roles", "supervisor"), ("event_types", "rejected"), ("event_types", "escalation")]
        fields += [("priorities", "urgent"), ("service_ids", "main-service, second-service"), ("scope", "party")]
        added = await app.post("/ui/subscriptions", data=fields_of(fields))
        listed = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
        own = [s for s in listed if not s["default"]]
        page = await app.get("/ui/subscriptions")
        removed = await app.post(f"/ui/subscriptions/{own[0]['id']}/remove", data={"csrf": csrf})
        after = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
    assert (added.status_code, added.headers["location"]) == (303, "/ui/subscriptions?done=added")
    assert len(own) == 1 and len(listed) == len(defaults) + 1
    assert {k: own[0][k] for k in ("roles", "event_types", "service_ids", "priorities", "scope")} == {
        "roles": ["supervisor"],
        "event_types": ["escalation", "rejected"],
        "service_ids": ["main-service", "second-service"],
        "priorities": ["urgent"],
        "scope": "party",
    }
    assert f'id="subscription-{own[0]["id"]}"' in page.text
    assert removed.status_code == 303 and after == defaults


async def test_bad_subscription_forms_show_the_problem_and_change_nothing(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        before = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
        await sign_in(app, "cpia2", "admin")
        csrf = await form_token(app, "/ui/subscriptions")
        roleless = await app.post("/ui/subscriptions", data={"csrf": csrf, "event_types": "rejected"})
        odd = await app.post("/ui/subscriptions", data={"csrf": csrf, "roles": "operator", "priorities": "whenever"})
        missing = await app.post("/ui/subscriptions/999/remove", data={"csrf": csrf})
        after = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
    assert roleless.status_code == 422 and 'id="form-errors"' in roleless.text
    assert odd.status_code == 422 and "whenever" in odd.text
    assert missing.status_code == 404 and 'id="problem"' in missing.text
    assert after == before
