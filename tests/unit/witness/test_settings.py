"""The witness's settings: the logs it witnesses, as JSON in CROCEVIA_WITNESS_LOGS, checked
when it starts (a key that is not a log key, an initial tree head half given, a log twice)."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from crocevia_witness.domain.witnessing import TreeHead
from crocevia_witness.settings import LogSetting, WitnessSettings
from tests.kit.trail_log import TrailLog

LOG = TrailLog().grow(4)


def test_the_logs_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROCEVIA_WITNESS_NAME", "prefettura.test/witness")
    monkeypatch.setenv("CROCEVIA_WITNESS_LOGS", json.dumps([{"keys": [LOG.vkey]}]))
    settings = WitnessSettings()
    (log,) = settings.witnessed_logs().values()
    assert settings.name == "prefettura.test/witness"
    assert (log.origin, [str(key) for key in log.keys], log.initial) == (LOG.origin, [LOG.vkey], None)


def test_a_log_may_start_from_a_tree_head_checked_out_of_band() -> None:
    root = base64.b64encode(LOG.root()).decode()
    log = LogSetting(keys=[LOG.vkey], origin="crocevia.test/renamed", initial_size=4, initial_root=root).witnessed()
    assert (log.origin, log.initial) == ("crocevia.test/renamed", TreeHead(4, LOG.root()))


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ({"keys": []}, "at least 1 item"),
        ({"keys": ["crocevia.test/trail+00000000+AQ=="]}, "not a log verifier key"),
        ({"keys": [LOG.vkey], "initial_size": 3}, "go together"),
        ({"keys": [LOG.vkey], "initial_size": 3, "initial_root": "AAAA"}, "32-byte root hash"),
        ({"keys": [LOG.vkey], "origin": "two\nlines"}, "should match pattern"),
        ({"keys": [LOG.vkey], "shard": 2}, "Extra inputs"),
    ],
    ids=["no key", "bad key", "size without root", "short root", "control character", "unknown field"],
)
def test_a_malformed_log_setting_is_refused_at_start(setting: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        LogSetting.model_validate(setting)


def test_a_log_listed_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="listed once"):
        WitnessSettings(logs=[LogSetting(keys=[LOG.vkey]), LogSetting(keys=[LOG.vkey])])


def test_a_witness_name_with_a_space_is_refused() -> None:
    with pytest.raises(ValidationError):
        WitnessSettings(name="prefettura witness")
