"""The pages' strings exist in Italian and English, and each request gets its language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crocevia_common.web.i18n import Translator, accepted_languages, negotiate, strings

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = [
    *ROOT.glob("common/src/crocevia_common/web/templates/*.html"),
    *ROOT.glob("services/*/src/crocevia_*/entrypoints/templates/*.html"),
]
SOURCES = [
    *ROOT.glob("common/src/crocevia_common/web/*.py"),
    *ROOT.glob("services/*/src/crocevia_*/entrypoints/web*.py"),
    *ROOT.glob("services/*/src/crocevia_*/entrypoints/web/*.py"),
]
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z][\w.-]*)["']""")


def test_every_string_has_italian_and_english() -> None:
    incomplete = [key for key, text in strings().items() if set(text) != {"it", "en"} or not all(text.values())]
    assert incomplete == []


def test_every_key_the_pages_ask_for_exists() -> None:
    assert TEMPLATES and SOURCES
    asked = {key for path in TEMPLATES + SOURCES for key in LITERAL_KEY.findall(path.read_text())}
    whole = {key for key in asked if not key.endswith((".", "-"))}
    prefixes = asked - whole  # t("done." ~ action): some key must start so
    assert sorted(whole - set(strings())) == []
    assert [p for p in sorted(prefixes) if not any(key.startswith(p) for key in strings())] == []


def test_placeholders_are_the_same_in_both_languages() -> None:
    names = re.compile(r"\{(\w+)\}")
    differ = [
        key for key, text in strings().items() if set(names.findall(text["it"])) != set(names.findall(text["en"]))
    ]
    assert differ == []


@pytest.mark.parametrize(
    ("asked", "remembered", "header", "expected"),
    [
        ("en", "it", "it-IT", "en"),  # the switch wins
        (None, "en", "it-IT", "en"),  # then what was chosen before
        (None, None, "fr-FR,en;q=0.8,it;q=0.9", "it"),  # then the browser, by weight
        (None, None, "de-DE", "it"),  # else Italian
        ("xx", None, "en-GB", "en"),  # an unknown switch is ignored
    ],
)
def test_the_language_is_the_switch_then_the_cookie_then_the_browser(asked, remembered, header, expected) -> None:
    assert negotiate(asked, remembered, header) == expected


def test_accept_language_is_read_by_quality() -> None:
    assert accepted_languages("en;q=0.5, it-IT, fr;q=0") == ["it", "en"]


def test_codes_fall_back_to_themselves_and_times_are_local() -> None:
    t = Translator("en")
    assert t.code("status", "in-progress") == "in progress"
    assert t.code("status", "brand-new") == "brand-new"
    assert Translator("it").time(datetime(2026, 1, 15, 9, 30, tzinfo=UTC)) == "15/01/2026 10:30"
    assert t.hours(120) == "5 days" and t.hours(4.0) == "4 h" and t.duration(42) == "42 s"


def test_targets_counted_in_working_days_say_so() -> None:
    it, en = Translator("it"), Translator("en")
    assert it.within(24, "working-days") == "1 giorno lavorativo"
    assert it.within(120, "working-days") == "5 giorni lavorativi"
    assert en.within(120, "working-days") == "5 working days"
    assert en.within(12, "working-days") == "12 working hours"
    assert en.within(120, "clock") == en.within(120) == "5 days"
    assert en.within(None, "working-days") == "—"
