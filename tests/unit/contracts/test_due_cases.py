"""The contracts' rule of when a referral's targets are due, on the table every service's
own test runs too (tests/kit/due_cases.py)."""

from __future__ import annotations

import pytest

from tests.kit.due_cases import DUE_CASES, DueCase


@pytest.mark.parametrize("case", DUE_CASES, ids=str)
def test_when_a_referral_is_due(case: DueCase) -> None:
    target = case.entry().target_for("main-service", case.priority)
    if case.receive_by is None:
        assert target is None
        return
    assert target is not None
    assert (target.receive_by(case.requested_at), target.decide_by(case.requested_at)) == (
        case.receive_by,
        case.decide_by,
    )
    assert target.fallback is case.fallback
