"""Running a use case on a timer for as long as the service runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def stopping() -> bool:
    """True once the current task was asked to stop, even if a library swallowed the
    ``CancelledError`` (``asyncio.wait_for`` can, on Python 3.11, when it races a result)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def every(seconds: float, action: Callable[[], Awaitable[object]], what: str) -> None:
    """Run ``action`` every ``seconds`` until cancelled; a failure is logged, never fatal."""
    while True:
        await asyncio.sleep(seconds)
        if stopping():
            raise asyncio.CancelledError
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("%s failed: %s", what, exc)
