"""What the node's pages share: the signed-in staff member of this node's agency, the
directory's names, and errors in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError

from crocevia_common.auth import Principal, Role
from crocevia_common.web.i18n import Translator, strings
from crocevia_common.web.session import PageRefused, page_roles
from crocevia_contracts.directory import WorkingCalendar
from crocevia_referrals.entrypoints.http import node_of
from crocevia_referrals.handlers.node import Node

Staff = Annotated[Principal, Depends(page_roles(Role.OPERATOR, Role.SUPERVISOR))]


def own_node(request: Request, principal: Principal) -> Node:
    """This node, when the person works for its agency; else a page that says so."""
    node = node_of(request)
    if principal.agency != node.agency_id:
        raise PageRefused(403, "refused.other-agency", node=node.agency_id, agency=principal.agency)
    return node


def agency_names(node: Node) -> dict[str, str]:
    return {entry.organization.id: entry.organization.name for entry in node.directory.all()}


def service_names(node: Node) -> dict[tuple[str, str], str]:
    """(agency, service id) -> the service's name, for every service in the directory."""
    return {(e.organization.id, s.id): s.name for e in node.directory.all() for s in e.services}


def problem_text(t: Translator, slug: str, detail: str) -> str:
    """A use case's error in the reader's language when there is a string for it."""
    key = f"problem.{slug}"
    return t(key) if key in strings() else detail


def validation_errors(t: Translator, error: ValidationError) -> dict[str, str]:
    """Pydantic's errors by dotted field name (the names the forms' inputs carry)."""
    found: dict[str, str] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        key = f"validation.{item['type']}"
        found.setdefault(name, t(key) if key in strings() else item["msg"])
    return found


def utc(moment: datetime) -> datetime:
    """SQLite hands stored times back without their zone; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def calendar_of(node: Node, agency: str) -> WorkingCalendar:
    """The agency's working calendar, as its directory entry states it."""
    entry = node.directory.get(agency)
    return entry.working_calendar if entry else WorkingCalendar()


def target_of(node: Node, agency: str, service_id: str, priority: str) -> Any:
    """The directory's response target of a service for a priority, if it states one."""
    entry = node.directory.get(agency)
    service = entry.service(service_id) if entry else None
    if service is None:
        return None
    return next((target for p, target in service.response_targets.items() if p.value == priority), None)
