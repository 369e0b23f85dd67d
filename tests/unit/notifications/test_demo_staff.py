"""The demo staff directory describes people of the demo agencies, as the service loads it."""

from __future__ import annotations

from pathlib import Path

from crocevia_notifications.adapters.directory import load_agencies_dir
from crocevia_notifications.adapters.staff_files import load_staff_dir, load_staff_file

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo"


def test_every_demo_staff_file_loads_and_names_known_agencies_and_services():
    agencies = load_agencies_dir(DEMO / "agencies")
    files = load_staff_dir(DEMO / "staff")
    assert len(files) == len(list((DEMO / "staff").glob("*.yaml")))
    for staff_file in files:
        entry = agencies[staff_file.agency]
        offered = {s.id for s in entry.services}
        for member in staff_file.staff:
            assert set(member.services) <= offered, (staff_file.agency, member.sub)


def test_each_demo_agency_has_the_demo_accounts_of_an_operator_and_a_supervisor():
    for path in sorted((DEMO / "staff").glob("*.yaml")):
        staff_file = load_staff_file(path)
        subs = {m.sub: m for m in staff_file.staff}
        assert "operator" in subs[f"operator-{staff_file.agency}"].roles
        assert "supervisor" in subs[f"supervisor-{staff_file.agency}"].roles
        assert all(m.email for m in staff_file.staff)
