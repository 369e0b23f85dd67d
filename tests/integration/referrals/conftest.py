from pathlib import Path

import pytest
import yaml

# The audit, where a node's access log is anchored.
from tests.integration.audit.conftest import audit_factory, audit_settings  # noqa: F401
from tests.integration.conftest import referral_body

__all__ = ["referral_body", "staff_dir"]
CASA, CPIA = "pioltello-casa", "cpia2"


@pytest.fixture
def staff_dir(tmp_path: Path) -> Path:
    """Staff files of both agencies: cpia2's has a supervisor and two operators."""
    directory = tmp_path / "staff"
    directory.mkdir()
    people = {
        CPIA: [("supervisor-cpia2", "supervisor"), ("operator-cpia2", "operator"), ("ahmed.saleh", "operator")],
        CASA: [("supervisor-pioltello-casa", "supervisor"), ("operator-pioltello-casa", "operator")],
    }
    for agency, members in people.items():
        staff = [{"sub": sub, "name": sub.title(), "roles": [role]} for sub, role in members]
        (directory / f"{agency}.yaml").write_text(yaml.safe_dump({"agency": agency, "staff": staff}))
    return directory
