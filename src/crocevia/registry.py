"""The agency registry: one YAML file per agency, ``<agency-id>.yaml``, each an AgencyEntry.

The launcher starts one node per file, the NATS permission generator makes one user per
file, and each node publishes its file (with its keys) to the directory bucket.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from crocevia_contracts.directory import AgencyEntry


class RegistryError(ValueError):
    """An agency file that cannot be used, with the file named in the message."""


def agency_files(directory: Path) -> list[Path]:
    """The agency files of ``directory``, sorted by agency id; raise RegistryError when
    the directory is missing or holds none."""
    if not directory.is_dir():
        raise RegistryError(f"agency directory not found: {directory}")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RegistryError(f"no agency files (*.yaml) in {directory}")
    return files


def load_agency(path: Path) -> AgencyEntry:
    """Parse and validate one agency file; its name must be ``<organization.id>.yaml``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read: {exc}") from None
    try:
        entry = AgencyEntry.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise RegistryError(f"{path}: not a valid agency entry: {where}: {first['msg']}{more}") from None
    if entry.organization.id != path.stem:
        raise RegistryError(
            f"{path}: organization.id is {entry.organization.id!r}, the file must be named {entry.organization.id}.yaml"
        )
    return entry


def load_registry(directory: Path) -> dict[str, AgencyEntry]:
    """Every agency of ``directory`` by id, in id order; raise RegistryError on the first
    file that is not valid."""
    return {path.stem: load_agency(path) for path in agency_files(directory)}
