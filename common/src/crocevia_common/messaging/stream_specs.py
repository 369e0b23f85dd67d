"""How a stream's configuration compares with its spec in the contracts: what makes it
weaker, in words an operator can act on. Pure: no NATS connection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from crocevia_contracts.stream import BucketSpec, StreamSpec

FIX = "fix it with `crocevia streams` as the network's operator"


@dataclass(frozen=True, slots=True)
class Weakness:
    """One way a stream falls short of its spec: the ``StreamConfig`` field, the value that
    would mend it, and a sentence about it (after "stream <NAME> ")."""

    setting: str
    wanted: Any
    text: str


def stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    """The configuration that creates ``spec`` with ``replicas`` copies of each message."""
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy(spec.retention),
        max_age=spec.max_age_seconds,
        max_msgs=spec.max_msgs,
        max_bytes=spec.max_bytes,
        max_msg_size=spec.max_msg_size,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        discard=DiscardPolicy(spec.discard),
        storage=StorageType(spec.storage),
        duplicate_window=spec.duplicate_window_seconds,
        num_replicas=replicas,
        deny_delete=spec.deny_delete,
        deny_purge=spec.deny_purge,
        allow_rollup_hdrs=spec.allow_rollup,
        allow_msg_ttl=spec.allow_msg_ttl or None,
    )


def bucket_stream(spec: BucketSpec) -> StreamSpec:
    """The stream behind key-value bucket ``spec``, as nats-py creates it: ``history``
    values per key, the oldest dropped, rollups (a key's purge) allowed."""
    return StreamSpec(
        name=f"KV_{spec.bucket}",
        subjects=(f"$KV.{spec.bucket}.>",),
        storage=spec.storage,
        duplicate_window_seconds=120,
        description=spec.description,
        max_msgs_per_subject=spec.history,
        discard="new",
        allow_rollup=True,
        allow_msg_ttl=True,
    )


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _plural(unit: str, count: int) -> str:
    word, _, rest = unit.partition(" ")
    return " ".join(filter(None, [word if count == 1 else word + "s", rest]))


def _limited(value: float | None) -> bool:
    return value is not None and value > 0


def _keeps_less(have: float | None, want: float) -> bool:
    """Whether limit ``have`` keeps less than ``want`` (0 or -1: no limit)."""
    if not _limited(have):
        return False
    assert have is not None
    return not _limited(want) or have < want


SPEC = "the network's spec"


def _limit_weaknesses(spec: StreamSpec, config: StreamConfig) -> list[Weakness]:
    found = []
    if _keeps_less(config.max_age, spec.max_age_seconds):
        keeps = _duration(spec.max_age_seconds) if _limited(spec.max_age_seconds) else "forever"
        have = _duration(config.max_age or 0)
        found.append(
            Weakness(
                "max_age", spec.max_age_seconds, f"keeps messages only {have} (max_age); {SPEC} keeps them {keeps}"
            )
        )
    counts = (
        ("max_msgs", spec.max_msgs, "message", "every message"),
        ("max_bytes", spec.max_bytes, "byte", "messages of any total size"),
        ("max_msgs_per_subject", spec.max_msgs_per_subject, "message per subject", "every message of a subject"),
    )
    for setting, want, unit, everything in counts:
        have = getattr(config, setting)
        if _keeps_less(have, want):
            keeps = f"at least {want}" if _limited(want) else everything
            text = f"keeps at most {have} {_plural(unit, have)} ({setting}); {SPEC} keeps {keeps}"
            found.append(Weakness(setting, want, text))
    if _keeps_less(config.max_msg_size, spec.max_msg_size):
        takes = f"up to {spec.max_msg_size} bytes" if _limited(spec.max_msg_size) else "messages of any size"
        text = f"refuses messages over {config.max_msg_size} bytes (max_msg_size); {SPEC} takes {takes}"
        found.append(Weakness("max_msg_size", spec.max_msg_size, text))
    return found


def weaknesses(spec: StreamSpec, config: StreamConfig, replicas: int = 1) -> list[Weakness]:
    """How the stream configured as ``config`` is weaker than ``spec`` (empty: it is not).
    A stricter limit than the spec's, or fewer than ``replicas`` copies, is weaker; a
    longer duplicate window or more replicas is not."""
    found = []

    def weak(setting: str, wanted: Any, text: str) -> None:
        found.append(Weakness(setting, wanted, text))

    subjects = sorted(config.subjects or [])
    if subjects != sorted(spec.subjects):
        weak(
            "subjects",
            list(spec.subjects),
            f"takes the subjects {subjects} (subjects); {SPEC} takes {list(spec.subjects)}",
        )
    retention = _text(config.retention or "limits")
    if retention != spec.retention:
        text = f"removes messages once consumed ({retention} retention); {SPEC} keeps them ({spec.retention} retention)"
        weak("retention", RetentionPolicy(spec.retention), text)
    found += _limit_weaknesses(spec, config)
    discard = _text(config.discard or "old")
    if discard != spec.discard:
        text = f"discards {discard} messages at its limits (discard); {SPEC} discards {spec.discard} ones"
        weak("discard", DiscardPolicy(spec.discard), text)
    storage = _text(config.storage)
    if storage != spec.storage:
        text = f"keeps messages in {storage} storage (storage); {SPEC} keeps them in {spec.storage} storage"
        weak("storage", StorageType(spec.storage), text)
    window = config.duplicate_window or 0
    if window < spec.duplicate_window_seconds:
        text = (
            f"detects duplicates over {_duration(window)} only (duplicate_window); "
            f"{SPEC} over {_duration(spec.duplicate_window_seconds)}"
        )
        weak("duplicate_window", spec.duplicate_window_seconds, text)
    if spec.deny_delete and not config.deny_delete:
        weak("deny_delete", True, f"lets messages be deleted (deny_delete is off); {SPEC} denies it")
    if spec.deny_purge and not config.deny_purge:
        weak("deny_purge", True, f"can be purged (deny_purge is off); {SPEC} denies it")
    if config.allow_rollup_hdrs and not spec.allow_rollup:
        text = f"lets a publisher purge earlier messages with a Nats-Rollup header (allow_rollup_hdrs); {SPEC} does not"
        weak("allow_rollup_hdrs", False, text)
    if config.allow_msg_ttl and not spec.allow_msg_ttl:
        text = f"lets a publisher make its messages expire with a Nats-TTL header (allow_msg_ttl); {SPEC} does not"
        weak("allow_msg_ttl", False, text)
    copies = config.num_replicas or 1
    if copies < replicas:
        text = f"has {copies} replica(s) (num_replicas); this network asks for {replicas} (CROCEVIA_STREAM_REPLICAS)"
        weak("num_replicas", replicas, text)
    return found


def describe(name: str, found: Iterable[Weakness]) -> str:
    """``stream <name> <what is weaker>; and it <...>: <how to fix it>``."""
    return f"stream {name} " + "; and it ".join(w.text for w in found) + f": {FIX}"
