"""The README's walkthrough runs as written against a network started as ``make up`` does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECTIONS = (
    "Try it",
    "Trust",
    "Notifications",
    "Audit and indicators",
    "Witnesses",
    "Household pathways",
    "Messages and attachments",
    "Data protection officers",
    "Backup and restore",
)


def readme_script(data_dir: Path) -> str:
    text = (ROOT / "README.md").read_text()
    blocks = []
    for title in SECTIONS:
        section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
        blocks += re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    script = "\n".join(blocks)
    script = script.replace(".data/network.json", str(data_dir / "network.json"))
    script = script.replace("--data-dir .data", f"--data-dir {data_dir}")
    return script.replace("uv run crocevia", str(BIN / "crocevia"))


@pytest.mark.timeout(600)  # the script's own limit below, and the network's start and stop
def test_the_readme_walkthrough_runs_and_shows_what_it_promises(network, tmp_path):
    script = readme_script(network["_data"])
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,  # generous: a loaded 2-core machine runs the same script several times slower
        env={**os.environ, "CROCEVIA_AUTH_DEV_KEY_FILE": network["_key"], "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    out = done.stdout
    print(out, done.stderr)
    assert done.returncode == 0, done.stderr
    assert '"received"' in out
    assert '"given_name": "Amina"' in out
    assert "org.crocevia.referral.requested.v1" in out and "org.crocevia.referral.received.v1" in out
    assert '"info-requested"' in out and '"why":["answer"]' in out and "\n{}\n" in out  # asked, waited, answered
    assert '"completed"' in out
    assert out.count('"waitlist"') >= 2  # changed by cpia2's supervisor, seen at pioltello-casa
    assert re.search(r"OK: referral \S+: requested at \S+ and received at \S+, in the trail of \d+ entries", out)
    steps = ["requested", "received", "info-requested", "info-provided", "accepted", "in-progress", "completed"]
    assert ",\n  ".join(f'"{step}"' for step in steps) in out
    assert '"assignee": "ahmed.saleh"' in out and '[\n  "completed"\n]' in out  # assigned, then found
    assert '"secret": "whsec_' in out
    assert '"previous_secret_until": "20' in out  # rotated: the old secret signs for a while
    assert '"enabled": true' in out
    # The referral's 7 events, and the nodes' anchors of their access logs.
    recomputed = re.search(r"OK: (\d+) entries recompute to the signed roots", out)
    assert recomputed and int(recomputed.group(1)) >= 7
    assert '"first_mismatch": null' in out
    assert "— witness.crocevia.localhost/dev " in out
    assert "signed by its log and cosigned by at least 1 of its 1 witnesses" in out
    assert "service.notifications" in out and '"outbox": true' in out
    assert '"lead_agency": "pioltello-casa"' in out and '"receiver_agency": "prefettura-mediazione"' in out
    assert '["id","referral_id"]' in out  # a message with a file, written
    thread = '{"text":"Her ISEE certificate is attached.","read_at":null,'
    assert thread + '"files":[{"name":"isee.pdf","media_type":"application/pdf"}]}' in out
    assert "same bytes" in out and '{"marked":1}' in out and "/problems/attachment-type" in out
    assert '"purpose": "own-request"' in out and '"org.crocevia.access-log-anchored.v1"' in out
    assert re.search(r'\{"referrals":\["[^"]+"\],"reads":\d+\}', out)  # Amina's access request
    assert '"broken_at": null' in out and "\n403\n" in out  # an operator may not read the log
    assert "referrals-cpia2.db" in out and "audit.db" in out  # the backup's lines
