"""The pages' session cookie: signed, ended by inactivity or by its lifetime, its forms'
token stable while page views renew it."""

from __future__ import annotations

import pytest

from crocevia_common.auth import Principal, Role
from crocevia_common.web.session_cookie import MAX_COOKIE, SessionRefused, Sessions

ADA = Principal(sub="ada", agency="cpia2", roles=frozenset({Role.OPERATOR}))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def sessions(clock: Clock, key: bytes = b"k" * 32) -> Sessions:
    return Sessions(key, idle_seconds=30 * 60, lifetime_seconds=8 * 3600, clock=clock)


def test_a_session_reads_back_as_the_same_person():
    kept = sessions(Clock())
    session = kept.start(ADA, "oidc", bearer="token")
    assert kept.read(kept.encode(session)) == session and session.principal == ADA


def test_a_session_ends_after_the_idle_time_unless_renewed_and_after_its_lifetime_anyway():
    clock = Clock()
    kept = sessions(clock)
    session = kept.start(ADA, "oidc")
    clock.now += 29 * 60
    session = kept.read(kept.encode(kept.renewed(session)))
    clock.now += 29 * 60
    assert kept.read(kept.encode(session)) == session  # 58 minutes in, 29 since the last view
    clock.now += 2 * 60
    with pytest.raises(SessionRefused, match="expired"):
        kept.read(kept.encode(session))
    for _ in range(16):  # busy all day, a view every half hour: still 8 hours at most
        session = kept.renewed(session)
        clock.now += 29 * 60
    with pytest.raises(SessionRefused, match="expired"):
        kept.read(kept.encode(session))


@pytest.mark.parametrize("change", [lambda v: v[:-2] + "AA", lambda v: "e30" + v[3:], lambda v: v.split(".")[0]])
def test_a_cookie_changed_by_anyone_but_the_service_is_invalid(change):
    kept = sessions(Clock())
    with pytest.raises(SessionRefused, match="invalid"):
        kept.read(change(kept.encode(kept.start(ADA, "dev"))))


def test_a_session_of_another_key_is_invalid():
    clock = Clock()
    theirs = sessions(clock, b"x" * 32)
    with pytest.raises(SessionRefused, match="invalid"):
        sessions(clock).read(theirs.encode(theirs.start(ADA, "oidc")))


def test_the_form_token_stays_while_the_session_is_renewed_and_differs_between_sessions():
    clock = Clock()
    kept = sessions(clock)
    session = kept.start(ADA, "oidc")
    clock.now += 60
    assert kept.form_token(kept.renewed(session)) == kept.form_token(session)
    assert kept.form_token(kept.start(ADA, "oidc")) != kept.form_token(session)


def test_a_bearer_too_large_for_a_cookie_is_left_out_and_the_session_kept():
    kept = sessions(Clock())
    value = kept.encode(kept.start(ADA, "oidc", bearer="t" * 2900))
    assert len(value) <= MAX_COOKIE and kept.read(value).bearer is None
