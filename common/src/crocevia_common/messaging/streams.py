"""Create the JetStream streams and buckets of the contracts when they are missing."""

from __future__ import annotations

import asyncio

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError, ServerError, ServiceUnavailableError
from nats.js.kv import KeyValue

from crocevia_contracts.stream import DEAD_LETTERS, DIRECTORY_BUCKET, NOTICES, REFERRAL_EVENTS, StreamSpec


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


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Make the referral, dead-letter and notice streams exist (idempotent, safe to race)."""
    await wait_for_jetstream(js)
    for spec in (REFERRAL_EVENTS, DEAD_LETTERS, NOTICES):
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(stream_config(spec, replicas))
            except Exception:
                # Another service created it in between; anything else shows on the next call.
                await js.stream_info(spec.name)


async def directory_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The directory key-value bucket, created on first use."""
    try:
        return await js.key_value(DIRECTORY_BUCKET)
    except BucketNotFoundError:
        try:
            return await js.create_key_value(
                KeyValueConfig(
                    bucket=DIRECTORY_BUCKET,
                    history=5,
                    storage=StorageType.FILE,
                    replicas=replicas,
                    description="Agencies and their services (HSDS-shaped)",
                )
            )
        except Exception:
            return await js.key_value(DIRECTORY_BUCKET)
