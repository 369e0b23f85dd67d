"""Response targets of every service, read from the directory key-value bucket.

The audit only reads the directory, on demand, when it computes indicators; it never
writes an entry.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NoKeysError
from pydantic import ValidationError

from crocevia_audit.domain.indicators import Target, TargetKey
from crocevia_contracts.directory import read_entry
from crocevia_contracts.stream import DIRECTORY_BUCKET

log = logging.getLogger(__name__)


async def response_targets(js: JetStreamContext) -> dict[TargetKey, Target]:
    """(agency, service, priority) -> the service's response target, for every entry."""
    try:
        kv = await js.key_value(DIRECTORY_BUCKET)
        keys = await kv.keys()
    except (BucketNotFoundError, NoKeysError):
        return {}
    targets: dict[TargetKey, Target] = {}
    for key in keys:
        try:
            found = await kv.get(key)
            entry = read_entry(found.value or b"null")
        except (ValueError, ValidationError, KeyError) as exc:
            log.warning("directory entry %s ignored: %s", key, exc)
            continue
        for service in entry.services:
            for priority, target in service.response_targets.items():
                targets[(entry.organization.id, service.id, priority.value)] = Target(target, entry.working_calendar)
    return targets
