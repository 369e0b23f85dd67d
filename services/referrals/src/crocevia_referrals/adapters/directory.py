"""An agency's own directory entry, read from its YAML (or JSON) file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from crocevia_contracts.directory import AgencyEntry


def load_agency_file(path: Path) -> AgencyEntry:
    """Read an agency's directory entry from YAML or JSON; raise ValueError with the reason."""
    try:
        raw = yaml.safe_load(path.read_text())
        return AgencyEntry.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"cannot load agency file {path}: {exc}") from exc
