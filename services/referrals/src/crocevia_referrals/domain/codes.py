"""Fixed code lists for reasons and outcomes (after FHIR statusReason and field practice)."""

from __future__ import annotations

REJECT_REASONS = ("not-eligible", "no-capacity", "out-of-area", "duplicate", "unreachable", "other")
HOLD_REASONS = ("waiting-for-information", "waiting-list", "person-unavailable", "other")
COMPLETION_OUTCOMES = ("got-help", "partially-helped", "referred-elsewhere", "no-longer-needed", "other")
FAILURE_REASONS = ("unreachable", "no-show", "no-longer-interested", "not-eligible", "other")
CANCEL_REASONS = ("no-longer-needed", "sent-in-error", "referred-elsewhere", "person-request", "other")

# Not a staff choice: a node answers so when a referral's sealed part cannot be opened or read.
UNDELIVERABLE = "undeliverable"

CODES_BY_ACTION: dict[str, tuple[str, tuple[str, ...]]] = {
    # action -> (field in the request, allowed codes)
    "reject": ("reason_code", REJECT_REASONS),
    "hold": ("reason_code", HOLD_REASONS),
    "complete": ("outcome", COMPLETION_OUTCOMES),
    "fail": ("reason_code", FAILURE_REASONS),
    "cancel": ("reason_code", CANCEL_REASONS),
}
