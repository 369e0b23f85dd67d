"""Who may read what: the network's auditors (the steering committee, role
``network-auditor``) see the whole trail; an agency's auditors and staff see the entries of
their agency's referrals and the notices addressed to it (``trail_query.concerning``).
Nobody may change it: the API has no route that writes an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crocevia_audit.handlers.context import AuditLog
from crocevia_common.auth import Principal, Role, require

READERS = (Role.NETWORK_AUDITOR, Role.AUDITOR, Role.OPERATOR, Role.SUPERVISOR)
AUDITORS = (Role.NETWORK_AUDITOR, Role.AUDITOR)
Reader = Annotated[Principal, Depends(require(*READERS))]
Auditor = Annotated[Principal, Depends(require(*AUDITORS))]


def party_of(principal: Principal) -> str | None:
    """The agency a caller's view is limited to: its own, whatever its roles; None (the
    whole network) for the network's auditors only."""
    return None if principal.has(Role.NETWORK_AUDITOR) else principal.agency


def audit_log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit
    return log
