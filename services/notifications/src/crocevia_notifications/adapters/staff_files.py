"""Staff directory files: one YAML file per agency, ``{agency: <id>, staff: [...]}``."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import ValidationError

from crocevia_notifications.domain.staff import StaffFile

log = logging.getLogger(__name__)


def load_staff_file(path: Path) -> StaffFile:
    """Read one staff file; raise ValueError with the reason."""
    try:
        return StaffFile.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"cannot load staff file {path}: {exc}") from exc


def load_staff_dir(directory: Path) -> list[StaffFile]:
    """Every staff file in ``directory``; invalid ones are logged and skipped."""
    if not directory.is_dir():
        log.warning("no staff directory at %s", directory)
        return []
    files = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        try:
            files.append(load_staff_file(path))
        except ValueError as exc:
            log.warning("%s", exc)
    return files
