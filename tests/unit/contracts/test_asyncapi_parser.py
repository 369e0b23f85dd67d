"""The contract agency systems are told to follow reads in the tools they use: the official
AsyncAPI parser finds no error in the AsyncAPI document (references resolved from the files
beside it), and every exported JSON Schema is valid for its metaschema and describes what the
models produce."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

from jsonschema import Draft7Validator

from crocevia_contracts import Envelope, LegalBasis
from crocevia_contracts.asyncapi import DOCUMENT
from crocevia_contracts.events import Requested
from crocevia_contracts.schemas import SCHEMA_DIR
from tests.kit.node import node, node_tool


def test_the_official_asyncapi_parser_finds_nothing_wrong() -> None:
    folder = node_tool("asyncapi")
    done = subprocess.run(
        [node(), str(folder / "check.mjs"), str(DOCUMENT)], capture_output=True, text=True, timeout=120, check=True
    )
    diagnostics = json.loads(done.stdout)
    assert [d for d in diagnostics if d["severity"] <= 1] == [], "errors or warnings of the AsyncAPI parser"


def test_every_exported_schema_is_valid_json_schema() -> None:
    files = sorted(SCHEMA_DIR.rglob("*.json"))
    assert len(files) == 19
    for path in files:
        Draft7Validator.check_schema(json.loads(path.read_text()))


def test_an_event_the_models_build_is_valid_for_the_exported_schema() -> None:
    data = Requested(
        referral_id="r-1",
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="italiano-a1",
        priority="routine",
        occurred_at=datetime(2026, 11, 30, tzinfo=UTC),
        legal_basis=LegalBasis(basis="public-task"),
    )
    event = json.loads(Envelope.build(source_agency="pioltello-casa", sequence=1, data=data).to_json())
    envelope = Draft7Validator(json.loads((SCHEMA_DIR / "envelope.json").read_text()))
    assert list(envelope.iter_errors(event)) == []
    event["data"]["legal_basis"]["scope"] = "free text about a person"
    assert list(envelope.iter_errors(event)), "the schema refuses what the models refuse"
