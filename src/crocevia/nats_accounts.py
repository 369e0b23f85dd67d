"""NATS users and subject permissions, generated from the agency registry.

One user per agency: it publishes only events *from* itself (``referral.v1.<self>.*.>``,
the anchor of its access log, ``notice.v1.<self>.access-log-anchored``, and its caseload
notices, ``caseload.v1.<self>.referral-assigned``),
reads only events addressed *to* itself (``referral.v1.*.<self>.>``, through its own
durable consumer), writes only its own directory key (``$KV.directory.<self>``), and puts
files into the other agencies' attachments buckets but reads and deletes only in its own.
The notifications and audit services read every event; only notifications reads the
caseload notices (stream CASELOAD: who works on a referral is no business of the audit). Only ``admin``, the network's
operator, creates, changes, purges or deletes streams and the directory bucket; the others
may only read a stream's configuration and run their own consumers. Passwords are not
written to the file: each is a variable that nats-server takes from its environment, so a
missing one stops the server instead of opening it. There is no anonymous user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from crocevia_common.messaging.connection import DEFAULT_INBOX_PREFIX
from crocevia_contracts.anchors import anchor_subject
from crocevia_contracts.caseload import caseload_subject
from crocevia_contracts.notices import ALL_NOTICES
from crocevia_contracts.stream import (
    CASELOAD,
    DEAD_LETTERS,
    DIRECTORY_BUCKET,
    NOTICES,
    REFERRAL_EVENTS,
    REPLAYS,
    attachments_stream,
)
from crocevia_contracts.subjects import (
    ALL_DEAD_LETTERS,
    ALL_REFERRAL_EVENTS,
    check_agency_id,
    dead_letter_subject,
    inbound_filter,
    replay_consumer,
    replay_subject,
)

ACCOUNT = "CROCEVIA"
SYSTEM_ACCOUNT = "SYS"
SERVICE_USERS = ("notifications", "audit")
OPERATOR = "admin"
SYSTEM_USER = "system"
DEFAULT_NODE_CONSUMER = "referrals-{agency}"

_KV_STREAM = f"KV_{DIRECTORY_BUCKET}"
_JS = "$JS.API"


@dataclass(frozen=True, slots=True)
class Permissions:
    """Subjects a user may publish to and subscribe to; a deny wins over an allow."""

    publish_allow: tuple[str, ...]
    subscribe_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    subscribe_deny: tuple[str, ...] = ()

    def may_publish(self, subject: str) -> bool:
        """Whether nats-server lets this user publish on ``subject``."""
        return _permitted(subject, self.publish_allow, self.publish_deny)

    def may_subscribe(self, subject: str) -> bool:
        """Whether nats-server lets this user subscribe to ``subject`` (which may hold
        wildcards: it must fall wholly inside an allowed pattern)."""
        return _permitted(subject, self.subscribe_allow, self.subscribe_deny)


@dataclass(frozen=True, slots=True)
class NatsUser:
    name: str
    permissions: Permissions | None = None  # None: everything
    password_variable: str = field(default="")

    def __post_init__(self) -> None:
        if not self.password_variable:
            object.__setattr__(self, "password_variable", password_variable(self.name))


def password_variable(user: str) -> str:
    """The environment variable holding ``user``'s password: ``CROCEVIA_NATS_PASSWORD_<USER>``."""
    return "CROCEVIA_NATS_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", user.upper())


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more tokens.

    ``subject`` may itself hold wildcards (a subscription); a wildcard in ``subject`` is
    covered only by the same or a wider wildcard in ``pattern``.
    """
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have):
            return False
        if have[i] == ">":
            return False
        if token != "*" and (have[i] == "*" or token != have[i]):
            return False
    return len(want) == len(have)


def _permitted(subject: str, allow: Iterable[str], deny: Iterable[str]) -> bool:
    if any(subject_matches(p, subject) for p in deny):
        return False
    return any(subject_matches(p, subject) for p in allow)


def own_inbox(user: str) -> str:
    """A user's reply subjects: services connecting as ``user`` use the inbox prefix
    ``_INBOX.<user>`` (``crocevia_common.messaging.connection``), so no user reads
    another's replies."""
    return f"{DEFAULT_INBOX_PREFIX}.{user}.>"


def _directory_reader() -> tuple[str, ...]:
    """Reading and watching the directory bucket (entries are public)."""
    return (
        f"{_JS}.STREAM.INFO.{_KV_STREAM}",
        f"{_JS}.STREAM.MSG.GET.{_KV_STREAM}",
        f"{_JS}.DIRECT.GET.{_KV_STREAM}",
        f"{_JS}.DIRECT.GET.{_KV_STREAM}.>",
        f"{_JS}.CONSUMER.CREATE.{_KV_STREAM}",
        f"{_JS}.CONSUMER.CREATE.{_KV_STREAM}.>",
        f"{_JS}.CONSUMER.INFO.{_KV_STREAM}.*",
        f"{_JS}.CONSUMER.DELETE.{_KV_STREAM}.*",
        f"$JS.FC.{_KV_STREAM}.>",
    )


def _attachments(agency: str) -> tuple[str, ...]:
    """Putting a file into any agency's attachments bucket (its chunks and meta, published
    without reading the bucket); reading and deleting objects only in its own."""
    own = attachments_stream(agency).name
    return (
        "$O.*.C.>",
        "$O.*.M.>",
        f"{_JS}.STREAM.INFO.{own}",
        f"{_JS}.STREAM.MSG.GET.{own}",
        f"{_JS}.STREAM.NAMES",  # an object's chunks are read by subject
        f"{_JS}.CONSUMER.CREATE.{own}",
        f"{_JS}.CONSUMER.CREATE.{own}.>",
        f"{_JS}.CONSUMER.INFO.{own}.*",
        f"{_JS}.CONSUMER.DELETE.{own}.*",
        f"{_JS}.STREAM.PURGE.{own}",  # an object deleted once its node kept the file
        f"$JS.FC.{own}.>",
    )


def agency_permissions(agency_id: str, consumer: str) -> Permissions:
    """What the node of ``agency_id`` may do, its durable consumer being named ``consumer``.

    The consumer may only be created with the node's own inbound filter: the filter is
    part of the create subject (``$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>``) and
    nats-server refuses a request whose body names another filter.
    """
    agency = check_agency_id(agency_id)
    events = REFERRAL_EVENTS.name
    publish = (
        f"referral.v1.{agency}.*.>",
        anchor_subject(agency),
        caseload_subject(agency),
        dead_letter_subject(consumer),
        f"$KV.{DIRECTORY_BUCKET}.{agency}",
        f"{_JS}.INFO",
        # A node checks the streams' configuration at start; the operator creates them.
        *(f"{_JS}.STREAM.INFO.{s}" for s in (events, DEAD_LETTERS.name, NOTICES.name, CASELOAD.name, REPLAYS.name)),
        f"{_JS}.CONSUMER.CREATE.{events}.{consumer}.{inbound_filter(agency)}",
        f"{_JS}.CONSUMER.INFO.{events}.{consumer}",
        f"{_JS}.CONSUMER.MSG.NEXT.{events}.{consumer}",
        f"$JS.ACK.{events}.{consumer}.>",
        # Its dead letters the operator puts back, and only those.
        f"{_JS}.CONSUMER.CREATE.{REPLAYS.name}.{replay_consumer(consumer)}.{replay_subject(consumer)}",
        f"{_JS}.CONSUMER.INFO.{REPLAYS.name}.{replay_consumer(consumer)}",
        f"{_JS}.CONSUMER.MSG.NEXT.{REPLAYS.name}.{replay_consumer(consumer)}",
        f"$JS.ACK.{REPLAYS.name}.{replay_consumer(consumer)}.>",
        *_directory_reader(),
        *_attachments(agency),
    )
    return Permissions(publish_allow=publish, subscribe_allow=(inbound_filter(agency), own_inbox(agency)))


# What each service announces besides dead letters (core NATS wake-ups included).
SERVICE_PUBLISHES = {
    "notifications": (ALL_NOTICES, "notifications.inbox.changed"),
    "audit": ("audit.v1.>",),
}
# What a service may not read of a stream the others use: the audit never reads CASELOAD
# (who works on a referral is no business of the trail), though it checks the stream's
# configuration at start like every service.
SERVICE_DENIES = {
    "audit": tuple(
        f"{_JS}.{api}"
        for api in (
            f"CONSUMER.*.{CASELOAD.name}",  # CREATE.<stream>: an ephemeral consumer
            f"CONSUMER.*.{CASELOAD.name}.>",  # CREATE.<stream>.<name>...
            f"CONSUMER.*.*.{CASELOAD.name}.>",  # MSG.NEXT.<stream>.<name>, DURABLE.CREATE...
            f"STREAM.MSG.GET.{CASELOAD.name}",
            f"DIRECT.GET.{CASELOAD.name}",
            f"DIRECT.GET.{CASELOAD.name}.>",
        )
    ),
}
# The directory key each service writes (its public key, published like an agency's).
SERVICE_DIRECTORY_KEYS = {"notifications": "service.notifications"}
# Stream changes only the operator makes (creating one included: a stream created by
# someone else could be weaker than the contracts' spec).
OPERATOR_ONLY = tuple(
    f"{_JS}.STREAM.{action}.>" for action in ("CREATE", "UPDATE", "DELETE", "PURGE", "MSG.DELETE", "RESTORE")
)


def service_permissions(name: str = "audit") -> Permissions:
    """What the notifications and audit services may do: read every event, notice and dead
    letter, run their own consumers, publish their own announcements and write their own
    directory key, never publish an agency's event nor create or change a stream."""
    own = SERVICE_PUBLISHES.get(name, ())
    key = SERVICE_DIRECTORY_KEYS.get(name)
    directory = (f"$KV.{DIRECTORY_BUCKET}.{key}",) if key else ()
    return Permissions(
        publish_allow=(f"{_JS}.>", "$JS.ACK.>", "$JS.FC.>", ALL_DEAD_LETTERS, *own, *directory),
        publish_deny=(*OPERATOR_ONLY, *SERVICE_DENIES.get(name, ())),
        subscribe_allow=(ALL_REFERRAL_EVENTS, ALL_NOTICES, ALL_DEAD_LETTERS, own_inbox(name), *own),
    )


def network_users(agency_ids: Iterable[str], node_consumer: str = DEFAULT_NODE_CONSUMER) -> list[NatsUser]:
    """Every user of the network: one per agency (in id order), the services, and the
    operator's ``admin`` user with no restriction (it creates the streams)."""
    users = [
        NatsUser(agency, agency_permissions(agency, node_consumer.format(agency=agency)))
        for agency in sorted(set(agency_ids))
    ]
    users += [NatsUser(name, service_permissions(name)) for name in SERVICE_USERS]
    users.append(NatsUser(OPERATOR))
    return users


def password_users(agency_ids: Iterable[str], node_consumer: str = DEFAULT_NODE_CONSUMER) -> list[str]:
    """Every user nats-server needs a password for: the network's and the system user."""
    return [user.name for user in network_users(agency_ids, node_consumer)] + [SYSTEM_USER]


def _subject_list(key: str, subjects: Iterable[str], indent: str) -> list[str]:
    return [f"{indent}{key}: [", *(f'{indent}  "{s}"' for s in subjects), f"{indent}]"]


def _render_user(user: NatsUser) -> list[str]:
    lines = ["      {", f'        user: "{user.name}"', f"        password: ${user.password_variable}"]
    p = user.permissions
    if p is not None:
        pad = " " * 12
        lines += ["        permissions: {", "          publish: {"]
        lines += _subject_list("allow", p.publish_allow, pad)
        if p.publish_deny:
            lines += _subject_list("deny", p.publish_deny, pad)
        lines += ["          }", "          subscribe: {"]
        lines += _subject_list("allow", p.subscribe_allow, pad)
        if p.subscribe_deny:
            lines += _subject_list("deny", p.subscribe_deny, pad)
        lines += ["          }", "        }"]
    lines.append("      }")
    return lines


def render_accounts(users: Iterable[NatsUser]) -> str:
    """A nats-server configuration fragment (``include``-able) defining the Crocevia
    account with JetStream, its users, and the system account."""
    system = NatsUser(SYSTEM_USER)
    lines = [
        "# Generated by `crocevia nats-accounts` from the agency registry: do not edit.",
        "# Regenerate with: uv run crocevia nats-accounts --output deploy/nats/accounts.conf",
        "# Each $CROCEVIA_NATS_PASSWORD_* must be set in the environment of nats-server.",
        "accounts {",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users: [",
    ]
    for user in users:
        lines += _render_user(user)
    lines += [
        "    ]",
        "  }",
        f"  {SYSTEM_ACCOUNT} {{",
        f'    users: [{{ user: "{system.name}", password: ${system.password_variable} }}]',
        "  }",
        "}",
        f"system_account: {SYSTEM_ACCOUNT}",
    ]
    return "\n".join(lines) + "\n"


def accounts_config(agency_ids: Iterable[str], node_consumer: str = DEFAULT_NODE_CONSUMER) -> str:
    """The whole accounts file for a network of ``agency_ids``."""
    return render_accounts(network_users(agency_ids, node_consumer))
