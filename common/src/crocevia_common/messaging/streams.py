"""The JetStream streams and the directory bucket of the contracts.

The network's operator creates them and strengthens them (``provision``, run by
``crocevia streams`` and ``crocevia up``). Every service checks, before it starts, that the
streams it uses are no weaker than the contracts' specs (``ensure_stream``): a stream that
keeps messages for less time, can be purged or lost, or deduplicates over a shorter window
stops the service with a message naming the stream and what is weaker. A service creates a
missing stream only on a server without users (tests, a bare ``nats-server``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, BadRequestError, NotFoundError, ServerError, ServiceUnavailableError
from nats.js.kv import KeyValue

from crocevia_contracts.stream import (
    DEAD_LETTERS,
    DIRECTORY,
    NETWORK_STREAMS,
    NOTICES,
    REFERRAL_EVENTS,
    BucketSpec,
    StreamSpec,
)

T = TypeVar("T")

# What every service checks at start besides its own streams (the audit adds AUDIT).
SHARED_STREAMS = (REFERRAL_EVENTS, DEAD_LETTERS, NOTICES)
FIX = "fix it with `crocevia streams` as the network's operator"


class StreamError(RuntimeError):
    """A stream a service cannot rely on: missing, or weaker than the contracts' spec. The
    message names the stream, what is wrong and how to fix it."""


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


async def wait_for_jetstream(js: JetStreamContext, timeout: float = 60.0) -> None:
    """Wait until JetStream answers (a new cluster first elects its meta leader)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await js.account_info()
            return
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError, ServerError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


# "No suitable peers for placement": a new cluster has a meta leader before every server
# has joined it, so a replicated stream cannot be placed yet. Worth waiting for.
PLACEMENT_PENDING = 10005


async def _placed(create: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run ``create`` until the cluster can place what it creates (or ``timeout`` passes)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await create()
        except BadRequestError as exc:
            if exc.err_code != PLACEMENT_PENDING or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _config(js: JetStreamContext, name: str) -> StreamConfig | None:
    try:
        return (await js.stream_info(name)).config
    except NotFoundError:
        return None
    except nats.errors.TimeoutError:
        # nats-server drops a request its user may not send: the requester only times out.
        raise StreamError(
            f"stream {name}: no answer when asked for its configuration (may this NATS user read it?)"
        ) from None


async def _create(js: JetStreamContext, spec: StreamSpec, replicas: int, bucket: BucketSpec | None) -> None:
    if bucket is None:
        await _placed(lambda: js.add_stream(stream_config(spec, replicas)))
        return
    config = KeyValueConfig(
        bucket=bucket.bucket,
        history=bucket.history,
        storage=StorageType(bucket.storage),
        replicas=replicas,
        description=bucket.description,
    )
    await _placed(lambda: js.create_key_value(config))


async def ensure_stream(
    js: JetStreamContext,
    spec: StreamSpec,
    replicas: int = 1,
    *,
    create_missing: bool = True,
    bucket: BucketSpec | None = None,
) -> None:
    """Make sure stream ``spec`` exists and is no weaker than the spec, or raise
    StreamError saying what is wrong. A missing stream is created only when
    ``create_missing`` (a server without users); ``bucket`` when the stream holds a
    key-value bucket."""
    config = await _config(js, spec.name)
    if config is None:
        if not create_missing:
            raise StreamError(
                f"stream {spec.name} does not exist, and services connected as a NATS user may not "
                "create streams: create it with `crocevia streams` as the network's operator"
            )
        try:
            await _create(js, spec, replicas, bucket)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise StreamError(
                f"stream {spec.name} does not exist and creating it got no answer ({exc!r}): "
                "create it with `crocevia streams` as the network's operator"
            ) from None
        except BadRequestError:
            pass  # another service created it in between, perhaps otherwise: checked below
        config = await _config(js, spec.name)
        if config is None:
            raise StreamError(f"stream {spec.name} could not be created: {FIX}")
    found = weaknesses(spec, config, replicas)
    if found:
        raise StreamError(describe(spec.name, found))


async def ensure_streams(
    js: JetStreamContext,
    replicas: int = 1,
    *,
    specs: Iterable[StreamSpec] = SHARED_STREAMS,
    create_missing: bool = True,
) -> None:
    """``ensure_stream`` for each of ``specs`` (by default the referral, dead-letter and
    notice streams), once JetStream answers."""
    await wait_for_jetstream(js)
    for spec in specs:
        await ensure_stream(js, spec, replicas, create_missing=create_missing)


async def directory_bucket(js: JetStreamContext, replicas: int = 1, *, create_missing: bool = True) -> KeyValue:
    """The directory key-value bucket, once its stream is checked like any other."""
    await ensure_stream(js, bucket_stream(DIRECTORY), replicas, create_missing=create_missing, bucket=DIRECTORY)
    return await js.key_value(DIRECTORY.bucket)


async def provision(js: JetStreamContext, replicas: int = 1) -> list[str]:
    """As the network's operator: create every stream of the contracts and the directory
    bucket, and strengthen those weaker than their spec (a stronger setting is kept).
    Returns one line per stream saying what was done; raises StreamError when the server
    refuses a change (a stream's storage, for one, cannot change in place)."""
    await wait_for_jetstream(js)
    done = []
    plan: list[tuple[StreamSpec, BucketSpec | None]] = [(spec, None) for spec in NETWORK_STREAMS]
    plan.append((bucket_stream(DIRECTORY), DIRECTORY))
    for spec, bucket in plan:
        config = await _config(js, spec.name)
        if config is None:
            await _create(js, spec, replicas, bucket)
            done.append(f"{spec.name}: created")
            continue
        found = weaknesses(spec, config, replicas)
        if not found:
            done.append(f"{spec.name}: as specified")
            continue
        mended = replace(config, **{w.setting: w.wanted for w in found})
        try:
            await _placed(partial(js.update_stream, mended))
        except APIError as exc:
            raise StreamError(
                f"stream {spec.name}: the server refused to mend {', '.join(w.setting for w in found)} "
                f"({exc.description}); back its messages up, delete it and run `crocevia streams` again"
            ) from None
        done.append(f"{spec.name}: mended ({', '.join(w.setting for w in found)})")
    return done
