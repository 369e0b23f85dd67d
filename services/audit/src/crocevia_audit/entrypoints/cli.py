"""``crocevia-audit``: check the trail from outside the audit service.

    crocevia-audit verify trail.jsonl --checkpoint checkpoint.txt --key <vkey or file>
    crocevia-audit consistency old-checkpoint.txt new-checkpoint.txt [--url URL] [--key ...]
    crocevia-audit consistency old-checkpoint.txt latest --url URL
    crocevia-audit receipt verify receipt.json --key <vkey or file> [--witness <vkey> ... --quorum K]

``verify`` and ``receipt verify`` work offline. ``consistency`` asks the service for the proof (and for the
checkpoint when ``latest``), and checks it against checkpoints it verifies itself.
Exit status: 0 when everything checks, 1 when something does not, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from crocevia_audit.handlers.offline import (
    ExportError,
    Finding,
    verify_export,
    verify_extension,
    verify_filtered_export,
)
from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from crocevia_common.tlog.note import NoteError, VerifierKey, parse_verifier_key
from crocevia_common.tlog.policy import WitnessPolicy
from crocevia_common.tlog.receipt import ReceiptError, read_receipt, verify_receipt


def default_url() -> str:
    """``CROCEVIA_AUDIT_URL``, else the audit of ``.data/network.json`` (``make up``)."""
    if url := os.environ.get("CROCEVIA_AUDIT_URL"):
        return url
    network = Path(".data/network.json")
    if network.exists():
        return str(json.loads(network.read_text()).get("audit", ""))
    return "http://127.0.0.1:18001"  # make up: notifications on 18000, audit on 18001


def read_key(text_or_path: str) -> VerifierKey:
    """A verifier key given inline or as a file holding it."""
    path = Path(text_or_path)
    text = path.read_text() if "+" not in text_or_path and path.exists() else text_or_path
    return parse_verifier_key(text.strip())


def read_checkpoint(path: Path, key: VerifierKey) -> Checkpoint:
    return open_checkpoint(path.read_bytes(), [key], origin=key.name)


def verify(export: Path, checkpoint: Path, key_text: str) -> Finding:
    """Recompute a whole-trail export offline against ``checkpoint``."""
    key = read_key(key_text)
    trusted = read_checkpoint(checkpoint, key)
    with export.open("rb") as lines:
        return verify_export(lines, trusted, key)


def is_complete(export: Path) -> bool:
    with export.open("rb") as lines:
        try:
            return bool(json.loads(lines.readline()).get("complete"))
        except (ValueError, AttributeError):
            return True  # let verify() say what is wrong with it


async def verify_filtered(export: Path, checkpoint: Path, key_text: str, client: httpx.AsyncClient) -> Finding:
    """Check each entry of a filtered export with an inclusion proof from the service."""
    key = read_key(key_text)
    trusted = read_checkpoint(checkpoint, key)

    async def proof_of(event_id: str, tree_size: int) -> list[str]:
        answer = await client.get("/proofs/inclusion", params={"event_id": event_id, "tree_size": tree_size})
        if answer.status_code != 200:
            raise ValueError(f"the service gave no proof: {answer.status_code} {answer.text}")
        return [str(h) for h in answer.json()["proof"]]

    with export.open("rb") as lines:
        return await verify_filtered_export(lines, trusted, key, proof_of)


async def consistency(old_path: Path, new: str, client: httpx.AsyncClient, key_text: str | None) -> Finding:
    """Fetch the proof that ``new`` (a checkpoint file, or ``latest``) extends ``old``."""
    if key_text:
        key = read_key(key_text)
    else:
        answer = await client.get("/checkpoint/key")
        answer.raise_for_status()
        key = parse_verifier_key(answer.text.strip())
        print(f"note: trusting the key the service gave: {key}", file=sys.stderr)
    old = read_checkpoint(old_path, key)
    if new == "latest":
        answer = await client.get("/checkpoint")
        answer.raise_for_status()
        newer = open_checkpoint(answer.text, [key], origin=key.name)
    else:
        newer = read_checkpoint(Path(new), key)
    if newer.size < old.size:
        return Finding(False, f"the newer checkpoint ({newer.size}) is smaller than the older ({old.size})")
    if old.size == 0 or old.size == newer.size:
        return verify_extension(old, newer, [])
    answer = await client.get("/proofs/consistency", params={"from": old.size, "to": newer.size})
    if answer.status_code != 200:
        return Finding(False, f"the service gave no proof: {answer.status_code} {answer.text}")
    return verify_extension(old, newer, answer.json()["proof"])


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="crocevia-audit", description="Check the Crocevia trail from outside.")
    commands = top.add_subparsers(dest="command", required=True)
    v = commands.add_parser("verify", help="recompute an exported trail offline against a signed checkpoint")
    v.add_argument("export", type=Path, help="a JSON Lines export of the whole trail (GET /trail/export)")
    v.add_argument("--checkpoint", type=Path, required=True, help="a signed checkpoint you trust (GET /checkpoint)")
    v.add_argument("--key", required=True, help="the log's verifier key, or a file holding it (GET /checkpoint/key)")
    v.add_argument("--url", default=None, help="for a filtered export: the audit service to ask inclusion proofs")
    v.add_argument("--token", default=os.environ.get("CROCEVIA_TOKEN"), help="bearer token ($CROCEVIA_TOKEN)")
    c = commands.add_parser("consistency", help="check through the service that a newer checkpoint extends an older")
    c.add_argument("old", type=Path, help="the older signed checkpoint")
    c.add_argument("new", help="the newer signed checkpoint file, or 'latest'")
    c.add_argument("--url", default=None, help="the audit service (default: $CROCEVIA_AUDIT_URL or .data/network.json)")
    c.add_argument("--key", default=None, help="the log's verifier key or a file; default: ask the service")
    r = commands.add_parser("receipt", help="check a referral's receipt offline")
    r.add_argument("action", choices=["verify"])
    r.add_argument("receipt", type=Path, help="the receipt's JSON (GET /referrals/{id}/receipt?format=json)")
    r.add_argument("--key", required=True, help="the log's verifier key, or a file holding it (GET /checkpoint/key)")
    r.add_argument("--witness", action="append", default=[], help="a witness's verifier key (repeat for each)")
    r.add_argument("--quorum", type=int, default=None, help="how many witnesses must have cosigned (default: all)")
    return top


def verify_receipt_file(path: Path, key_text: str, witnesses: list[str], quorum: int | None) -> Finding:
    """Check a receipt offline against the log's key and a k of n witness policy."""
    policy = WitnessPolicy.from_keys(witnesses, len(witnesses) if quorum is None else quorum)
    receipt = read_receipt(path.read_bytes())
    try:
        checkpoint = verify_receipt(receipt, read_key(key_text), policy)
    except ReceiptError as exc:
        return Finding(False, f"receipt of referral {receipt.referral_id}: {exc.reason}")
    proven = " and ".join(f"{e.event} at {e.occurred_at}" for e in receipt.events)
    return Finding(True, f"referral {receipt.referral_id}: {proven}, in the trail of {checkpoint.size} entries")


def _client(url: str | None, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return httpx.AsyncClient(base_url=url or default_url(), timeout=30, headers=headers)


async def _consistency(args: argparse.Namespace) -> Finding:
    async with _client(args.url) as client:
        return await consistency(args.old, args.new, client, args.key)


async def _verify_filtered(args: argparse.Namespace) -> Finding:
    async with _client(args.url, args.token) as client:
        return await verify_filtered(args.export, args.checkpoint, args.key, client)


def run(args: argparse.Namespace) -> Finding:
    if args.command == "receipt":
        return verify_receipt_file(args.receipt, args.key, args.witness, args.quorum)
    if args.command == "consistency":
        return asyncio.run(_consistency(args))
    if is_complete(args.export):
        return verify(args.export, args.checkpoint, args.key)
    if not args.url:
        raise ExportError("a filtered export is checked entry by entry with inclusion proofs: give --url")
    return asyncio.run(_verify_filtered(args))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        finding = run(args)
    except (ExportError, CheckpointError, NoteError, ReceiptError, ValueError, OSError, httpx.HTTPError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(("OK: " if finding.ok else "FAILED: ") + finding.message, file=sys.stdout if finding.ok else sys.stderr)
    return 0 if finding.ok else 1


if __name__ == "__main__":
    sys.exit(main())
