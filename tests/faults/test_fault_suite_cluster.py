"""The fault suite on a three-server NATS cluster, streams replicated three times, as
``make test`` runs it: under a steady load of referrals over three agencies, one member
killed with SIGKILL; the network goes on through the other two, the member started again
becomes a current replica of every stream, and the counts agree. ``make faults`` runs every
fault kind on the cluster, over more seeds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.faults import NATS_MEMBER
from tests.faults.suite import Params, run_seed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_cluster_member_killed_under_load_loses_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("FAULT_SEED", "1"))
    outcome = run_seed(seed, Params(nats="cluster", kinds=(NATS_MEMBER,)), tmp_path, lambda _line: None)
    report = outcome.text()
    print(report)
    assert [f.kind for f in outcome.faults] == [NATS_MEMBER], report
    assert outcome.checks["referrals"]["referrals made"], report
    assert outcome.ok, report
