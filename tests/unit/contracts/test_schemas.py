"""The exported JSON Schemas are the models, and the models keep v1 compatible."""

from __future__ import annotations

import json

from crocevia_contracts import EVENT_MODELS, EventName
from crocevia_contracts.schemas import SCHEMA_DIR, render


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
    assert len(EventName) == 13


def test_v1_consumers_keep_working_no_required_field_added_or_removed():
    """A change that breaks a consumer of v1 (a field made required, a field removed or
    retyped) must come as v2. The committed schemas are the v1 promise."""
    for name, model in EVENT_MODELS.items():
        committed = json.loads((SCHEMA_DIR / "events" / f"{name.value}.json").read_text())
        current = model.model_json_schema(mode="serialization")
        assert set(committed.get("required", [])) == set(current.get("required", [])), name
        for field, spec in committed["properties"].items():
            assert field in current["properties"], f"{name}: field {field} removed"
            assert current["properties"][field] == spec, f"{name}: field {field} changed"


def test_the_asyncapi_document_matches_the_models():
    from crocevia_contracts.asyncapi import DOCUMENT, build, render

    assert DOCUMENT.read_text() == render(), "run `make schemas`"
    assert len(build()["channels"]) == len(EventName) + 2 + 3
