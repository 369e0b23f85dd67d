"""The fault suite, one seed, as ``make test`` runs it: under a steady load of referrals over
three agencies, a node, the audit, notifications and the NATS server killed with SIGKILL and
started again, and stream messages copied and reordered; then the counts must agree.
``make faults`` runs more seeds and more faults (``python -m tests.faults``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.faults import KINDS
from tests.faults.suite import Params, run_seed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def test_every_fault_is_taken_without_losing_or_repeating_anything(tmp_path: Path) -> None:
    seed = int(os.environ.get("FAULT_SEED", "1"))
    outcome = run_seed(seed, Params(), tmp_path, lambda _line: None)
    report = outcome.text()
    print(report)
    assert sorted(f.kind for f in outcome.faults) == sorted(KINDS), report
    assert outcome.checks["referrals"]["referrals made"], report
    assert outcome.ok, report
