"""The web pages' shared part: layout, styles, scripts (htmx, the bell, the Merkle proof
verifier), the strings in Italian and English, the sign-in (single sign-on, or the
development one) and the session.

Each service calls :func:`mount_web` once with its own router and templates.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from crocevia_common.redaction import without_credentials
from crocevia_common.settings import ServiceSettings, WebSettings
from crocevia_common.web import bell, signin, sso
from crocevia_common.web.access import WebAccess
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import Pages, pages_of
from crocevia_common.web.session import PageRefused, SessionEnded, SessionRenewal, SignInRequired
from crocevia_common.web.session_cookie import clear
from crocevia_common.web.signin import SignInChoices

STATIC = Path(__file__).parent / "static"

__all__ = ["Pages", "SignInChoices", "WebAccess", "WebSettings", "mount_static", "mount_web", "pages_of"]


def mount_static(app: FastAPI) -> None:
    """Serve the shared styles and scripts at ``/static``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def mount_web(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    router: APIRouter,
    templates: Path,
    title: str,
    choices: SignInChoices,
    access: WebAccess | None = None,
) -> Pages:
    """Add a service's pages (``router``, ``templates``), the sign-in, the bell and the
    static files to ``app``; ``/`` leads to the service's home page. The pages read their
    settings (links, staff, session) from the service's ``settings``; ``access`` (how people
    sign in) is the one of the settings unless a test gives its own."""
    pages = Pages(templates, settings, title)
    app.state.pages = pages
    app.state.sign_in_choices = choices
    app.state.web_access = access or WebAccess.of(settings)
    app.add_middleware(SessionRenewal)
    mount_static(app)
    app.include_router(signin.router)
    app.include_router(sso.router)
    app.include_router(bell.router)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse(choices.home, status_code=303)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        location = sign_in_again(request)
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    @app.exception_handler(SessionEnded)
    async def _ended(request: Request, exc: SessionEnded) -> Response:
        location = sign_in_again(request)
        response: Response
        if request.headers.get("HX-Request"):
            response = Response(status_code=401, headers={"HX-Redirect": location})
        else:
            t = Translator(request_language(request))
            key = f"session.{exc.reason}"
            response = pages_of(request).render(
                request,
                "message.html",
                status=401,
                title=t(f"{key}.title"),
                text=t(key),
                again=location,
                again_label="layout.signin-once-more",
            )
        clear(response)
        return response

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> Response:
        t = Translator(request_language(request))
        return pages_of(request).render(
            request,
            "message.html",
            status=exc.status,
            title=t(f"{exc.message}.title"),
            text=t(exc.message, **exc.values),
        )

    return pages


def sign_in_again(request: Request) -> str:
    """The sign-in page, then back to the page asked for (for a form, the page it was on)."""
    query = without_credentials(request.url.query)
    target = request.url.path + (f"?{query}" if query else "")
    if request.method != "GET":  # back to the page the form was on
        target = urlsplit(request.headers.get("referer", "")).path or request.url.path
    return f"/signin?next={quote(target, safe='/')}"
