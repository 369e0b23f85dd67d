"""Create the JetStream streams and buckets of the contracts when they are missing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
)
from nats.js.kv import KeyValue

from crocevia_contracts.stream import DEAD_LETTERS, DIRECTORY_BUCKET, NOTICES, REFERRAL_EVENTS, StreamSpec

T = TypeVar("T")


def stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        storage=StorageType.FILE if spec.storage == "file" else StorageType.MEMORY,
        duplicate_window=spec.duplicate_window_seconds,
        num_replicas=replicas,
        deny_delete=True,
    )


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


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, replicas: int = 1) -> None:
    """Make one stream of the contracts exist (idempotent, safe to race)."""
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        try:
            await _placed(lambda: js.add_stream(stream_config(spec, replicas)))
        except Exception:
            # Another service created it in between; anything else shows on the next call.
            await js.stream_info(spec.name)


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Make the referral, dead-letter and notice streams exist (idempotent, safe to race)."""
    await wait_for_jetstream(js)
    for spec in (REFERRAL_EVENTS, DEAD_LETTERS, NOTICES):
        await ensure_stream(js, spec, replicas)


async def directory_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The directory key-value bucket, created on first use."""
    try:
        return await js.key_value(DIRECTORY_BUCKET)
    except BucketNotFoundError:
        config = KeyValueConfig(
            bucket=DIRECTORY_BUCKET,
            history=5,
            storage=StorageType.FILE,
            replicas=replicas,
            description="Agencies and their services (HSDS-shaped)",
        )
        try:
            return await _placed(lambda: js.create_key_value(config))
        except Exception:
            return await js.key_value(DIRECTORY_BUCKET)
