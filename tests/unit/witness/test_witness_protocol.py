"""The add-checkpoint request body (c2sp.org/tlog-witness): ``old <size>``, up to 63 proof
lines of base64 hashes, a blank line, the checkpoint; anything else is malformed."""

from __future__ import annotations

import base64

import pytest

from crocevia_common.tlog.witness_protocol import (
    MalformedSubmission,
    Submission,
    origin_hash,
    parse_size_body,
    parse_submission,
    size_body,
)
from tests.kit.trail_log import TrailLog

HASH = base64.b64encode(bytes(range(32))).decode()
NOTE = TrailLog().grow(3).checkpoint()


def test_the_spec_example_parses() -> None:
    body = (
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "— example.com/behind-the-sofa "
        "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    )
    submission = parse_submission(body.encode())
    assert submission.old_size == 20852014
    assert [base64.b64encode(h).decode()[:4] for h in submission.proof] == ["PlRN", "jrJZ", "5+pK", "/6WV"]
    assert submission.note.startswith("example.com/behind-the-sofa\n20852163\n")
    assert submission.body() == body.encode()


def test_a_request_laid_out_by_a_log_round_trips() -> None:
    log = TrailLog().grow(9)
    body = log.add_checkpoint(old=4)
    submission = parse_submission(body)
    assert submission == Submission(4, tuple(log.proof(4)), submission.note)
    assert submission.body() == body


def test_from_the_empty_tree_there_are_no_proof_lines() -> None:
    submission = parse_submission(f"old 0\n\n{NOTE}".encode())
    assert (submission.old_size, submission.proof, submission.note) == (0, (), NOTE)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"old 01\n\n{NOTE}", "without leading zeroes"),
        (f"old -1\n\n{NOTE}", "without leading zeroes"),
        (f"old 9223372036854775808\n\n{NOTE}", "without leading zeroes"),
        (f"old\n\n{NOTE}", "starts with the line"),
        (f"new 3\n\n{NOTE}", "starts with the line"),
        (f"old 3\n{HASH}\n", "no blank line"),
        (f"old 3\n{HASH[:-1]}\n\n{NOTE}", "not standard base64"),
        (f"old 3\n{base64.b64encode(bytes(31)).decode()}\n\n{NOTE}", "not a 32-byte hash"),
        (f"old 3\n{HASH}\r\n\n{NOTE}", "base64"),
        ("old 3\n" + f"{HASH}\n" * 64 + f"\n{NOTE}", "at most 63 lines"),
    ],
    ids=[
        "leading zero",
        "negative",
        "above 2^63-1",
        "no size",
        "not old",
        "no checkpoint",
        "bad base64",
        "short hash",
        "carriage return",
        "64 proof lines",
    ],
)
def test_a_malformed_body_is_refused_with_the_reason(body: str, reason: str) -> None:
    with pytest.raises(MalformedSubmission, match=reason):
        parse_submission(body.encode())


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(MalformedSubmission, match="UTF-8"):
        parse_submission(b"old 0\n\n\xff\xfe")


def test_sixty_three_proof_lines_are_accepted() -> None:
    assert len(parse_submission(("old 3\n" + f"{HASH}\n" * 63 + f"\n{NOTE}").encode()).proof) == 63


def test_the_conflict_answer_is_the_size_and_a_newline() -> None:
    assert size_body(1234) == "1234\n"
    assert parse_size_body(b"1234\n") == 1234
    for wrong in (b"1234", b"01\n", b"twelve\n"):
        with pytest.raises(MalformedSubmission):
            parse_size_body(wrong)


def test_a_log_is_named_by_the_lowercase_hex_sha256_of_its_origin() -> None:
    # `printf %s example.com/behind-the-sofa | sha256sum`
    assert origin_hash("example.com/behind-the-sofa") == (
        "5fd2dc0beb4ce54da5050cf6d5c75248b023abad441c3cecde3976fbe9da4fe4"
    )
