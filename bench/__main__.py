"""Run the benchmarks: ``python -m bench`` runs all, ``python -m bench NAME [ARGS]`` one.

Each benchmark is a module of this folder with a ``main(argv)`` and writes its results to
``bench/results/<name>.txt``. Benchmarks are run on demand, never by the test suite.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def main() -> None:
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
