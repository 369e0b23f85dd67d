"""Run the benchmarks: ``python -m bench`` runs all, ``python -m bench NAME [ARGS]`` one.

Each benchmark is a module of this folder with a ``main(argv)`` and writes its results to
``bench/results/<name>.txt``. Benchmarks are run on demand, never by the test suite.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

import uvloop

HERE = Path(__file__).parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def main() -> None:
    # The services' event loop (crocevia_common.serving), for the benchmarks' own clients and
    # raw references too.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    args = sys.argv[1:]
    chosen = [args[0]] if args else names()
    for name in chosen:
        if name not in names():
            sys.exit(f"no benchmark {name!r}; there are: {', '.join(names())}")
        print(f"== {name}")
        module = importlib.import_module(f"bench.{name}")
        module.main(args[1:] if args else [])


if __name__ == "__main__":
    main()
