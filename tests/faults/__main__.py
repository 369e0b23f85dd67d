"""The fault suite's long run: several seeds, each fault several times, on SQLite and on
PostgreSQL, with NATS one server and a three-server cluster, the counts kept (``make faults``):

    uv run python -m tests.faults --seeds 1 2 3 --rounds 2 --databases sqlite postgresql \\
        --nats server cluster --output bench/results/faults.txt
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tests.faults.suite import Params, run_seed
from tests.kit.disk import mountable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description="Run the fault suite over seeds.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=2, help="times each fault kind is injected per seed")
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"], help="each seed on each"
    )
    parser.add_argument(
        "--nats", nargs="+", choices=["server", "cluster"], default=["server"], help="each seed on each"
    )
    parser.add_argument("--rate", type=float, default=Params.rate, help="referrals per second")
    parser.add_argument("--output", type=Path, help="where the counts are written too")
    args = parser.parse_args(argv)
    params = Params(rate=args.rate, rounds=args.rounds)
    texts, failed = [], 0
    runs = [(seed, database, nats) for seed in args.seeds for database in args.databases for nats in args.nats]
    for seed, database, nats in runs:
        workdir = Path(tempfile.mkdtemp(prefix=f"faults-{seed}-{database}-{nats}-"))
        outcome = run_seed(seed, replace(params, database=database, nats=nats), workdir, lambda _line: None)
        texts.append(outcome.text())
        print(texts[-1], flush=True)
        if outcome.ok:
            shutil.rmtree(workdir)
        else:  # its databases and logs, to find out why
            failed += 1
            print(f"  kept: {workdir}", flush=True)
    summary = (
        f"{len(texts)} runs, {failed} failed; seeds {' '.join(map(str, args.seeds))}, {args.rounds} rounds, "
        f"agencies {', '.join(params.agencies)}, {params.rate:g} referrals/s"
    )
    if "sqlite" in args.databases and (why := mountable()) is not None:
        summary += f"; a node's disk not filled: {why}"
    print(summary)
    if args.output:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        command = " ".join(["python -m tests.faults", *(sys.argv[1:] if argv is None else argv)])
        args.output.write_text(f"# {command}, {stamp}\n" + "\n".join([*texts, summary]) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
