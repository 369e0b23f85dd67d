"""Credentials stay out of logs and spans even when a client puts one in a URL, and so do
the words of a search for a person (``?person=``), also inside another parameter (``next=``).

The services read tokens from the ``Authorization`` header and the pages' cookie only, but
a client may still send ``?access_token=...``: the access log and the HTTP span would then
keep it. Both see the URL through :func:`redact`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from opentelemetry.trace import Span

REDACTED = "REDACTED"
# Query parameters that carry credentials, by name (``code``: an OpenID provider's
# authorization code, on the way back to the single sign-on's callback).
CREDENTIAL_PARAMS = (
    "access_token",
    "id_token",
    "refresh_token",
    "token",
    "jwt",
    "authorization",
    "api_key",
    "apikey",
    "code",
    "code_verifier",
)
_PARAM = re.compile(rf"(?i)((?:^|[?&;])(?:{'|'.join(CREDENTIAL_PARAMS)})=)[^&;#\s\"']*")
# Query parameters that carry personal details (a person search), plain or percent-encoded.
PERSONAL_PARAMS = ("person",)
_PERSONAL = re.compile(rf"(?i)((?:^|[?&;]|%3F|%26)(?:{'|'.join(PERSONAL_PARAMS)})(?:=|%3D))(?:(?!%26|%23)[^&;#\s\"'])*")
# A JWT anywhere (also percent-encoded inside another parameter, e.g. ``next=``).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    """``text`` (a URL, a path with its query, a log line) with credentials and personal
    search words replaced."""
    return _JWT.sub(REDACTED, _PERSONAL.sub(rf"\g<1>{REDACTED}", _PARAM.sub(rf"\g<1>{REDACTED}", text)))


def without_credentials(query: str) -> str:
    """A query string without the parameters that carry credentials (for a URL this
    service hands back, such as the page to return to after signing in)."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() not in CREDENTIAL_PARAMS]
    return urlencode(kept)


def redact_span(span: Span, _scope: Mapping[str, Any] | None = None) -> None:
    """A server request hook: rewrite the span's URL attributes (``http.url``, ``url.full``,
    ``http.target``, ``url.query``...) that hold a credential."""
    if not span.is_recording():
        return
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for key, value in list(attributes.items()):
        if isinstance(value, str) and (clean := redact(value)) != value:
            span.set_attribute(key, clean)


class _RedactArguments(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


_ACCESS_FILTER = _RedactArguments()


def redact_access_log(logger_name: str = "uvicorn.access") -> None:
    """Make the server's access log write URLs through :func:`redact` (once per process)."""
    logger = logging.getLogger(logger_name)
    if _ACCESS_FILTER not in logger.filters:
        logger.addFilter(_ACCESS_FILTER)
