"""Rendering pages: one Jinja2 environment per service (its own templates first, then the
shared layout), the language, the person, the links across services and the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from crocevia_common.auth import Principal, Role
from crocevia_common.settings import WebSettings
from crocevia_common.web.i18n import LANG_COOKIE, LANGUAGES, Translator, request_language
from crocevia_common.web.links import NetworkLinks, network_links
from crocevia_common.web.session import csrf_token, principal_of

SHARED_TEMPLATES = Path(__file__).parent / "templates"
# Everything a page uses comes from its own service: no inline script, no other site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavLink:
    key: str  # a string key, translated in the layout
    url: str


def navigation(user: Principal | None, links: NetworkLinks) -> list[NavLink]:
    """The links a person's work needs, wherever they are in the network."""
    if user is None:
        return []
    nav: list[NavLink] = []
    node = links.node(user.agency)
    if node and user.has(Role.OPERATOR, Role.SUPERVISOR):
        nav += [
            NavLink("nav.needs-us", f"{node}/ui"),
            NavLink("nav.assigned", f"{node}/ui/referrals?assignee=me"),
            NavLink("nav.referrals", f"{node}/ui/referrals"),
            NavLink("nav.new-referral", f"{node}/ui/referrals/new"),
            NavLink("nav.new-pathway", f"{node}/ui/pathways/new"),
        ]
    if node and user.has(Role.SUPERVISOR, Role.ADMIN):
        nav.append(NavLink("nav.services", f"{node}/ui/services"))
    if node and user.has(Role.SUPERVISOR, Role.DPO):
        nav.append(NavLink("nav.access-log", f"{node}/ui/access-log"))
        nav.append(NavLink("nav.subject-access", f"{node}/ui/subject-access"))
    if links.notifications and user.has(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        nav.append(NavLink("nav.inbox", f"{links.notifications}/ui/inbox"))
        nav.append(NavLink("nav.settings", f"{links.notifications}/ui/settings"))
    if links.audit and user.has(Role.NETWORK_AUDITOR, Role.AUDITOR, Role.OPERATOR, Role.SUPERVISOR):
        nav.append(NavLink("nav.trail", f"{links.audit}/ui/trail"))
    if links.audit and user.has(Role.NETWORK_AUDITOR, Role.AUDITOR):
        nav += [
            NavLink("nav.integrity", f"{links.audit}/ui/integrity"),
            NavLink("nav.indicators", f"{links.audit}/ui/indicators"),
        ]
    return nav


class Pages:
    """Renders a service's templates inside the shared layout."""

    def __init__(self, templates: Path, web: WebSettings, service_title: str) -> None:
        self.web = web
        self.service_title = service_title
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(templates), FileSystemLoader(SHARED_TEMPLATES)]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def links(self) -> NetworkLinks:
        return network_links(self.web)

    def context(self, request: Request) -> dict[str, Any]:
        lang = request_language(request)
        user = getattr(request.state, "principal", None) or principal_of(request)
        links = self.links()
        here = str(request.url.remove_query_params("lang"))
        t = Translator(lang)
        return {
            "request": request,
            "lang": lang,
            "t": t,
            "user": user,
            "links": links,
            "options": lambda kind, codes: [(code, t.code(kind, code)) for code in codes],
            "nav": navigation(user, links),
            "here": here.split("?")[0],
            "csrf": csrf_token(request),
            "service_title": self.service_title,
            "lang_urls": {code: str(request.url.include_query_params(lang=code)) for code in LANGUAGES},
            "bell": bool(user and links.notifications and user.has(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN)),
        }

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        context = self.context(request)
        context.update(values)
        body = self.env.get_template(name).render(context)
        response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
        asked = request.query_params.get("lang")
        if asked in LANGUAGES:
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages
