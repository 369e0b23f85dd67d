"""The NATS users' passwords: one private file each, made once and kept; a .env for compose."""

from __future__ import annotations

from pathlib import Path
from stat import S_IMODE

from crocevia.cli import main
from crocevia.nats_secrets import ensure_env_file, ensure_passwords, server_environment


def mode(path: Path) -> int:
    return S_IMODE(path.stat().st_mode)


def test_each_user_gets_a_private_password_file_made_once(tmp_path: Path) -> None:
    directory = tmp_path / "secrets" / "nats"

    first = ensure_passwords(directory, ["cpia2", "admin"])
    again = ensure_passwords(directory, ["cpia2", "admin", "audit"])

    assert again["cpia2"] == first["cpia2"] and again["admin"] == first["admin"]
    assert len({*again.values()}) == 3 and all(p.isalnum() and p[0].isalpha() for p in again.values())
    assert {p.name: mode(p) for p in directory.iterdir()} == {"cpia2": 0o600, "admin": 0o600, "audit": 0o600}
    assert mode(directory) == mode(directory.parent) == 0o700


def test_a_password_file_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    directory = tmp_path / "nats"
    ensure_passwords(directory, ["cpia2"])
    (directory / "cpia2").chmod(0o644)
    directory.chmod(0o755)

    ensure_passwords(directory, ["cpia2"])

    assert (mode(directory / "cpia2"), mode(directory)) == (0o600, 0o700)


def test_nats_server_reads_each_password_from_its_variable() -> None:
    assert server_environment({"pioltello-casa": "p1", "admin": "p2"}) == {
        "CROCEVIA_NATS_PASSWORD_PIOLTELLO_CASA": "p1",
        "CROCEVIA_NATS_PASSWORD_ADMIN": "p2",
    }


def test_the_env_file_gains_the_missing_passwords_and_keeps_the_others(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# compose\nCROCEVIA_NATS_PASSWORD_CPIA2=chosen\nOTHER=1\n")

    added = ensure_env_file(env, ["cpia2", "admin"])

    lines = env.read_text().splitlines()
    assert added == ["CROCEVIA_NATS_PASSWORD_ADMIN"]
    assert lines[:3] == ["# compose", "CROCEVIA_NATS_PASSWORD_CPIA2=chosen", "OTHER=1"]
    assert lines[3].startswith("CROCEVIA_NATS_PASSWORD_ADMIN=") and len(lines[3]) > 40
    assert mode(env) == 0o600
    assert ensure_env_file(env, ["cpia2", "admin"]) == [] and env.read_text().splitlines() == lines


def test_the_command_writes_a_password_for_every_user_of_the_registry(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    agencies = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "agencies"

    assert main(["nats-passwords", "--agencies-dir", str(agencies), "--env-file", str(env)]) == 0

    variables = {line.split("=")[0] for line in env.read_text().splitlines()}
    assert len(variables) == len(list(agencies.glob("*.yaml"))) + 4  # notifications, audit, admin, system
    assert {"CROCEVIA_NATS_PASSWORD_CPIA2", "CROCEVIA_NATS_PASSWORD_SYSTEM"} <= variables
