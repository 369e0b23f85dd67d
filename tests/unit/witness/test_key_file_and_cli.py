"""The witness's key lives in a file of its own, made 0600 on first use and the same key
ever after; `crocevia-witness key` prints its verifier key, and refuses settings it cannot
use with a message and exit status 2."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from crocevia_common.key_files import SigningKeyError, load_or_create_key_file, read_key_file
from crocevia_common.tlog.cosignature import parse_cosigner_key
from crocevia_witness.entrypoints.cli import main
from tests.kit.trail_log import TrailLog


def test_the_key_file_is_made_0600_once_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "witness.key"
    made = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert bytes(load_or_create_key_file(path)) == bytes(made)


def test_a_key_file_that_holds_no_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    path.write_text("c2VjcmV0LWJ1dC1zaG9ydA==\n")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError) as refused:
        read_key_file(path)
    assert str(path) in str(refused.value) and "c2Vj" not in str(refused.value)


def test_the_key_command_prints_the_verifier_key_of_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CROCEVIA_WITNESS_NAME", "prefettura.test/witness")
    monkeypatch.setenv("CROCEVIA_WITNESS_KEY_FILE", str(tmp_path / "witness.key"))
    monkeypatch.setenv("CROCEVIA_WITNESS_LOGS", json.dumps([{"keys": [TrailLog().vkey]}]))
    assert main(["key"]) == 0
    key = parse_cosigner_key(capsys.readouterr().out)
    assert key.name == "prefettura.test/witness"
    assert key.public_key == bytes(load_or_create_key_file(tmp_path / "witness.key").verify_key)


def test_the_key_command_refuses_settings_it_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CROCEVIA_WITNESS_KEY_FILE", str(tmp_path / "witness.key"))
    monkeypatch.setenv("CROCEVIA_WITNESS_LOGS", '[{"keys": ["not a key"]}]')
    assert main(["key"]) == 2
    assert "not a log verifier key" in capsys.readouterr().err
    assert not (tmp_path / "witness.key").exists()
