"""A small service for the single sign-on tests: the shared web package (sign-in, session,
forms) and auth as every service mounts them, with one page, one form, one API route and one
stream route, a clock the test moves, and a way to the provider the test can meddle with."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import RedirectResponse, Response

from crocevia_common.auth import Principal, Role, TokenVerifier, require
from crocevia_common.problems import install_problem_handlers
from crocevia_common.settings import ServiceSettings
from crocevia_common.web import SignInChoices, WebAccess, mount_web, pages_of
from crocevia_common.web.pages import SHARED_TEMPLATES
from crocevia_common.web.session import header_or_cookie, page_roles, read_form
from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.kit.identity_provider import APP, CLIENT_ID, CLIENT_SECRET, RESOURCE, IdentityProvider

IDLE_MINUTES = 5
LIFETIME_HOURS = 0.25
Staff = Annotated[Principal, Depends(page_roles(Role.OPERATOR, Role.SUPERVISOR))]
# Claim mappings as a Keycloak realm (groups) and an Entra ID tenant (app roles) give them.
KEYCLOAK = {
    "oidc_agency_claim": "agency",
    "oidc_roles_claim": "groups",
    "oidc_role_map": {"/crocevia/operators": "operator", "/crocevia/supervisors": "supervisor"},
}
ENTRA = {
    "oidc_agency_claim": "extn.agency",
    "oidc_roles_claim": "roles",
    "oidc_role_map": {"Crocevia.Operator": "operator", "Crocevia.Supervisor": "supervisor"},
}


class Clock:
    """The service's clock: now, until the test moves it on."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


def sso_settings(provider: IdentityProvider, workdir: Path, **overrides: Any) -> ServiceSettings:
    secret = workdir / "client-secret"
    secret.write_text(CLIENT_SECRET)
    values: dict[str, Any] = {
        "auth_jwks_url": provider.jwks_url,
        "auth_issuer": provider.issuer,
        "auth_audience": RESOURCE,
        "auth_dev_key_file": None,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret_file": secret,
        "oidc_provider_name": "Test ID",
        "oidc_scopes": "openid profile crocevia",
        "session_idle_minutes": IDLE_MINUTES,
        "session_hours": LIFETIME_HOURS,
        "staff_dir": None,
        "network_file": None,
        "dev_signin": False,
        **overrides,
    }
    return ServiceSettings(**values)


def sso_app(settings: ServiceSettings, access: WebAccess) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = TokenVerifier(settings)
    router = APIRouter()

    @router.get("/ui")
    async def home(request: Request, person: Staff) -> Response:
        roles = " ".join(sorted(r.value for r in person.roles))
        return pages_of(request).render(request, "message.html", title="Home", text=f"{person.agency}: {roles}")

    @router.post("/ui/notes")
    async def note(request: Request, _person: Staff) -> Response:
        await read_form(request)
        return RedirectResponse("/ui", status_code=303)

    @router.get("/whoami")
    async def whoami(person: Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]) -> dict[str, Any]:
        return {"sub": person.sub, "agency": person.agency, "roles": sorted(person.roles)}

    @router.get("/whoami/stream")
    async def stream(person: Annotated[Principal, Depends(header_or_cookie)]) -> dict[str, Any]:
        return {"sub": person.sub, "agency": person.agency, "roles": sorted(person.roles)}

    choices = SignInChoices(roles=(Role.OPERATOR, Role.SUPERVISOR))
    mount_web(app, settings, router=router, templates=SHARED_TEMPLATES, title="Test", choices=choices, access=access)
    return app


def build_sso_app(
    provider: IdentityProvider,
    workdir: Path,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> FastAPI:
    """The small service, signing in with ``provider``."""
    settings = sso_settings(provider, workdir, **overrides)
    return sso_app(settings, WebAccess.of(settings, clock=clock or Clock(), transport=transport))


def browser_of(app: FastAPI) -> httpx.AsyncClient:
    """A browser's way to ``app`` at ``http://testserver``, with its own cookies."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP)


@asynccontextmanager
async def sso_service(
    provider: IdentityProvider,
    workdir: Path,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """The small service on ``http://testserver``, and a browser's way to it."""
    async with browser_of(build_sso_app(provider, workdir, clock, transport, **overrides)) as client:
        yield client


def session_in(client: httpx.AsyncClient) -> dict[str, Any] | None:
    """What the browser's session cookie holds (signed, not secret), or None."""
    value = client.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    body = value.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def set_cookies(answer: httpx.Response) -> str:
    return "\n".join(answer.headers.get_list("set-cookie"))
