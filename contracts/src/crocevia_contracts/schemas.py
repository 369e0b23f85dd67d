"""Export the JSON Schemas of the contracts to ``contracts/schemas/``.

Run ``uv run python -m crocevia_contracts.schemas`` after changing a model; a test fails
while the files on disk differ from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from crocevia_contracts.anchors import AnchorEnvelope
from crocevia_contracts.caseload import CaseloadEnvelope
from crocevia_contracts.directory import AgencyEntry
from crocevia_contracts.envelope import Envelope
from crocevia_contracts.events import EVENT_MODELS
from crocevia_contracts.notices import NoticeEnvelope

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
# JSON Schema draft-07: what AsyncAPI's schema format extends, so that the AsyncAPI document
# (which refers to these files by their relative paths) and any JSON Schema tool read them.
DRAFT = "http://json-schema.org/draft-07/schema#"


def _draft7(node: Any) -> Any:
    """``node`` without OpenAPI's ``discriminator`` object (``oneOf`` over ``const`` values
    says the same in JSON Schema), its definitions under draft-07's ``definitions``."""
    if isinstance(node, dict):
        return {("definitions" if k == "$defs" else k): _draft7(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    return node


def schema_of(model: Any) -> dict[str, Any]:
    """The exported JSON Schema of a model of the contracts."""
    schema: dict[str, Any] = model.model_json_schema(mode="serialization", ref_template="#/definitions/{model}")
    return {"$schema": DRAFT, **_draft7(schema)}


def render() -> dict[str, str]:
    """File name -> JSON text, for every exported schema."""
    files = {"envelope.json": schema_of(Envelope)}
    files["directory-entry.json"] = schema_of(AgencyEntry)
    files["notice-envelope.json"] = schema_of(NoticeEnvelope)
    files["anchor-envelope.json"] = schema_of(AnchorEnvelope)
    files["caseload-envelope.json"] = schema_of(CaseloadEnvelope)
    for name, model in EVENT_MODELS.items():
        files[f"events/{name.value}.json"] = schema_of(model)
    return {path: json.dumps(doc, indent=2, sort_keys=True) + "\n" for path, doc in files.items()}


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for rel, text in render().items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
