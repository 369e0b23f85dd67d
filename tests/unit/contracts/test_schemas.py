"""The exported JSON Schemas are the models, and the models keep v1 compatible."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from crocevia_contracts import EVENT_MODELS, EventName
from crocevia_contracts.directory import AgencyEntry, read_entry
from crocevia_contracts.events import Priority
from crocevia_contracts.schemas import SCHEMA_DIR, render, schema_of


def test_exported_schemas_match_the_models():
    stale = [
        path
        for path, text in render().items()
        if not (SCHEMA_DIR / path).exists() or (SCHEMA_DIR / path).read_text() != text
    ]
    assert not stale, f"run `make schemas`: stale or missing {stale}"


def test_no_schema_file_is_left_over_from_a_removed_model():
    on_disk = {str(p.relative_to(SCHEMA_DIR)) for p in SCHEMA_DIR.rglob("*.json")}
    assert on_disk == set(render())


def test_every_lifecycle_event_has_a_model():
    assert set(EVENT_MODELS) == set(EventName)
    assert len(EventName) == 14


def test_v1_consumers_keep_working_no_required_field_added_or_removed():
    """A change that breaks a consumer of v1 (a field made required, a field removed or
    retyped) must come as v2. The committed schemas are the v1 promise."""
    for name, model in EVENT_MODELS.items():
        committed = json.loads((SCHEMA_DIR / "events" / f"{name.value}.json").read_text())
        current = schema_of(model)
        assert set(committed.get("required", [])) == set(current.get("required", [])), name
        for field, spec in committed["properties"].items():
            assert field in current["properties"], f"{name}: field {field} removed"
            assert current["properties"][field] == spec, f"{name}: field {field} changed"


def test_the_asyncapi_document_matches_the_models():
    from crocevia_contracts.anchors import AnchorKind
    from crocevia_contracts.asyncapi import DOCUMENT, build, render

    assert DOCUMENT.read_text() == render(), "run `make schemas`"
    audit = ("audit.v1.checkpoint", "audit.v1.gap", "audit.v1.gap-closed", "audit.v1.anomaly")
    caseload = ("caseload.v1.{agency}.referral-assigned",)
    assert len(build()["channels"]) == len(EventName) + 2 + len(AnchorKind) + len(caseload) + len(audit)
    assert {c["address"] for c in build()["channels"].values()} >= {*audit, *caseload}


def test_directory_readers_keep_working_when_a_newer_node_adds_fields():
    """A node that states something new in its entry (an optional field) is still read by
    nodes that do not know the field; no field an older entry lacks becomes required."""
    newer = {
        "organization": {"id": "cpia2", "name": "CPIA 2", "phone": "+39 02 000000"},
        "services": [
            {
                "id": "italiano-a1",
                "name": "Italiano A1",
                "domain": "education",
                "response_targets": {"routine": {"receive_within_hours": 24, "decide_within_hours": 120, "grace": 2}},
                "intake_form": "https://cpia2.example/form",
            }
        ],
        "working_calendar": {"timezone": "Europe/Rome", "half_days": ["2026-12-24"]},
        "accreditation": {"region": "Lombardia"},
    }
    entry = read_entry(json.dumps(newer))
    assert entry.organization.id == "cpia2"
    assert entry.service("italiano-a1").response_targets[Priority.ROUTINE].decide_within_hours == 120
    with pytest.raises(ValidationError, match="Extra inputs"):
        AgencyEntry.model_validate(newer)  # an agency's own file is read strictly: a typo is an error

    committed = json.loads((SCHEMA_DIR / "directory-entry.json").read_text())
    current = schema_of(AgencyEntry)
    assert set(committed.get("required", [])) == set(current.get("required", []))
    for field, spec in committed["properties"].items():
        assert current["properties"].get(field) == spec, f"directory entry: field {field} removed or changed"
