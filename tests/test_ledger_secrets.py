"""The ledger never holds a raw secret: only rule, kind, keyed fingerprint and count; malformed records are refused."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone
from pathlib import Path

import pytest

from _ledger_support import make_record
from clientguard.detect import Detector, select_non_overlapping
from clientguard.ledger import EgressRecord, Ledger, LedgerError, key_path_for


def _canary_aws_key() -> str:
    # Generated at test time: shaped like an AWS access key id, valid for nothing.
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _ledger_bytes(path: Path) -> bytes:
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), key_path_for(path)]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def test_a_planted_secret_and_email_never_reach_the_ledger_file(tmp_path: Path) -> None:
    key = _canary_aws_key()
    email = f"canary.{secrets.token_hex(4)}@acme-health.de"
    text = f'aws_access_key_id = "{key}"\n# owner: {email}\nprint("Project Bluebird")\n'
    det = Detector.create(identifiers=["Project Bluebird"], fingerprint_key=secrets.token_bytes(32))
    findings = select_non_overlapping(det.scan(text))
    assert {text[f.start:f.end] for f in findings} >= {key, email}
    counts: dict[tuple[str, str, str], int] = {}
    for f in findings:
        counts[(f.rule_id, f.kind, f.fingerprint)] = counts.get((f.rule_id, f.kind, f.fingerprint), 0) + 1
    record = make_record(
        0, redactions=[{"rule_id": r, "kind": k, "fingerprint": fp, "count": n} for (r, k, fp), n in counts.items()]
    )
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as led:
        led.append(record)
        assert {r["kind"] for r in led.records()[0].redactions} >= {"secret", "pii", "identifier"}
    raw = _ledger_bytes(path)
    for value in (key, email, "Project Bluebird"):
        assert value.encode() not in raw
        assert value.encode("utf-16-le") not in raw


def test_a_redaction_carrying_the_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"redactions\[0\].*unexpected key\(s\) value"):
        make_record(0, redactions=[{"rule_id": "aws", "kind": "secret", "fingerprint": "ab" * 16, "count": 1,
                                    "value": "AKIAFAKEFAKEFAKE0000"}])


def test_a_fingerprint_that_is_not_a_keyed_hash_is_refused() -> None:
    with pytest.raises(LedgerError, match="fingerprint must be a lowercase hex"):
        make_record(0, redactions=[{"rule_id": "aws", "kind": "secret", "fingerprint": "AKIAFAKEFAKEFAKE0000", "count": 1}])


def test_prompt_is_absent_unless_given() -> None:
    assert make_record(0).prompt is None
    assert make_record(0).to_dict()["prompt"] is None


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(LedgerError, match="no time zone"):
        make_record(0, ts=datetime(2026, 11, 2, 9, 0))


def test_timestamps_are_stored_in_utc() -> None:
    from datetime import timedelta

    rec = make_record(0, ts=datetime(2026, 11, 2, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    assert rec.ts == "2026-11-02T09:00:00.000000Z"


def test_a_negative_byte_count_is_refused() -> None:
    with pytest.raises(LedgerError, match="bytes_sent"):
        make_record(0, bytes_sent=-1)


def test_a_request_hash_must_be_sha256_hex() -> None:
    with pytest.raises(LedgerError, match="request_sha256"):
        make_record(0, request_sha256="not-a-hash")


def test_unknown_fields_are_refused_when_reading_back() -> None:
    data = make_record(0).to_dict()
    data["raw_body"] = "..."
    with pytest.raises(LedgerError, match="unknown field"):
        EgressRecord.from_dict(data)


def test_append_refuses_anything_but_a_record(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as led, pytest.raises(LedgerError, match="expects an EgressRecord"):
        led.append({"client": "x"})  # type: ignore[arg-type]


def test_a_ledger_opened_without_its_key_cannot_be_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Ledger.open(path).close()
    key_path_for(path).unlink()
    with Ledger.open(path, require_key=False) as led, pytest.raises(LedgerError, match="without its key"):
        led.append(make_record(0))


def test_an_unwritable_ledger_raises_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as led:
        led.append(make_record(0))
        # Another connection holds the write lock for longer than append waits.
        import sqlite3

        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        led._conn.execute("PRAGMA busy_timeout = 200")
        try:
            with pytest.raises(LedgerError, match="cannot write to ledger"):
                led.append(make_record(1))
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert led.append(make_record(2)) == 2
