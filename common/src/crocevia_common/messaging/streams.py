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
from dataclasses import replace
from functools import partial
from typing import TypeVar

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.errors import APIError, BadRequestError, NotFoundError, ServerError, ServiceUnavailableError
from nats.js.kv import KeyValue

from crocevia_common.messaging.stream_specs import FIX, bucket_stream, describe, stream_config, weaknesses
from crocevia_contracts.stream import (
    CASELOAD,
    DEAD_LETTERS,
    DIRECTORY,
    NETWORK_STREAMS,
    NOTICES,
    REFERRAL_EVENTS,
    REPLAYS,
    BucketSpec,
    StreamSpec,
    attachments_stream,
)

T = TypeVar("T")

# What every service checks at start besides its own streams (the audit adds AUDIT).
SHARED_STREAMS = (REFERRAL_EVENTS, DEAD_LETTERS, NOTICES, CASELOAD, REPLAYS)


class StreamError(RuntimeError):
    """A stream a service cannot rely on: missing, or weaker than the contracts' spec. The
    message names the stream, what is wrong and how to fix it."""


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


async def provision(js: JetStreamContext, replicas: int = 1, agencies: Iterable[str] = ()) -> list[str]:
    """As the network's operator: create every stream of the contracts, the directory bucket
    and the attachments bucket of each of ``agencies``, and strengthen those weaker than their
    spec (a stronger setting is kept).
    Returns one line per stream saying what was done; raises StreamError when the server
    refuses a change (a stream's storage, for one, cannot change in place)."""
    await wait_for_jetstream(js)
    done = []
    plan: list[tuple[StreamSpec, BucketSpec | None]] = [(spec, None) for spec in NETWORK_STREAMS]
    plan.append((bucket_stream(DIRECTORY), DIRECTORY))
    plan += [(attachments_stream(agency), None) for agency in sorted(set(agencies))]
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
