"""The demo network's agency files: valid directory entries, one per required agency."""

from __future__ import annotations

from pathlib import Path

import pytest

from crocevia.registry import RegistryError, agency_files, load_agency, load_registry
from crocevia_contracts.directory import AgencyEntry, Capacity, Priority

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "agencies"
REQUIRED = (
    "pioltello-casa",
    "pioltello-sociali",
    "pioltello-stranieri",
    "pioltello-scuola",
    "cpia2",
    "csl-lavoro",
    "coop-abitare",
    "agenzia-casa-sudest",
    "prefettura-mediazione",
)


@pytest.mark.parametrize("path", agency_files(DEMO), ids=lambda p: p.stem)
def test_every_demo_file_is_an_agency_entry_named_after_its_agency(path: Path) -> None:
    entry = load_agency(path)

    assert isinstance(entry, AgencyEntry)
    assert entry.organization.id == path.stem
    assert entry.public_keys is None, "a node publishes its own keys"
    assert entry.services, "an agency offers at least one service"
    for service in entry.services:
        assert service.description and service.languages
        assert Priority.ROUTINE in service.response_targets
        for target in service.response_targets.values():
            assert target.receive_within_hours <= target.decide_within_hours


def test_the_demo_network_has_every_required_agency() -> None:
    registry = load_registry(DEMO)

    assert set(REQUIRED) <= set(registry)
    assert registry["cpia2"].service("italiano-a1") is not None


def test_the_demo_network_shows_every_capacity() -> None:
    capacities = {s.capacity for entry in load_registry(DEMO).values() for s in entry.services}

    assert capacities == set(Capacity)


def test_a_file_named_after_another_agency_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cpia3.yaml").write_text((DEMO / "cpia2.yaml").read_text())

    with pytest.raises(RegistryError, match=r"must be named cpia2\.yaml"):
        load_registry(tmp_path)


def test_an_invalid_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "cpia2.yaml").write_text("organization: {id: cpia2, name: CPIA}\nservices: [{id: x}]\n")

    with pytest.raises(RegistryError, match=r"cpia2\.yaml: not a valid agency entry"):
        load_registry(tmp_path)
