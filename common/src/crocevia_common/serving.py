"""How every service is served: uvicorn on uvloop's event loop, with httptools' HTTP parser.

Both do in C what asyncio's default loop and h11 do in Python: the event loop's turns, its
sockets' reads and writes, and parsing each request. ``bench/results/serving.txt`` has what
that saved, per request and per event, against the defaults. Every launcher names them
rather than leaving uvicorn to pick whatever is installed."""

from __future__ import annotations

LOOP = "uvloop"
HTTP = "httptools"


def uvicorn_options() -> list[str]:
    """The command-line options of ``uvicorn`` that choose them."""
    return ["--loop", LOOP, "--http", HTTP]
