"""bench/pii.py runs end to end: Faker's personal data in many locales, look-alike numbers, and the peer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "pii.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_pii_bench_reports_recall_per_kind_and_flags_on_look_alikes() -> None:
    done = _run("--per-locale", "8", "--negatives", "180", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ours, peer = report["clientguard"], report["phonenumbers"]
    assert set(ours) == {"phone", "email", "card", "iban", "ssn", "ipv4", "ipv6", "none"}
    assert set(peer) == {"phone", "none"}  # the peer finds phone numbers only
    assert ours["phone"]["total"] == 8 * report["locales"] == peer["phone"]["total"]
    assert ours["none"]["total"] == 180
    for row in (*ours.values(), *peer.values()):
        assert 0 <= row["hits"] <= row["total"] and row["rate"] == row["hits"] / row["total"]
    # Seeded, so these are fixed facts about this sample, not timing.
    assert ours["email"]["rate"] == 1.0 and ours["ssn"]["rate"] == 1.0
    assert ours["none"]["hits"] <= 2, report["negative_shapes_flagged"]
    assert len(report["phone_by_locale"]) == report["locales"]
    assert all(0 <= rate <= 1 for rate in report["phone_by_locale"].values())


def test_pii_bench_table_names_the_peer_and_lists_misses() -> None:
    done = _run("--per-locale", "3", "--negatives", "36", "--misses", "2")
    assert done.returncode == 0, done.stderr
    assert "phonenumbers matcher" in done.stdout and "look-alikes" in done.stdout
    assert done.stdout.count("missed [") <= 2
