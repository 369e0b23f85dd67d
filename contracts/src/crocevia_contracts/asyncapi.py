"""The AsyncAPI 3.1 document of the referral events, generated from the models.

``uv run python -m crocevia_contracts.asyncapi`` writes ``contracts/asyncapi.json``; a test
fails while the file differs from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crocevia_contracts.anchors import ACCESS_LOG_ANCHORED, ANCHOR_TYPE
from crocevia_contracts.caseload import CASELOAD_PREFIX, REFERRAL_ASSIGNED, CaseloadEnvelope
from crocevia_contracts.envelope import CONTENT_TYPE
from crocevia_contracts.events import EVENT_MODELS
from crocevia_contracts.notices import NoticeKind
from crocevia_contracts.stream import (
    AUDIT_ANOMALY_SUBJECT,
    AUDIT_CHECKPOINT_SUBJECT,
    AUDIT_GAP_CLOSED_SUBJECT,
    AUDIT_GAP_SUBJECT,
    CASELOAD,
    DEAD_LETTERS,
    REFERRAL_EVENTS,
)

DOCUMENT = Path(__file__).resolve().parents[2] / "asyncapi.json"
# The JSON Schemas, by their path beside this document (contracts/schemas/), which every
# tool resolves: the document and the schemas travel together.
SCHEMAS = "./schemas/"


def build() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, model in EVENT_MODELS.items():
        key = name.value.replace("-", "_")
        messages[key] = {
            "name": name.event_type,
            "title": name.value,
            "summary": (model.__doc__ or name.value).strip().splitlines()[0],
            "contentType": CONTENT_TYPE,
            "payload": {
                "allOf": [{"$ref": SCHEMAS + "envelope.json"}],
                "properties": {
                    "type": {"const": name.event_type},
                    "data": {"$ref": f"{SCHEMAS}events/{name.value}.json"},
                },
            },
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": "the event id: JetStream deduplicates on it"},
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                },
            },
        }
        channels[key] = {
            "address": f"referral.v1.{{from}}.{{to}}.{name.value}",
            "parameters": {
                "from": {"description": "the agency that published the event"},
                "to": {"description": "the agency that must act on it"},
            },
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"send_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"A node publishes {name.value} through its outbox",
        }
    notices = [
        (
            kind.value,
            kind.event_type,
            "A referral waited past its response target (from the notifications service)",
            "notice-envelope.json",
            "the agency reminded or escalated to",
            f"The notifications service publishes a {kind.value}",
        )
        for kind in NoticeKind
    ]
    notices.append(
        (
            ACCESS_LOG_ANCHORED,
            ANCHOR_TYPE,
            "The head of an agency's access log (entries, SHA-256 of the last), from its node",
            "anchor-envelope.json",
            "the agency whose access log it anchors, its publisher",
            "A node publishes its access log's head through its outbox",
        )
    )
    for kind, event_type, summary, schema, agency, publishes in notices:
        key = "notice_" + kind.replace("-", "_")
        messages[key] = {
            "name": event_type,
            "title": f"notice {kind}",
            "contentType": CONTENT_TYPE,
            "summary": summary,
            "payload": {"$ref": SCHEMAS + schema},
        }
        channels[key] = {
            "address": f"notice.v1.{{agency}}.{kind}",
            "parameters": {"agency": {"description": agency}},
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"send_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}, "summary": publishes}
    messages["caseload_referral_assigned"] = {
        "name": CaseloadEnvelope.model_fields["type"].default,
        "title": f"caseload {REFERRAL_ASSIGNED}",
        "contentType": CONTENT_TYPE,
        "summary": "Who of its staff an agency assigned a referral to, for its notifications only",
        "payload": {"$ref": SCHEMAS + "caseload-envelope.json"},
    }
    channels["caseload_referral_assigned"] = {
        "address": f"{CASELOAD_PREFIX}.{{agency}}.{REFERRAL_ASSIGNED}",
        "parameters": {"agency": {"description": "the agency whose assignment it states, its publisher"}},
        "messages": {"caseload_referral_assigned": {"$ref": "#/components/messages/caseload_referral_assigned"}},
    }
    operations["send_caseload_referral_assigned"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/caseload_referral_assigned"},
        "summary": f"A node publishes an assignment through its outbox ({CASELOAD.name}: notifications only)",
    }
    for key, address, summary in (
        ("audit_checkpoint", AUDIT_CHECKPOINT_SUBJECT, "A signed checkpoint of the trail (C2SP signed note)"),
        ("audit_gap", AUDIT_GAP_SUBJECT, "A source's sequence stayed broken past the grace period"),
        ("audit_gap_closed", AUDIT_GAP_CLOSED_SUBJECT, "A late event filled an announced gap"),
        ("audit_anomaly", AUDIT_ANOMALY_SUBJECT, "A duplicate event id or a reused sequence number met by the audit"),
    ):
        messages[key] = {
            "name": address,
            "title": key.replace("_", " "),
            "summary": summary,
            "contentType": "text/plain" if key == "audit_checkpoint" else "application/json",
        }
        channels[key] = {"address": address, "messages": {key: {"$ref": f"#/components/messages/{key}"}}}
        operations[f"send_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}, "summary": summary}
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Crocevia referral events",
            "version": "1.0.0",
            "description": (
                f"Referral lifecycle events between agencies, CloudEvents 1.0 in structured mode, "
                f"held by the JetStream stream {REFERRAL_EVENTS.name} (subjects {', '.join(REFERRAL_EVENTS.subjects)}, "
                f"file storage, deduplication on Nats-Msg-Id within {REFERRAL_EVENTS.duplicate_window_seconds:.0f}s). "
                f"Messages no consumer can apply go to {DEAD_LETTERS.name} ({', '.join(DEAD_LETTERS.subjects)})."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    DOCUMENT.write_text(render())
    print(DOCUMENT)
