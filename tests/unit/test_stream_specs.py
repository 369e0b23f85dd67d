"""What makes a stream weaker than the contracts' spec, and what each service says about it."""

from __future__ import annotations

import dataclasses

import pytest

from crocevia_common.messaging.stream_specs import bucket_stream, describe, stream_config, weaknesses
from crocevia_contracts.stream import (
    AUDIT_ANNOUNCEMENTS,
    DEAD_LETTERS,
    DIRECTORY,
    NETWORK_STREAMS,
    NOTICES,
    REFERRAL_EVENTS,
    REPLAYS,
)


def weaker(**changes: object) -> list[str]:
    config = dataclasses.replace(stream_config(REFERRAL_EVENTS), **changes)
    return [w.text for w in weaknesses(REFERRAL_EVENTS, config)]


@pytest.mark.parametrize("spec", [*NETWORK_STREAMS, bucket_stream(DIRECTORY)], ids=lambda s: s.name)
def test_a_stream_created_from_its_spec_is_not_weaker(spec) -> None:
    assert weaknesses(spec, stream_config(spec, replicas=3), replicas=3) == []


def test_the_sources_of_the_trail_can_be_neither_purged_nor_have_messages_deleted() -> None:
    for spec in (REFERRAL_EVENTS, NOTICES, AUDIT_ANNOUNCEMENTS):
        assert spec.deny_purge and spec.deny_delete, spec.name
    # Dead letters and replays are the operator's to empty once handled, never one by one.
    for spec in (DEAD_LETTERS, REPLAYS):
        assert spec.deny_delete and not spec.deny_purge, spec.name
        assert (spec.max_age_seconds, spec.max_msgs, spec.max_bytes) == (0, -1, -1), spec.name


def test_a_stream_that_keeps_messages_five_seconds_is_named_with_what_is_weaker() -> None:
    config = dataclasses.replace(stream_config(REFERRAL_EVENTS), max_age=5)

    assert describe("REFERRALS", weaknesses(REFERRAL_EVENTS, config)) == (
        "stream REFERRALS keeps messages only 5 s (max_age); the network's spec keeps them forever: "
        "fix it with `crocevia streams` as the network's operator"
    )


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"subjects": ["referral.v1.cpia2.>"]}, "takes the subjects ['referral.v1.cpia2.>'] (subjects)"),
        ({"retention": "workqueue"}, "removes messages once consumed (workqueue retention)"),
        ({"max_msgs": 100}, "keeps at most 100 messages (max_msgs)"),
        ({"max_bytes": 1}, "keeps at most 1 byte (max_bytes)"),
        ({"max_msgs_per_subject": 1}, "keeps at most 1 message per subject (max_msgs_per_subject)"),
        ({"max_msg_size": 512}, "refuses messages over 512 bytes (max_msg_size)"),
        ({"discard": "new"}, "discards new messages at its limits (discard)"),
        ({"storage": "memory"}, "keeps messages in memory storage (storage)"),
        (
            {"duplicate_window": 120},
            "detects duplicates over 2 min only (duplicate_window); the network's spec over 24 h",
        ),
        ({"deny_delete": False}, "lets messages be deleted (deny_delete is off)"),
        ({"deny_purge": False}, "can be purged (deny_purge is off)"),
        ({"allow_rollup_hdrs": True}, "lets a publisher purge earlier messages with a Nats-Rollup header"),
        ({"allow_msg_ttl": True}, "lets a publisher make its messages expire with a Nats-TTL header"),
    ],
)
def test_each_weaker_setting_is_named(changes: dict[str, object], said: str) -> None:
    (text,) = weaker(**changes)

    assert text.startswith(said)


def test_a_stronger_setting_than_the_spec_is_not_weaker() -> None:
    assert weaker(duplicate_window=7 * 24 * 3600, num_replicas=3) == []
    history = bucket_stream(DIRECTORY)
    assert weaknesses(history, dataclasses.replace(stream_config(history), max_msgs_per_subject=10)) == []


def test_fewer_replicas_than_the_network_asks_for_is_weaker() -> None:
    (weakness,) = weaknesses(REFERRAL_EVENTS, stream_config(REFERRAL_EVENTS, replicas=1), replicas=3)

    assert weakness.text == "has 1 replica(s) (num_replicas); this network asks for 3 (CROCEVIA_STREAM_REPLICAS)"
    assert (weakness.setting, weakness.wanted) == ("num_replicas", 3)


def test_a_directory_keeping_one_version_per_key_is_weaker() -> None:
    history = bucket_stream(DIRECTORY)
    config = dataclasses.replace(stream_config(history), max_msgs_per_subject=1)

    assert [w.text for w in weaknesses(history, config)] == [
        "keeps at most 1 message per subject (max_msgs_per_subject); the network's spec keeps at least 5"
    ]
