"""The node's web pages for its agency's staff, under ``/ui``: what needs us, a referral
with its actions, a new referral, the referrals searched and assigned, household pathways,
the access log. They call the same use cases and views as the HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI

from crocevia_common.auth import Role
from crocevia_common.web import SignInChoices, mount_web
from crocevia_referrals.entrypoints.web import (
    access_log,
    caseload,
    messages,
    needs_us,
    new_referral,
    pathways,
    referral,
)
from crocevia_referrals.settings import ReferralsSettings

TEMPLATES = Path(__file__).parent.parent / "templates"

router = APIRouter(include_in_schema=False)
# "/referrals/new" before "/referrals/{referral_id}", ".../assign" and ".../messages" before ".../{action}".
for module in (new_referral, needs_us, caseload, messages, referral, access_log, pathways):
    router.include_router(module.router)


def install_web(app: FastAPI, settings: ReferralsSettings, title: str) -> None:
    """Serve the pages (and the shared sign-in, bell and static files) from the node;
    ``title`` is the agency's name."""
    mount_web(
        app,
        settings,
        router=router,
        templates=TEMPLATES,
        title=title,
        choices=SignInChoices(roles=(Role.OPERATOR, Role.SUPERVISOR, Role.DPO), own_agency=settings.agency_id),
    )
