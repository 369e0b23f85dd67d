"""What each action on a referral needs from the person who takes it: a reason or outcome
code from a fixed list, the text of a question or an answer, another agency to suggest."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from crocevia_contracts.lifecycle import NOT_ACTIONS, STEPS
from crocevia_referrals.domain.codes import CODES_BY_ACTION
from crocevia_referrals.domain.errors import Invalid

# The actions people take; ``receive`` and ``erase`` are a node's own answers to events, and a
# message has its own route.
STAFF_ACTIONS = tuple(action for action in STEPS if action not in NOT_ACTIONS)
_NOTE_REQUIRED = ("request-info", "provide-info")
_CODE_OPTIONAL = ("hold",)


@dataclass(frozen=True)
class ActionNeeds:
    """The fields of one action: its code field and codes, and what is required."""

    action: str
    code_field: str | None = None
    codes: tuple[str, ...] = ()
    code_required: bool = False
    suggests_agency: bool = False
    note_required: bool = False


def needs_of(action: str) -> ActionNeeds:
    field, codes = CODES_BY_ACTION.get(action, (None, ()))
    return ActionNeeds(
        action,
        field,
        codes,
        code_required=field is not None and action not in _CODE_OPTIONAL,
        suggests_agency=action == "reject",
        note_required=action in _NOTE_REQUIRED,
    )


@dataclass(frozen=True)
class ActionInput:
    """An action as a person asks for it; ``note`` is free text, sealed to the other party."""

    name: str
    reason_code: str | None = None
    outcome: str | None = None
    suggested_agency: str | None = None
    note: str | None = None


def public_fields(action: ActionInput) -> dict[str, Any]:
    """The codes ``action`` carries in clear, once they are what it needs; raise Invalid
    naming the field otherwise. Whether a suggested agency exists is ``check_suggestion``'s to say."""
    needs = needs_of(action.name)
    public: dict[str, Any] = {}
    field = needs.code_field
    if field is not None:
        value, choices = getattr(action, field), ", ".join(needs.codes)
        if value is None and needs.code_required:
            raise Invalid("missing-code", f"{action.name} needs {field}, one of: {choices}", field)
        if value is not None and value not in needs.codes:
            raise Invalid("unknown-code", f"{field} must be one of: {choices}", field)
        public[field] = value
    if action.suggested_agency:
        if not needs.suggests_agency:
            raise Invalid("unexpected-field", "only a rejection may suggest another agency", "suggested_agency")
        public["suggested_agency"] = action.suggested_agency
    if needs.note_required and not action.note:
        raise Invalid("missing-note", f"{action.name} needs the text of the question or answer", "note")
    return public


def check_suggestion(agency: str, parties: Collection[str], known_agencies: Collection[str]) -> None:
    """Raise Invalid unless ``agency`` is in the directory (``known_agencies``) and is not
    one of the referral's ``parties``."""
    if agency in parties:
        raise Invalid("not-another-agency", "suggest an agency other than the two of this referral", "suggested_agency")
    if agency not in known_agencies:
        raise Invalid("unknown-agency", f"no agency {agency!r} in the directory", "suggested_agency")
