"""The hash chain: an intact ledger verifies; every kind of tampering is caught at the first bad entry."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from _ledger_support import fill, make_record, raw
from clientguard.ledger import Ledger, LedgerError, key_path_for
from clientguard.ledger.store import entry_hash
from clientguard.ledger.verify import verify_ledger


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "acme.sqlite"
    fill(path, 10).close()
    return path


def test_intact_chain_verifies_with_count_and_head(ledger_path: Path) -> None:
    result = verify_ledger(ledger_path)
    assert result.ok
    assert result.count == 10
    assert result.head_seq == 10
    assert result.authenticated


def test_empty_ledger_verifies(tmp_path: Path) -> None:
    Ledger.open(tmp_path / "empty.sqlite").close()
    result = verify_ledger(tmp_path / "empty.sqlite")
    assert result.ok and result.count == 0


def test_append_returns_consecutive_sequence_numbers(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as led:
        assert [led.append(make_record(i)) for i in range(3)] == [1, 2, 3]


def test_records_read_back_equal_what_was_appended(tmp_path: Path) -> None:
    rec = make_record(4, verdict="block")
    with Ledger.open(tmp_path / "l.sqlite") as led:
        led.append(rec)
        assert led.records() == [rec]


def test_edited_entry_is_named_as_edited(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        body = json.loads(db.execute("SELECT body FROM entries WHERE seq=4").fetchone()[0])
        body["provider"] = "local-ollama"  # make an egress look harmless
        db.execute("UPDATE entries SET body=? WHERE seq=4", (json.dumps(body),))
    result = verify_ledger(ledger_path)
    assert not result.ok
    assert (result.problem.seq, result.problem.kind) == (4, "edited")
    assert "does not match its hash" in result.problem.message
    assert result.count == 3


def test_deleted_middle_entry_is_named_as_deleted(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        db.execute("DELETE FROM entries WHERE seq=6")
    result = verify_ledger(ledger_path)
    assert (result.problem.seq, result.problem.kind) == (6, "deleted")
    assert "jumps from entry 5 to entry 7" in result.problem.message


def test_deleted_entry_with_renumbered_rest_is_named(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        db.execute("DELETE FROM entries WHERE seq=3")
        db.execute("UPDATE entries SET seq=seq-1 WHERE seq>3")
    result = verify_ledger(ledger_path)
    assert (result.problem.seq, result.problem.kind) == (3, "reordered")
    assert "holds the content of entry 4" in result.problem.message


def test_swapped_entries_are_named_as_reordered(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        db.execute("UPDATE entries SET seq=-7 WHERE seq=7")
        db.execute("UPDATE entries SET seq=7 WHERE seq=8")
        db.execute("UPDATE entries SET seq=8 WHERE seq=-7")
    result = verify_ledger(ledger_path)
    assert (result.problem.seq, result.problem.kind) == (7, "reordered")


def test_truncated_tail_is_named_as_truncated(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        db.execute("DELETE FROM entries WHERE seq>=8")
    result = verify_ledger(ledger_path)
    assert (result.problem.seq, result.problem.kind) == (8, "truncated")
    assert "entries 8–10" in result.problem.message


def test_truncation_with_a_rewritten_head_is_caught_by_the_head_mac(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        last_hash = db.execute("SELECT hash FROM entries WHERE seq=7").fetchone()[0]
        db.execute("DELETE FROM entries WHERE seq>=8")
        db.execute("UPDATE meta SET value='7' WHERE key='head_seq'")
        db.execute("UPDATE meta SET value=? WHERE key='head_hash'", (last_hash,))
    result = verify_ledger(ledger_path)
    assert (result.problem.seq, result.problem.kind) == (7, "forged")


def test_chain_recomputed_without_the_key_is_named_as_forged(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        ledger_id = db.execute("SELECT value FROM meta WHERE key='ledger_id'").fetchone()[0]
        rows = db.execute("SELECT seq, body, prev_hash FROM entries ORDER BY seq").fetchall()
        prev = rows[4][2]
        for seq, body, _ in rows[4:]:
            data = json.loads(body)
            if seq == 5:
                data["provider"] = "local-ollama"
            new_body = json.dumps(data, sort_keys=True, separators=(",", ":"))
            h = entry_hash(ledger_id, seq, prev, new_body)
            db.execute("UPDATE entries SET body=?, prev_hash=?, hash=? WHERE seq=?", (new_body, prev, h, seq))
            prev = h
        db.execute("UPDATE meta SET value=? WHERE key='head_hash'", (prev,))
    result = verify_ledger(ledger_path)
    assert (result.problem.seq, result.problem.kind) == (5, "forged")


def test_unkeyed_check_accepts_an_intact_copy_without_the_key(ledger_path: Path) -> None:
    key_path_for(ledger_path).unlink()
    result = verify_ledger(ledger_path, require_key=False)
    assert result.ok and not result.authenticated and result.count == 10


def test_missing_key_is_an_error_unless_unkeyed_check_is_asked_for(ledger_path: Path) -> None:
    key_path_for(ledger_path).unlink()
    with pytest.raises(LedgerError, match="key file .* is missing"):
        verify_ledger(ledger_path)


def test_anchor_from_an_earlier_report_detects_a_rewrite_with_the_key(ledger_path: Path) -> None:
    with raw(ledger_path) as db:
        old_hash = db.execute("SELECT hash FROM entries WHERE seq=5").fetchone()[0]
    # Someone holding the key rebuilds the ledger from entry 1 with different content.
    rebuilt = ledger_path.with_name("rebuilt.sqlite")
    with Ledger.open(rebuilt) as led:
        for i in range(10):
            led.append(make_record(i, verdict="allow", provider="local-ollama"))
    result = verify_ledger(rebuilt, anchors=[(5, old_hash)])
    assert (result.problem.seq, result.problem.kind) == (5, "anchor-mismatch")
    assert verify_ledger(ledger_path, anchors=[(5, old_hash)]).anchors_checked == [f"5:{old_hash}"]


def test_ledger_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("just some notes\n")
    with pytest.raises(LedgerError, match="not a clientguard ledger"):
        Ledger.open(bogus)


def test_missing_ledger_is_a_clear_error_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        verify_ledger(tmp_path / "nope.sqlite")


def test_key_file_is_private_to_the_user(ledger_path: Path) -> None:
    assert key_path_for(ledger_path).stat().st_mode & 0o077 == 0


def test_database_and_wal_files_are_private_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "new" / "l.sqlite"
    with Ledger.open(path) as led:
        led.append(make_record(0))
        for p in (path, path.with_name("l.sqlite-wal")):
            assert p.stat().st_mode & 0o077 == 0, p


def test_a_wrong_key_file_is_diagnosed(tmp_path: Path, ledger_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    Ledger.open(other).close()
    key_path_for(ledger_path).write_bytes(key_path_for(other).read_bytes())
    with pytest.raises(LedgerError, match="does not belong"):
        Ledger.open(ledger_path)


def test_ledger_uses_wal_and_full_sync(tmp_path: Path) -> None:
    led = Ledger.open(tmp_path / "l.sqlite")
    try:
        assert led._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert led._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        led.close()


def test_a_cut_off_database_file_fails_verification_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite"
    led = fill(path, 300)
    led._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # move every entry into the main file
    led.close()
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    result = verify_ledger(path)
    assert not result.ok
    assert result.problem.kind == "corrupt"
    assert "damaged" in result.problem.message


def test_verifying_an_empty_file_does_not_turn_it_into_a_ledger(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(LedgerError, match="is empty"):
        verify_ledger(empty)
    assert empty.stat().st_size == 0 and not key_path_for(empty).exists()


def test_normal_durability_defers_the_fsync_to_flush(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger.open(path, durability="normal") as led:
        assert led._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        for i in range(3):
            led.append(make_record(i))
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 0
        led.flush()
        # The checkpoint moved the entries into the database file, which now holds them on its own.
        copy = tmp_path / "copy.sqlite"
        copy.write_bytes(path.read_bytes())
        rows = sqlite3.connect(copy).execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        assert rows == 3
    assert verify_ledger(path).ok


def test_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="durability"):
        Ledger.open(tmp_path / "l.sqlite", durability="sometimes")  # type: ignore[arg-type]


def test_try_append_gives_way_to_another_writer_instead_of_waiting(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger.open(path, durability="normal") as led:
        led.append(make_record(0))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
        try:
            assert led.try_append_entry(make_record(1)) is None
        finally:
            other.execute("ROLLBACK")
            other.close()
        entry = led.try_append_entry(make_record(1))
        assert entry is not None and entry.seq == 2
        # After giving way, the connection waits for writers again as before.
        assert led._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert verify_ledger(path).count == 2


def test_record_to_dict_is_a_full_copy_of_every_field() -> None:
    import dataclasses

    record = make_record(2, reasons=[{"clause": "contract.nda", "fact": "f", "source": "s"}])
    data = record.to_dict()
    assert data == dataclasses.asdict(record)
    assert list(data) == [f.name for f in dataclasses.fields(record)]  # a new field cannot be forgotten
    data["redactions"][0]["count"] = 99
    data["files"].append("x")
    assert record.redactions[0]["count"] != 99 and "x" not in record.files
