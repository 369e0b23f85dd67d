"""Who may read what: auditors see the whole trail, agency staff the entries where their
agency is a party. Nobody may change it: the API has no route that writes an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crocevia_audit.handlers.context import AuditLog
from crocevia_common.auth import Principal, Role, require

Reader = Annotated[Principal, Depends(require(Role.AUDITOR, Role.OPERATOR, Role.SUPERVISOR))]
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]


def party_of(principal: Principal) -> str | None:
    """The agency a caller's view is limited to; None for auditors, who see everything."""
    return None if principal.has(Role.AUDITOR) else principal.agency


def audit_log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit
    return log
