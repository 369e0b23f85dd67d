"""``crocevia witness-config``: the audit and its witnesses told about each other through
two files of public keys, read by their ``*_FILE`` settings (as docker compose runs them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crocevia.cli import main
from crocevia_audit.settings import AuditSettings
from crocevia_common.key_files import read_key_file
from crocevia_common.tlog.note import verifier_key
from crocevia_witness.settings import WitnessSettings

ORIGIN = "crocevia.test/trail"
FILES = ["--witnesses-file", "w.json", "--logs-file", "l.json"]


def witness_args(tmp_path: Path) -> list[str]:
    return [
        "--witness",
        f"prefettura.test/witness=http://witness-prefettura:8000={tmp_path / 'prefettura' / 'witness.key'}",
        "--witness",
        f"partner.test/witness=http://witness-partner:8000={tmp_path / 'partner' / 'witness.key'}",
    ]


def test_both_files_name_the_keys_the_key_files_hold_and_the_settings_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROCEVIA_AUDIT_SIGNING_KEY", raising=False)
    log_key_file, out = tmp_path / "audit" / "checkpoint-signing.key", tmp_path / "config"
    arguments = ["witness-config", "--origin", ORIGIN, "--log-key-file", str(log_key_file)]
    arguments += ["--witnesses-file", str(out / "witnesses.json"), "--logs-file", str(out / "logs.json")]

    assert main([*arguments, *witness_args(tmp_path)]) == 0
    first = (out / "witnesses.json").read_text()
    assert main([*arguments, *witness_args(tmp_path)]) == 0  # the keys are kept, not made again

    monkeypatch.setenv("CROCEVIA_WITNESSES_FILE", str(out / "witnesses.json"))
    monkeypatch.setenv("CROCEVIA_WITNESS_LOGS_FILE", str(out / "logs.json"))
    audit, witness = AuditSettings(origin=ORIGIN), WitnessSettings()
    log_key = read_key_file(log_key_file)
    assert log_key is not None and (out / "witnesses.json").read_text() == first
    assert [(w.url, w.cosigner.name) for w in audit.witnesses] == [
        ("http://witness-prefettura:8000", "prefettura.test/witness"),
        ("http://witness-partner:8000", "partner.test/witness"),
    ]
    assert audit.witness_policy().quorum == 2
    assert witness.logs[0].keys == [verifier_key(ORIGIN, bytes(log_key.verify_key))]
    for private in ("audit/checkpoint-signing.key", "prefettura/witness.key"):
        assert (tmp_path / private).read_text().strip() not in first + (out / "logs.json").read_text()


def test_a_witnesses_file_that_is_not_json_is_refused_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "witnesses.json"
    broken.write_text("[{")
    with pytest.raises(ValueError, match="witnesses_file"):
        AuditSettings(witnesses_file=broken)


def test_a_malformed_witness_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["witness-config", "--origin", ORIGIN, "--log-key-file", "k", "--witness", "no-url", *FILES])
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("witnesses", "quorum", "says"),
    [
        ([{"url": "http://w:8000", "key": "not-a-key"}], None, "not a witness key"),
        ([{"url": "ftp://w", "key": "w+00000000+AA=="}], None, "url"),
        ([], 1, "cannot be met"),
    ],
)
def test_a_witness_setting_that_cannot_work_stops_the_audit_at_start(
    witnesses: list[dict[str, str]], quorum: int | None, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        AuditSettings(witnesses=witnesses, witness_quorum=quorum)
