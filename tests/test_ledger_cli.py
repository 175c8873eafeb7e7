"""`clientguard ledger verify` and `clientguard ledger show`, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _ledger_support import fill, make_record, raw
from clientguard.ledger import Ledger, default_ledger_path


def cg(*args: str, cwd: Path | None = None, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if data_dir is not None:
        env["CLIENTGUARD_HOME"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "clientguard.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "acme.sqlite"
    led = fill(path, 5)
    led.append(make_record(5, verdict="block"))
    led.close()
    return path


def test_verify_exits_0_and_prints_the_count(ledger_path: Path) -> None:
    res = cg("ledger", "verify", "--ledger", str(ledger_path))
    assert res.returncode == 0, res.stderr
    assert "ledger OK" in res.stdout and "6 entries" in res.stdout


def test_verify_exits_1_and_names_the_first_bad_entry(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        db.execute("DELETE FROM entries WHERE seq=3")
    res = cg("ledger", "verify", "--ledger", str(ledger_path))
    assert res.returncode == 1
    assert "BROKEN at entry 3 (deleted)" in res.stdout


def test_verify_json_reports_the_problem(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        db.execute("DELETE FROM entries WHERE seq>=5")
    res = cg("ledger", "verify", "--ledger", str(ledger_path), "--format", "json")
    assert res.returncode == 1
    data = json.loads(res.stdout)
    assert data["ok"] is False
    assert data["problem"]["seq"] == 5 and data["problem"]["kind"] == "truncated"


def test_verify_accepts_an_anchor_printed_earlier(ledger_path: Path) -> None:
    first = cg("ledger", "verify", "--ledger", str(ledger_path))
    anchor = first.stdout.split("head: ")[1].split()[0]
    res = cg("ledger", "verify", "--ledger", str(ledger_path), "--anchor", anchor)
    assert res.returncode == 0 and "anchor holds" in res.stdout


def test_verify_missing_ledger_exits_2_without_traceback(tmp_path: Path) -> None:
    res = cg("ledger", "verify", "--ledger", str(tmp_path / "missing.sqlite"))
    assert res.returncode == 2
    assert "no ledger at" in res.stderr and "Traceback" not in res.stderr


def test_verify_a_malformed_anchor_exits_2(ledger_path: Path) -> None:
    res = cg("ledger", "verify", "--ledger", str(ledger_path), "--anchor", "five")
    assert res.returncode == 2 and "SEQ:HASH" in res.stderr


def test_verify_by_client_name_uses_the_default_ledger_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "home"
    monkeypatch.setenv("CLIENTGUARD_HOME", str(data_dir))
    path = default_ledger_path("Acme Health")
    assert path == data_dir / "ledgers" / "acme-health.sqlite"
    fill(path, 2).close()
    res = cg("ledger", "verify", "--client", "Acme Health", data_dir=data_dir)
    assert res.returncode == 0, res.stderr
    assert "2 entries" in res.stdout


def test_show_json_lists_entries_with_sequence_and_hash(ledger_path: Path) -> None:
    res = cg("ledger", "show", "--ledger", str(ledger_path), "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[5]["verdict"] == "block"
    assert all(len(r["hash"]) == 64 for r in rows)


def test_show_since_filters_by_time(ledger_path: Path) -> None:
    # make_record spaces entries 3 h apart from 2026-11-02T09:00Z: entries 5 and 6 are at 21:00 and 00:00.
    res = cg("ledger", "show", "--ledger", str(ledger_path), "--format", "json", "--since", "2026-11-02T20:00:00Z")
    assert res.returncode == 0, res.stderr
    assert [r["seq"] for r in json.loads(res.stdout)] == [5, 6]


def test_show_until_a_date_includes_that_whole_day(ledger_path: Path) -> None:
    res = cg("ledger", "show", "--ledger", str(ledger_path), "--format", "json", "--until", "2026-11-02")
    assert [r["seq"] for r in json.loads(res.stdout)] == [1, 2, 3, 4, 5]


def test_show_until_a_time_excludes_that_moment(ledger_path: Path) -> None:
    res = cg("ledger", "show", "--ledger", str(ledger_path), "--format", "json", "--until", "2026-11-02T18:00:00Z")
    assert [r["seq"] for r in json.loads(res.stdout)] == [1, 2, 3]


def test_show_table_lists_verdicts(ledger_path: Path) -> None:
    res = cg("ledger", "show", "--ledger", str(ledger_path))
    assert res.returncode == 0
    assert "block" in res.stdout and "allow" in res.stdout and "6 entries" in res.stdout


def test_show_bad_date_exits_2_naming_the_option(ledger_path: Path) -> None:
    res = cg("ledger", "show", "--ledger", str(ledger_path), "--since", "last tuesday")
    assert res.returncode == 2 and "--since" in res.stderr


def test_show_bad_format_exits_2(ledger_path: Path) -> None:
    res = cg("ledger", "show", "--ledger", str(ledger_path), "--format", "xml")
    assert res.returncode == 2 and "--format" in res.stderr


def test_show_reads_a_ledger_copied_without_its_key(ledger_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy" / "acme.sqlite"
    copy.parent.mkdir()
    with Ledger.open(ledger_path) as led, raw(copy) as dst:
        led._conn.backup(dst)
    res = cg("ledger", "show", "--ledger", str(copy), "--format", "json")
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) == 6
