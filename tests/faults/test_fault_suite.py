"""The fault suite, one seed, as ``make test`` runs it: under a steady load of referrals over
three agencies, a node, the audit, notifications and the NATS server killed with SIGKILL and
started again, stream messages copied and reordered, a node's database stalled and a node's
disk filled; then the counts must agree. ``make faults`` runs more seeds and more faults
(``python -m tests.faults``), on PostgreSQL and on a NATS cluster too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.suite import Params, planned_kinds, run_seed
from tests.kit.disk import mountable

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def test_every_fault_is_taken_without_losing_or_repeating_anything(tmp_path: Path) -> None:
    seed = int(os.environ.get("FAULT_SEED", "1"))
    no_disk = mountable()
    outcome = run_seed(seed, Params(), tmp_path, lambda _line: None)
    report = outcome.text()
    print(report)
    expected = planned_kinds(Params(), postgres=False, disks=no_disk is None)
    assert sorted(f.kind for f in outcome.faults) == sorted(expected), report
    assert outcome.checks["referrals"]["referrals made"], report
    assert outcome.ok, report
    if no_disk is not None:  # every other fault was taken; this one could not be injected here
        pytest.skip(f"a node's disk was not filled: {no_disk}")
