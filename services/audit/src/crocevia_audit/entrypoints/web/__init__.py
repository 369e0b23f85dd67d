"""The audit's web pages for auditors and the steering committee, under ``/ui``: the
trail, a referral's timeline, integrity checked in the browser, indicators as charts."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI

from crocevia_audit.entrypoints.access import READERS
from crocevia_audit.entrypoints.web import indicators, integrity, receipt_check, trail
from crocevia_audit.settings import AuditSettings
from crocevia_common.web import SignInChoices, mount_web

TEMPLATES = Path(__file__).parent.parent / "templates"
STEERING_COMMITTEE = "steering-committee"

router = APIRouter(include_in_schema=False)
for module in (trail, integrity, indicators, receipt_check):
    router.include_router(module.router)


def install_web(app: FastAPI, settings: AuditSettings) -> None:
    """Serve the pages (and the shared sign-in, bell and static files) from the audit."""
    mount_web(
        app,
        settings,
        router=router,
        templates=TEMPLATES,
        title="Audit",
        choices=SignInChoices(roles=READERS, extra_agencies=(STEERING_COMMITTEE,), home="/ui/trail"),
    )
