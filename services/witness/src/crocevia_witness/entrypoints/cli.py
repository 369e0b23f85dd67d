"""``crocevia-witness``: run the witness, or print its verifier key.

    crocevia-witness serve [--host HOST] [--port PORT]
    crocevia-witness key

Both read the ``CROCEVIA_WITNESS_*`` settings; both make the key file on first use.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from pydantic import ValidationError

from crocevia_common.key_files import SigningKeyError
from crocevia_common.serving import HTTP, LOOP
from crocevia_witness.bootstrap import create_app, witness_of
from crocevia_witness.settings import WitnessSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crocevia-witness", description=__doc__.split("\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="answer add-checkpoint requests (c2sp.org/tlog-witness)")
    serve.add_argument("--host", help="default: CROCEVIA_WITNESS_HOST, else 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: CROCEVIA_WITNESS_PORT, else 8090")
    commands.add_parser("key", help="print the witness's verifier key, for the logs' and verifiers' settings")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = WitnessSettings()
        if args.command == "key":
            print(witness_of(settings).cosigner)
            return 0
    except (ValidationError, SigningKeyError) as error:
        print(f"crocevia-witness: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings), host=args.host or settings.host, port=args.port or settings.port, loop=LOOP, http=HTTP
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
