"""The ``crocevia`` command: run the development network, issue development tokens,
generate NATS permissions and passwords from the agency registry, create the streams, manage
keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from types import FrameType

from crocevia import compose_check
from crocevia.backup import BackupError, backup, restore
from crocevia.deadletters import DeadLetterProblem, Selection, purge, replay, select
from crocevia.devnet import AppFactories, Network, NetworkConfig, NetworkError, StopRequested
from crocevia.keys import KeyProblem, confirm_keys, operator_key, public_key_text, published, rotate_own_keys
from crocevia.nats_accounts import DEFAULT_NODE_CONSUMER, OPERATOR, accounts_config, password_users
from crocevia.nats_secrets import ensure_env_file
from crocevia.registry import RegistryError, load_registry
from crocevia.streams import OperatorError, create_streams
from crocevia.witness_setup import PlannedWitness, write_config
from crocevia_common.auth import Role, ensure_dev_key, issue_dev_token
from crocevia_common.key_files import SigningKeyError, load_or_create_key_file, parse_seed
from crocevia_common.messaging.connection import NatsLogin, NatsLoginError, nats_login, url_user
from crocevia_common.messaging.streams import StreamError
from crocevia_contracts.subjects import SubjectError, check_agency_id

DEFAULT_DATA_DIR = Path(".data")
DEFAULT_AGENCIES_DIR = Path("deploy/demo/agencies")
DEFAULT_NATS_URL = "nats://127.0.0.1:14222"


def _default_key_file() -> Path:
    return Path(os.environ.get("CROCEVIA_AUTH_DEV_KEY_FILE") or DEFAULT_DATA_DIR / "dev-jwt.key")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crocevia",
        description="Crocevia's command: run the development network, issue development tokens, "
        "generate NATS permissions and passwords, create the streams, manage keys.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('crocevia')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run NATS, a referrals node per agency, notifications and audit",
        description="Run the development network until Ctrl-C (or SIGTERM).",
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="databases, NATS store, logs, network.json (default: %(default)s)",
    )
    up.add_argument(
        "--agencies-dir",
        type=Path,
        default=DEFAULT_AGENCIES_DIR,
        help="one <agency-id>.yaml per referrals node (default: %(default)s)",
    )
    up.add_argument("--nats-port", type=int, default=14222, help="default: %(default)s")
    up.add_argument(
        "--base-port",
        type=int,
        default=18000,
        help="notifications here, audit +1, agencies from +2, then the witness (default: %(default)s)",
    )
    up.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds every service has to answer /readyz (default: %(default)s)",
    )
    up.add_argument(
        "--no-seed",
        dest="seed",
        action="store_false",
        help="leave a new data directory empty (default: seed fictional households in every state)",
    )
    defaults = AppFactories()
    for service in ("referrals", "notifications", "audit"):
        up.add_argument(
            f"--{service}-app",
            default=getattr(defaults, service),
            metavar="MODULE:FACTORY",
            help="ASGI app factory (default: %(default)s)",
        )

    compose_check.add_command(commands)

    token = commands.add_parser(
        "token",
        help="print a signed development token",
        description="Print a development JWT the services accept (claims sub, agency, roles).",
    )
    token.add_argument("--agency", required=True, help="agency id, e.g. cpia2")
    token.add_argument(
        "--role",
        dest="roles",
        action="append",
        required=True,
        choices=[role.value for role in Role],
        help="repeat for several roles",
    )
    token.add_argument("--sub", help="the user (default: <role>-<agency>)")
    token.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help="signing key, made on first use (default: $CROCEVIA_AUTH_DEV_KEY_FILE or .data/dev-jwt.key)",
    )
    token.add_argument("--ttl-hours", type=float, default=12.0, help="default: %(default)s")

    accounts = commands.add_parser(
        "nats-accounts",
        help="print the NATS users and permissions of the agency registry",
        description="Generate a nats-server accounts file: a user per agency, the services, "
        "an admin; passwords are read by nats-server from $CROCEVIA_NATS_PASSWORD_*.",
    )
    accounts.add_argument("--agencies-dir", type=Path, default=DEFAULT_AGENCIES_DIR, help="default: %(default)s")
    accounts.add_argument("--output", type=Path, help="write here instead of standard output")
    accounts.add_argument(
        "--node-consumer", default=DEFAULT_NODE_CONSUMER, help="durable consumer name of a node (default: %(default)s)"
    )

    passwords = commands.add_parser(
        "nats-passwords",
        help="give every NATS user of the registry a random password in a .env file",
        description="Add a CROCEVIA_NATS_PASSWORD_<USER> line for each user that has none to a "
        ".env file (made readable by its owner only); docker compose reads it.",
    )
    passwords.add_argument("--agencies-dir", type=Path, default=DEFAULT_AGENCIES_DIR, help="default: %(default)s")
    passwords.add_argument("--env-file", type=Path, default=Path(".env"), help="default: %(default)s")

    streams = commands.add_parser(
        "streams",
        help="create (or strengthen) the network's streams and directory bucket, as the operator",
        description="Connect as the network's operator and create every stream of the contracts and "
        "the directory bucket, or mend those weaker than their spec. Services only check them.",
    )
    _nats_options(streams)
    streams.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("CROCEVIA_STREAM_REPLICAS", "1")),
        help="copies of each message: 3 on a cluster (default: $CROCEVIA_STREAM_REPLICAS or %(default)s)",
    )
    streams.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for NATS to answer (default: %(default)s)"
    )
    streams.add_argument(
        "--agencies-dir",
        type=Path,
        default=Path(os.environ.get("CROCEVIA_AGENCIES_DIR") or DEFAULT_AGENCIES_DIR),
        help="the registry: each agency's attachments bucket is made too "
        "(default: $CROCEVIA_AGENCIES_DIR or deploy/demo/agencies)",
    )
    witness_config = commands.add_parser(
        "witness-config",
        help="tell the audit and its witnesses about each other (docker compose runs it once)",
        description="Write the witnesses' addresses and verifier keys (the audit's CROCEVIA_WITNESSES_FILE) "
        "and the log's verifier key (each witness's CROCEVIA_WITNESS_LOGS_FILE). Keys are read from "
        "their files, or made there when missing.",
    )
    witness_config.add_argument("--origin", required=True, help="the audit's CROCEVIA_ORIGIN")
    witness_config.add_argument(
        "--log-key-file", type=Path, required=True, help="the audit's key file ($CROCEVIA_AUDIT_SIGNING_KEY first)"
    )
    witness_config.add_argument("--witness", action="append", default=[], required=True, help="NAME=URL=KEY_FILE")
    witness_config.add_argument("--witnesses-file", type=Path, required=True, help="for the audit")
    witness_config.add_argument("--logs-file", type=Path, required=True, help="for the witnesses")
    keys = commands.add_parser(
        "keys",
        help="the keys parties publish; confirm a party's new keys; rotate a service's own",
        description="Every service pins the keys a party first publishes and takes new ones only "
        "when the old key endorsed them (a rotation) or the network's operator confirmed them.",
    )
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    listing = key_commands.add_parser("list", help="the keys every agency and service publishes")
    confirming = key_commands.add_parser(
        "confirm",
        help="confirm the keys a party publishes now, as the operator",
        description="For a party that lost its old key: confirm the signing key id it read out to "
        "you by a channel you trust. Every service then takes its new keys.",
    )
    confirming.add_argument("party", help="an agency id, or service.<name>")
    confirming.add_argument("--key-id", required=True, help="the signing key id the party read out to you")
    operator = key_commands.add_parser(
        "operator", help="print the operator's public key (the services' CROCEVIA_OPERATOR_PUBLIC_KEY)"
    )
    for command in (confirming, operator):
        command.add_argument(
            "--operator-key",
            type=Path,
            default=DEFAULT_DATA_DIR / "secrets" / "operator.key",
            help="the operator's signing key, made on first use (default: %(default)s)",
        )
    for command in (listing, confirming):
        _nats_options(command)
    rotating = key_commands.add_parser(
        "rotate",
        help="make a stopped service's next keys, endorsed by its current ones",
        description="Run while the service is stopped: at its next start it publishes the new keys "
        "with the endorsement, and every service that pinned the old ones follows.",
    )
    rotating.add_argument("--party", required=True, help="the agency id of a node, or service.notifications")
    rotating.add_argument("--database-url", required=True, help="the service's CROCEVIA_DATABASE_URL")

    letters = commands.add_parser(
        "deadletters",
        help="list, read, replay or purge the messages consumers could not apply",
        description="Dead letters hold the message as it arrived and why a consumer could not apply "
        "it. Once the cause is fixed, replay puts them back through the same checks.",
    )
    letter_commands = letters.add_subparsers(dest="letters_command", required=True, metavar="ACTION")
    for action, text in (
        ("list", "one line per dead letter"),
        ("show", "every dead letter selected, in full (sealed parts stay sealed)"),
        ("replay", "put the dead letters selected back for their consumers"),
        ("purge", "empty the dead letters of a consumer (--consumer required)"),
    ):
        command = letter_commands.add_parser(action, help=text)
        command.add_argument("sequences", nargs="*", type=int, help="dead letters by number (default: all)")
        command.add_argument("--consumer", help="e.g. referrals-cpia2, notifications, audit")
        command.add_argument("--reason", help="a part of the reason")
        command.add_argument("--since", type=datetime.fromisoformat, help="dead-lettered from (ISO 8601)")
        _nats_options(command)

    saving = commands.add_parser(
        "backup",
        help="copy the databases and keys of a data directory, while the network runs",
        description="Copy every SQLite database of the data directory with SQLite's online backup "
        "(a consistent copy while the services write), checked, and the keys beside them. "
        "The NATS store and the logs are not copied.",
    )
    saving.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="default: %(default)s")
    saving.add_argument("--to", type=Path, required=True, help="a new directory for the copy")
    restoring = commands.add_parser(
        "restore",
        help="put services' databases back from a backup, with the network stopped",
        description="Replace the named services' databases in the data directory with their copies "
        "in the backup. Refused while a network runs on the data directory.",
    )
    restoring.add_argument("services", nargs="+", help="e.g. referrals-cpia2 audit")
    restoring.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="default: %(default)s")
    restoring.add_argument("--from", dest="source", type=Path, required=True, help="the backup's directory")
    return parser


def _backup(args: argparse.Namespace) -> int:
    try:
        if args.command == "backup":
            copied = backup(args.data_dir, args.to)
        else:
            copied = restore(args.source, args.data_dir, args.services)
    except BackupError as exc:
        print(f"crocevia {args.command}: {exc}", file=sys.stderr)
        return 1
    for item in copied:
        print(f"{item.name:<40} {item.size:>12} bytes")
    return 0


def _deadletters(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    selection = Selection(args.consumer, args.reason, args.since, tuple(args.sequences))
    try:
        login = _operator_login(args)
        if args.letters_command == "purge":
            if not args.consumer or args.sequences or args.reason or args.since:
                parser.error("purge empties one consumer's dead letters: give --consumer only")
            print(f"{asyncio.run(purge(args.nats_url, login, [args.consumer]))} dead letters purged")
        elif args.letters_command == "replay":
            done = asyncio.run(replay(args.nats_url, login, selection))
            print(f"{len(done)} dead letters put back: {', '.join(str(d.sequence) for d in done) or 'none'}")
        else:
            letters = asyncio.run(select(args.nats_url, login, selection))
            for letter in letters:
                if args.letters_command == "show":
                    print(json.dumps(letter.shown(), indent=2, ensure_ascii=False))
                else:
                    when = letter.at.isoformat(timespec="seconds")
                    print(f"{letter.sequence:>6}  {when}  {letter.consumer:<24} {letter.subject}  {letter.reason}")
    except (DeadLetterProblem, NatsLoginError, OperatorError) as exc:
        print(f"crocevia deadletters: {exc}", file=sys.stderr)
        return 1
    return 0


def _nats_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--nats-url",
        default=os.environ.get("CROCEVIA_NATS_URL", DEFAULT_NATS_URL),
        help="default: $CROCEVIA_NATS_URL or %(default)s",
    )
    command.add_argument(
        "--user",
        default=os.environ.get("CROCEVIA_NATS_USER", OPERATOR),
        help="NATS user; '' on a server without users (default: $CROCEVIA_NATS_USER or %(default)s)",
    )
    command.add_argument(
        "--password-file",
        type=Path,
        default=None,
        help="the user's password (default: $CROCEVIA_NATS_PASSWORD_FILE, else .data/secrets/nats/<user>)",
    )


def _keys(args: argparse.Namespace) -> int:
    try:
        if args.keys_command == "operator":
            print(public_key_text(operator_key(args.operator_key)))
        elif args.keys_command == "rotate":
            print(asyncio.run(rotate_own_keys(args.database_url, args.party)))
        elif args.keys_command == "list":
            for row in asyncio.run(published(args.nats_url, _operator_login(args))):
                confirmed = f"  confirmed {row.confirmed_key_id}" if row.confirmed_key_id else ""
                print(f"{row.party:<32} {row.key_id or '-':<16}  rotations {row.rotations}{confirmed}")
        else:
            confirmation = asyncio.run(
                confirm_keys(
                    args.nats_url, _operator_login(args), operator_key(args.operator_key), args.party, args.key_id
                )
            )
            print(f"confirmed {confirmation.party}: key {args.key_id}")
    except (KeyProblem, NatsLoginError, OperatorError) as exc:
        print(f"crocevia keys: {exc}", file=sys.stderr)
        return 1
    return 0


def _token(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        agency = check_agency_id(args.agency)
    except SubjectError as exc:
        parser.error(str(exc))
    if args.ttl_hours <= 0:
        parser.error("--ttl-hours must be positive")
    key = ensure_dev_key(args.key_file or _default_key_file())
    roles: list[str] = list(dict.fromkeys(args.roles))
    print(
        issue_dev_token(
            key,
            agency=agency,
            roles=roles,
            sub=args.sub or f"{roles[0]}-{agency}",
            ttl_seconds=int(args.ttl_hours * 3600),
        )
    )
    return 0


def _nats_accounts(args: argparse.Namespace) -> int:
    try:
        text = accounts_config(load_registry(args.agencies_dir), args.node_consumer)
    except RegistryError as exc:
        print(f"crocevia nats-accounts: {exc}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _nats_passwords(args: argparse.Namespace) -> int:
    try:
        users = password_users(load_registry(args.agencies_dir))
    except RegistryError as exc:
        print(f"crocevia nats-passwords: {exc}", file=sys.stderr)
        return 1
    added = ensure_env_file(args.env_file, users)
    print(f"{args.env_file}: {len(added)} password(s) added, {len(users) - len(added)} kept")
    return 0


def _operator_login(args: argparse.Namespace) -> NatsLogin:
    if url_user(args.nats_url) or not args.user:
        return nats_login(args.nats_url, None, None)
    configured = os.environ.get("CROCEVIA_NATS_PASSWORD_FILE")
    password_file = args.password_file or (
        Path(configured) if configured else DEFAULT_DATA_DIR / "secrets" / "nats" / args.user
    )
    return nats_login(args.nats_url, args.user, password_file)


def _streams(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.replicas < 1:
        parser.error("--replicas must be 1 or more")
    try:
        login = _operator_login(args)
        agencies = list(load_registry(args.agencies_dir)) if args.agencies_dir.is_dir() else []
        done = asyncio.run(create_streams(args.nats_url, login, args.replicas, args.wait, agencies))
    except (NatsLoginError, OperatorError, StreamError, RegistryError) as exc:
        print(f"crocevia streams: {exc}", file=sys.stderr)
        return 1
    print("\n".join(done))
    return 0


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (shorter to copy)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_network(network: Network) -> None:
    urls = network.urls
    rows = [("nats", urls.nats), ("notifications", urls.notifications), ("audit", urls.audit)]
    rows += [(f"referrals-{agency}", url) for agency, url in urls.agencies.items()]
    rows.append(("witness", urls.witness))
    width = max(len(name) for name, _ in rows)
    agency, node = next(iter(urls.agencies.items()))
    key_option = ""
    if network.key_file != (DEFAULT_DATA_DIR / "dev-jwt.key").resolve():
        key_option = f" --key-file {network.key_file}"
    print(f"\nCrocevia is up. Data: {network.data_dir}  Logs: {network.data_dir / 'logs'}\n")
    for name, url in rows:
        print(f"  {name:<{width}}  {url}")
    print(
        f"\nAddresses: {network.network_file}. Each service documents its API at <url>/docs.\n"
        f"Try it: a development token for {agency}'s operators, then its referrals:\n"
        f"  TOKEN=$(uv run crocevia token --agency {agency} --role operator{key_option})\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {node}/referrals\n'
        f"Web pages (development sign-in): staff at {node}/ui, the inbox at {urls.notifications}/ui/inbox,\n"
        f"  auditors at {urls.audit}/ui/trail; the checkpoint cosigned by the witness: {urls.audit}/checkpoint\n"
        f"NATS takes no anonymous client: each agency, service and the operator ({OPERATOR}) has a user,\n"
        f"  its password in {_shown_path(network.secrets_dir)}/<user>. Connect as {agency} or as the operator:\n"
        f"  {_nats_url(network, agency)}\n"
        f"  {_nats_url(network, OPERATOR)}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )


def _nats_url(network: Network, user: str) -> str:
    """How to connect as ``user``: the password read from its file by the shell, never shown."""
    host = network.urls.nats.split("://", 1)[1]
    return f"nats://{user}:$(cat {_shown_path(network.password_file(user))})@{host}"


def _up(args: argparse.Namespace) -> int:
    config = NetworkConfig(
        data_dir=args.data_dir,
        agencies_dir=args.agencies_dir,
        nats_port=args.nats_port,
        base_port=args.base_port,
        ready_timeout=args.ready_timeout,
        seed=args.seed,
        apps=AppFactories(args.referrals_app, args.notifications_app, args.audit_app),
        progress=lambda line: print(line, flush=True),
    )
    try:
        network = Network(config)
    except RegistryError as exc:
        print(f"crocevia up: {exc}", file=sys.stderr)
        return 1

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        network.request_stop()

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, on_signal) for signum in handled}
    try:
        print(
            f"Starting NATS and {len(network.ports()) - 1} services (logs in {network.data_dir / 'logs'})...",
            flush=True,
        )
        network.start()
        _print_network(network)
        network.wait()
        print("\nStopping...", flush=True)
        return 0
    except StopRequested:
        print("\nStopped before the network was ready.", flush=True)
        return 0
    except NetworkError as exc:
        print(f"crocevia up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        network.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _witness_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        witnesses = [PlannedWitness.parse(text) for text in args.witness]
    except ValueError as exc:
        parser.error(str(exc))
    given = os.environ.get("CROCEVIA_AUDIT_SIGNING_KEY", "").strip()
    try:
        if given:
            log_key = parse_seed(given, "CROCEVIA_AUDIT_SIGNING_KEY")
        else:
            log_key = load_or_create_key_file(args.log_key_file)
        write_config(args.origin, log_key, witnesses, args.witnesses_file, args.logs_file)
    except (SigningKeyError, OSError) as exc:
        print(f"crocevia witness-config: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.witnesses_file} and {args.logs_file}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crocevia`` command line; return the exit code (2 for usage errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "token":
        return _token(args, parser)
    if args.command == "nats-accounts":
        return _nats_accounts(args)
    if args.command == "keys":
        return _keys(args)
    if args.command == "deadletters":
        return _deadletters(args, parser)
    if args.command == "nats-passwords":
        return _nats_passwords(args)
    if args.command == "streams":
        return _streams(args, parser)
    if args.command == "witness-config":
        return _witness_config(args, parser)
    if args.command == "compose-check":
        return compose_check.command(args)
    if args.command in ("backup", "restore"):
        return _backup(args)
    return _up(args)


if __name__ == "__main__":
    sys.exit(main())
