"""What ``crocevia streams`` does, and ``crocevia up`` before it starts the services: the
network's operator connects to NATS and creates (or strengthens) every stream of the
contracts and the directory bucket. Services never create them on a network with users."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import nats
import nats.errors
from nats.aio.client import Client

from crocevia_common.messaging.connection import NatsLogin, inbox_prefix_for
from crocevia_common.messaging.streams import provision


class OperatorError(RuntimeError):
    """The operator could not connect, or NATS refused a change; the message says why."""


async def connect_as(url: str, login: NatsLogin, wait: float = 30.0) -> Client:
    """A connection to ``url`` as ``login``, retried for ``wait`` seconds while nothing
    answers (a server still starting); a refused password fails at once."""
    deadline = asyncio.get_running_loop().time() + wait

    async def quiet(_error: Exception) -> None:
        """Failures are raised below; nats-py would also log each with a traceback."""

    credentials = {"user": login.user, "password": login.password} if login.password else {}
    while True:
        try:
            return await nats.connect(
                url,
                allow_reconnect=False,
                connect_timeout=2,
                error_cb=quiet,
                inbox_prefix=inbox_prefix_for(url, None, login.user),
                **credentials,
            )
        except (nats.errors.NoServersError, OSError, TimeoutError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise OperatorError(f"no NATS server answers at {_shown(url)} ({exc})") from None
        except nats.errors.Error as exc:
            who = f"user {login.user!r}" if login.user else "no user"
            raise OperatorError(f"NATS at {_shown(url)} refused the connection as {who}: {exc}") from None
        await asyncio.sleep(0.5)


def _shown(url: str) -> str:
    """``url`` without a password it may carry."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


async def create_streams(
    url: str, login: NatsLogin, replicas: int = 1, wait: float = 30.0, agencies: Iterable[str] = ()
) -> list[str]:
    """Connect as ``login`` (the operator) and provision every stream, the directory bucket
    and the attachments bucket of each of ``agencies`` with ``replicas`` copies; one line per
    stream says what was done."""
    connection = await connect_as(url, login, wait)
    try:
        return await provision(connection.jetstream(), replicas, agencies)
    except nats.errors.TimeoutError:
        raise OperatorError(
            f"JetStream at {_shown(url)} did not answer the stream requests of user {login.user!r}: "
            "is it the network's operator (admin)?"
        ) from None
    finally:
        await connection.close()
