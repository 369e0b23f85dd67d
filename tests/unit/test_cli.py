"""``crocevia token``: a development JWT the services accept."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest

from crocevia.cli import main
from crocevia_common.auth import Role, TokenVerifier
from crocevia_common.settings import ServiceSettings


def issue(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["token", *args]) == 0
    return capsys.readouterr().out.strip()


def test_token_carries_sub_agency_and_roles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "dev-jwt.key"
    token = issue(
        capsys,
        "--agency",
        "cpia2",
        "--role",
        "operator",
        "--role",
        "supervisor",
        "--sub",
        "maria.rossi",
        "--key-file",
        str(key_file),
    )

    claims = jwt.decode(token, key_file.read_text().strip(), algorithms=["HS256"], audience="crocevia")
    assert claims["sub"] == "maria.rossi"
    assert claims["agency"] == "cpia2"
    assert claims["roles"] == ["operator", "supervisor"]
    assert claims["exp"] - claims["iat"] == 12 * 3600


def test_token_is_accepted_by_the_services(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "dev-jwt.key"
    token = issue(
        capsys, "--agency", "pioltello-casa", "--role", "auditor", "--key-file", str(key_file), "--ttl-hours", "1"
    )

    principal = TokenVerifier(ServiceSettings(auth_dev_key_file=key_file)).verify(token)
    assert principal.sub == "auditor-pioltello-casa"
    assert principal.agency == "pioltello-casa"
    assert {role.value for role in principal.roles} == {"auditor"}


def test_a_network_auditor_token_is_for_the_steering_committee(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "dev-jwt.key"
    token = issue(capsys, "--agency", "steering-committee", "--role", "network-auditor", "--key-file", str(key_file))

    principal = TokenVerifier(ServiceSettings(auth_dev_key_file=key_file)).verify(token)
    assert (principal.sub, principal.agency) == ("network-auditor-steering-committee", "steering-committee")
    assert principal.roles == {Role.NETWORK_AUDITOR}


def test_token_key_file_defaults_to_the_services_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "keys" / "shared.key"
    monkeypatch.setenv("CROCEVIA_AUTH_DEV_KEY_FILE", str(key_file))
    token = issue(capsys, "--agency", "cpia2", "--role", "admin")

    assert jwt.decode(token, key_file.read_text().strip(), algorithms=["HS256"], audience="crocevia")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agency", "cpia2", "--role", "mayor"], "invalid choice: 'mayor'"),
        (["--agency", "CPIA 2", "--role", "operator"], "not a valid agency id"),
        (["--agency", "cpia2"], "--role"),
        (["--agency", "cpia2", "--role", "operator", "--ttl-hours", "0"], "--ttl-hours must be positive"),
    ],
)
def test_bad_token_requests_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    key_file = tmp_path / "dev-jwt.key"
    with pytest.raises(SystemExit) as exit_:
        main(["token", *args, "--key-file", str(key_file)])

    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not key_file.exists()


def test_the_operator_key_is_made_once_readable_by_its_owner_only_and_printed(tmp_path, capsys):
    from crocevia.cli import main

    key_file = tmp_path / "secrets" / "operator.key"
    assert main(["keys", "operator", "--operator-key", str(key_file)]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["keys", "operator", "--operator-key", str(key_file)]) == 0
    assert capsys.readouterr().out.strip() == first
    assert len(base64.b64decode(first)) == 32
    assert key_file.stat().st_mode & 0o777 == 0o600
