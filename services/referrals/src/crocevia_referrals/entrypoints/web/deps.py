"""What the node's pages share: the signed-in staff member of this node's agency, why they
read a person's details, and the use cases' errors in the reader's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crocevia_common.auth import Principal, Role
from crocevia_common.web.form_errors import problem_text, validation_errors
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, page_roles
from crocevia_common.web.signin import staff_people
from crocevia_referrals.domain.access_log import Purpose
from crocevia_referrals.entrypoints.deps import node_of

__all__ = ["Staff", "own_agency", "problem_text", "purpose_of", "staff_choices", "validation_errors"]

Staff = Annotated[Principal, Depends(page_roles(Role.OPERATOR, Role.SUPERVISOR))]


def own_agency(request: Request, principal: Principal) -> None:
    """Refuse, with a page that says so, a person who does not work for this node's agency."""
    agency = node_of(request).agency_id
    if principal.agency != agency:
        raise PageRefused(403, "refused.other-agency", node=agency, agency=principal.agency)


def purpose_of(request: Request) -> Purpose:
    """Why a page's reader reads the personal details it shows (``?purpose=``, care by
    default), for the access log; a page that says so for an unknown one."""
    try:
        return Purpose(request.query_params.get("purpose") or Purpose.CARE)
    except ValueError:
        raise PageRefused(400, "refused.purpose", purposes=", ".join(Purpose)) from None


def staff_choices(request: Request) -> list[tuple[str, str]]:
    """This agency's staff as the staff directory lists them: (sub, name)."""
    people = staff_people(pages_of(request).web.staff_dir).get(node_of(request).agency_id, [])
    return [(person.sub, person.name) for person in people]
