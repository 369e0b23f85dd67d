"""The settings page of the signed-in staff member: which notices reach them on which
channel, e-mail on or off, digests, quiet hours. The form calls the API's own route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal
from crocevia_common.web.session import Form, read_form
from crocevia_notifications.domain.preferences import Channel, Digest, Preferences
from crocevia_notifications.domain.routing import TOPICS
from crocevia_notifications.entrypoints.deps import notifier_of
from crocevia_notifications.entrypoints.http_staff import put_my_preferences
from crocevia_notifications.entrypoints.web_deps import Staff, form_errors, person_of, render

router = APIRouter(include_in_schema=False)


def shown(prefs: Preferences) -> dict[str, Any]:
    """The form's values for ``prefs``: for each notice, the channels chosen or the defaults."""
    chosen = Preferences(event_types=prefs.event_types)  # e-mail turned off is its own box
    quiet = prefs.quiet_hours
    return {
        "channels": {topic: sorted(chosen.channels_for(topic)) for topic in TOPICS},
        "email_enabled": prefs.email_enabled,
        "digest": prefs.digest.value,
        "daily_digest_at": prefs.daily_digest_at.strftime("%H:%M"),
        "quiet_start": quiet.start.strftime("%H:%M") if quiet else "",
        "quiet_end": quiet.end.strftime("%H:%M") if quiet else "",
    }


def asked(form: Form) -> dict[str, Any]:
    """The form as submitted, in the form's own shape."""
    return {
        "channels": {topic: form.getlist(f"channels.{topic}") for topic in TOPICS},
        "email_enabled": form.get("email_enabled") == "on",
        "digest": form.get("digest"),
        "daily_digest_at": form.get("daily_digest_at"),
        "quiet_start": form.get("quiet_hours.start"),
        "quiet_end": form.get("quiet_hours.end"),
    }


def preferences_of(values: dict[str, Any]) -> Preferences:
    """The preferences a submitted form asks for: a notice left at its defaults is not
    listed (it keeps following them); quiet hours only when a time is given. Raise
    ValidationError as the API would."""
    defaults = Preferences()
    channels: dict[str, list[str]] = values["channels"]
    body: dict[str, Any] = {
        "event_types": {t: c for t, c in channels.items() if set(c) != defaults.channels_for(t)},
        "email_enabled": values["email_enabled"],
        "digest": values["digest"],
        "daily_digest_at": values["daily_digest_at"],
    }
    quiet = {k: v for k, v in (("start", values["quiet_start"]), ("end", values["quiet_end"])) if v}
    if quiet:
        body["quiet_hours"] = quiet
    return Preferences.model_validate(body)


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, principal: Staff, done: bool = False) -> HTMLResponse:
    person = await person_of(request, principal)
    return _page(request, principal, person.member.name, shown(person.member.preferences), done=done)


@router.post("/settings", response_model=None)
async def save_settings(request: Request, principal: Staff) -> Response:
    form = await read_form(request)
    person = await person_of(request, principal)
    values = asked(form)
    try:
        await put_my_preferences(preferences_of(values), person, notifier_of(request))
    except ValidationError as exc:
        status, problem, errors = form_errors(request, exc)
        return _page(request, principal, person.member.name, values, status, problem, errors)
    return RedirectResponse("/ui/settings?done=true", status_code=303)


def _page(
    request: Request,
    principal: Principal,
    name: str,
    values: dict[str, Any],
    status: int = 200,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    done: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "settings.html",
        principal,
        status=status,
        person_name=name,
        values=values,
        topics=TOPICS,
        channels=[c.value for c in Channel],
        digests=[d.value for d in Digest],
        problem=problem,
        errors=errors or {},
        done=done,
    )
