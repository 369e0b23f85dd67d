"""Export the JSON Schemas of the contracts to ``contracts/schemas/``.

Run ``uv run python -m crocevia_contracts.schemas`` after changing a model; a test fails
while the files on disk differ from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from crocevia_contracts.directory import AgencyEntry
from crocevia_contracts.envelope import Envelope
from crocevia_contracts.events import EVENT_MODELS
from crocevia_contracts.notices import NoticeEnvelope

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
BASE_ID = "https://schemas.crocevia.invalid/v1/"


def _schema(model: Any, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + name, **schema}


def render() -> dict[str, str]:
    """File name -> JSON text, for every exported schema."""
    files = {"envelope.json": _schema(Envelope, "envelope.json")}
    files["directory-entry.json"] = _schema(AgencyEntry, "directory-entry.json")
    files["notice-envelope.json"] = _schema(NoticeEnvelope, "notice-envelope.json")
    for name, model in EVENT_MODELS.items():
        files[f"events/{name.value}.json"] = _schema(model, f"events/{name.value}.json")
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
