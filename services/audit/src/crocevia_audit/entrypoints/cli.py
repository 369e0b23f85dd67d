"""``crocevia-audit``: check the trail from outside the audit service.

    crocevia-audit verify trail.jsonl --checkpoint checkpoint.txt --key <vkey or file>
    crocevia-audit consistency old-checkpoint.txt new-checkpoint.txt [--url URL] [--key ...]
    crocevia-audit consistency old-checkpoint.txt latest --url URL
    crocevia-audit checkpoint --url URL --witness <witness vkey or file> [--quorum K] [--save FILE]
    crocevia-audit receipt verify receipt.json --key <vkey or file> [--witness <vkey> ... --quorum K] [--url URL]
    crocevia-audit indicators check [--database-url URL]

Given ``--witness`` keys (one each, or files of keys one a line), every checkpoint read must
also be cosigned by ``--quorum`` of them (default: all): a checkpoint its log signed but
too few witnesses cosigned, or with a cosignature that does not verify, fails.
``verify`` and ``receipt verify`` work offline. ``indicators check`` reads the audit's
database: it recomputes every referral's running totals from the trail alone and names
each referral whose stored totals disagree. ``consistency`` asks the service for the proof (and for the
checkpoint when ``latest``), and checks it against checkpoints it verifies itself; so does ``receipt verify``
given ``--url``: the service's latest checkpoint must extend the receipt's, so its entries are still there.
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

from crocevia_audit.adapters.totals import TotalsQueries
from crocevia_audit.handlers.indicators import check_totals
from crocevia_audit.handlers.offline import (
    ExportError,
    Finding,
    verify_export,
    verify_extension,
    verify_filtered_export,
)
from crocevia_audit.settings import AuditSettings
from crocevia_common.db import Database
from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from crocevia_common.tlog.note import NoteError, VerifierKey, parse_verifier_key
from crocevia_common.tlog.policy import WitnessPolicy, open_witnessed_checkpoint
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


def read_policy(witnesses: list[str], quorum: int | None) -> WitnessPolicy | None:
    """The k of n policy of ``--witness`` keys (inline or files of keys one a line), or None."""
    keys: list[str] = []
    for given in witnesses:
        path = Path(given)
        keys += path.read_text().split() if "+" not in given and path.exists() else [given]
    if not keys:
        return None
    try:
        return WitnessPolicy.from_keys(keys, len(keys) if quorum is None else quorum)
    except ValueError as exc:
        raise ExportError(f"bad witness policy: {exc}") from None


def open_trusted(note: str | bytes, key: VerifierKey, policy: WitnessPolicy | None) -> Checkpoint:
    """The checkpoint in ``note`` once the log's key signed it and, with a policy, enough
    of its witnesses cosigned it."""
    if policy is None:
        return open_checkpoint(note, [key], origin=key.name)
    return open_witnessed_checkpoint(note, [key], policy, origin=key.name).checkpoint


def read_checkpoint(path: Path, key: VerifierKey, policy: WitnessPolicy | None = None) -> Checkpoint:
    try:
        return open_trusted(path.read_bytes(), key, policy)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc.reason}") from None


def verify(export: Path, checkpoint: Path, key_text: str, policy: WitnessPolicy | None = None) -> Finding:
    """Recompute a whole-trail export offline against ``checkpoint``."""
    key = read_key(key_text)
    trusted = read_checkpoint(checkpoint, key, policy)
    with export.open("rb") as lines:
        return verify_export(lines, trusted, key)


def is_complete(export: Path) -> bool:
    with export.open("rb") as lines:
        try:
            return bool(json.loads(lines.readline()).get("complete"))
        except (ValueError, AttributeError):
            return True  # let verify() say what is wrong with it


async def verify_filtered(
    export: Path, checkpoint: Path, key_text: str, client: httpx.AsyncClient, policy: WitnessPolicy | None = None
) -> Finding:
    """Check each entry of a filtered export with an inclusion proof from the service."""
    key = read_key(key_text)
    trusted = read_checkpoint(checkpoint, key, policy)

    async def proof_of(event_id: str, tree_size: int) -> list[str]:
        answer = await client.get("/proofs/inclusion", params={"event_id": event_id, "tree_size": tree_size})
        if answer.status_code != 200:
            raise ValueError(f"the service gave no proof: {answer.status_code} {answer.text}")
        return [str(h) for h in answer.json()["proof"]]

    with export.open("rb") as lines:
        return await verify_filtered_export(lines, trusted, key, proof_of)


async def log_key(client: httpx.AsyncClient, key_text: str | None) -> VerifierKey:
    """The log's key as given, else as the service gives it (said on standard error)."""
    if key_text:
        return read_key(key_text)
    answer = await client.get("/checkpoint/key")
    answer.raise_for_status()
    key = parse_verifier_key(answer.text.strip())
    print(f"note: trusting the key the service gave: {key}", file=sys.stderr)
    return key


async def latest_checkpoint(
    client: httpx.AsyncClient, key: VerifierKey, policy: WitnessPolicy | None
) -> tuple[str, Checkpoint]:
    """The service's latest checkpoint (the note as served, and what it says), held to the
    key and the policy."""
    answer = await client.get("/checkpoint")
    answer.raise_for_status()
    try:
        return answer.text, open_trusted(answer.text, key, policy)
    except CheckpointError as exc:
        raise CheckpointError(f"the latest checkpoint: {exc.reason}") from None


async def check_latest(
    client: httpx.AsyncClient, key_text: str | None, policy: WitnessPolicy | None
) -> tuple[str, Finding]:
    """The service's latest checkpoint, and whether it is signed by the log and meets the policy."""
    key = await log_key(client, key_text)
    note, checkpoint = await latest_checkpoint(client, key, policy)
    said = f"the checkpoint of size {checkpoint.size} of {checkpoint.origin} is signed by its log"
    if policy is not None:
        said += f" and cosigned by at least {policy.quorum} of its {len(policy.witnesses)} witnesses"
    return note, Finding(True, said)


async def consistency(
    old_path: Path, new: str, client: httpx.AsyncClient, key_text: str | None, policy: WitnessPolicy | None = None
) -> Finding:
    """Fetch the proof that ``new`` (a checkpoint file, or ``latest``) extends ``old``."""
    key = await log_key(client, key_text)
    old = read_checkpoint(old_path, key, policy)
    if new == "latest":
        _, newer = await latest_checkpoint(client, key, policy)
    else:
        newer = read_checkpoint(Path(new), key, policy)
    return await proven_extension(old, newer, client)


async def proven_extension(old: Checkpoint, newer: Checkpoint, client: httpx.AsyncClient) -> Finding:
    """Whether ``newer`` extends ``old``, by the service's consistency proof (checked here)."""
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
    k = commands.add_parser("checkpoint", help="check the service's latest checkpoint against the witness policy")
    k.add_argument("--url", default=None, help="the audit service (default: $CROCEVIA_AUDIT_URL or .data/network.json)")
    k.add_argument("--key", default=None, help="the log's verifier key or a file; default: ask the service")
    k.add_argument("--save", type=Path, default=None, help="write the checkpoint (with its cosignatures) here")
    r = commands.add_parser("receipt", help="check a referral's receipt offline")
    r.add_argument("action", choices=["verify"])
    r.add_argument("receipt", type=Path, help="the receipt's JSON (GET /referrals/{id}/receipt?format=json)")
    r.add_argument("--key", required=True, help="the log's verifier key, or a file holding it (GET /checkpoint/key)")
    r.add_argument(
        "--url", default=None, help="also check that the audit service's latest checkpoint extends the receipt's"
    )
    i = commands.add_parser("indicators", help="check the indicators' running totals against the trail")
    i.add_argument("action", choices=["check"])
    i.add_argument("--database-url", default=None, help="the audit's database (default: $CROCEVIA_DATABASE_URL)")
    for command in (v, c, k, r):
        command.add_argument(
            "--witness", action="append", default=[], help="a witness's verifier key, or a file of them (repeatable)"
        )
        command.add_argument("--quorum", type=int, default=None, help="how many witnesses must cosign (default: all)")
    return top


def verify_receipt_file(path: Path, key_text: str, policy: WitnessPolicy | None) -> Finding:
    """Check a receipt offline against the log's key and a k of n witness policy."""
    return _verify_receipt(path, key_text, policy)[0]


def _verify_receipt(path: Path, key_text: str, policy: WitnessPolicy | None) -> tuple[Finding, Checkpoint | None]:
    receipt = read_receipt(path.read_bytes())
    try:
        checkpoint = verify_receipt(receipt, read_key(key_text), policy or WitnessPolicy((), 0))
    except ReceiptError as exc:
        return Finding(False, f"receipt of referral {receipt.referral_id}: {exc.reason}"), None
    proven = " and ".join(f"{e.event} at {e.occurred_at}" for e in receipt.events)
    found = Finding(True, f"referral {receipt.referral_id}: {proven}, in the trail of {checkpoint.size} entries")
    return found, checkpoint


async def receipt_still_there(
    path: Path, key_text: str, client: httpx.AsyncClient, policy: WitnessPolicy | None
) -> Finding:
    """Check a receipt offline, then that the service's latest checkpoint (held to the key and
    the policy) extends the receipt's: the receipt's entries are still in the trail."""
    found, checkpoint = _verify_receipt(path, key_text, policy)
    if checkpoint is None:
        return found
    _, latest = await latest_checkpoint(client, read_key(key_text), policy)
    extended = await proven_extension(checkpoint, latest, client)
    if not extended.ok:
        return Finding(False, f"{found.message}; but the latest checkpoint does not extend it: {extended.message}")
    return Finding(True, f"{found.message}; still there in the latest checkpoint of {latest.size} entries")


def _client(url: str | None, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return httpx.AsyncClient(base_url=url or default_url(), timeout=30, headers=headers)


async def _receipt_still_there(args: argparse.Namespace, policy: WitnessPolicy | None) -> Finding:
    async with _client(args.url) as client:
        return await receipt_still_there(args.receipt, args.key, client, policy)


async def _consistency(args: argparse.Namespace, policy: WitnessPolicy | None) -> Finding:
    async with _client(args.url) as client:
        return await consistency(args.old, args.new, client, args.key, policy)


async def _check_latest(args: argparse.Namespace, policy: WitnessPolicy | None) -> Finding:
    async with _client(args.url) as client:
        note, finding = await check_latest(client, args.key, policy)
    if args.save is not None:
        args.save.write_text(note)
    return finding


async def _verify_filtered(args: argparse.Namespace, policy: WitnessPolicy | None) -> Finding:
    async with _client(args.url, args.token) as client:
        return await verify_filtered(args.export, args.checkpoint, args.key, client, policy)


async def check_indicators(database_url: str) -> Finding:
    """The stored running totals held to the trail they were appended with."""
    db = Database(database_url)
    try:
        queries = TotalsQueries(db)
        stored, measured = await queries.stored()
        found = await check_totals(stored, queries.trail_events(), measured)
        unlisted = await queries.months_without_generation()
    finally:
        await db.dispose()
    said = []
    if found:
        named = "; ".join(str(mismatch) for mismatch in found[:20])
        said.append(f"the running totals of {len(found)} referrals disagree with the trail: {named}")
    if unlisted:
        said.append(f"months with referrals but no generation in indicator_months: {', '.join(unlisted[:20])}")
    if not said:
        return Finding(True, f"the running totals of {len(stored)} referrals match the trail")
    return Finding(False, "; ".join(said))


def run(args: argparse.Namespace) -> Finding:
    if args.command == "indicators":
        return asyncio.run(check_indicators(args.database_url or AuditSettings().database_url))
    policy = read_policy(args.witness, args.quorum)
    if args.command == "receipt":
        if args.url:
            return asyncio.run(_receipt_still_there(args, policy))
        return verify_receipt_file(args.receipt, args.key, policy)
    if args.command == "consistency":
        return asyncio.run(_consistency(args, policy))
    if args.command == "checkpoint":
        return asyncio.run(_check_latest(args, policy))
    if is_complete(args.export):
        return verify(args.export, args.checkpoint, args.key, policy)
    if not args.url:
        raise ExportError("a filtered export is checked entry by entry with inclusion proofs: give --url")
    return asyncio.run(_verify_filtered(args, policy))


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
