"""Ledger throughput: chained, durable appends vs plain durable SQLite inserts; verify and report times.

Run: .venv/bin/python bench/bench_ledger.py [--entries N]
Prints a table; numbers depend on the disk's fsync latency.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from clientguard.ledger import EgressRecord, Ledger
from clientguard.ledger.report import build_report, write_report
from clientguard.ledger.verify import verify_ledger

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def record(i: int) -> EgressRecord:
    """A record the size of a typical gateway entry (two redaction rules, one file)."""
    return EgressRecord(
        ts=T0 + timedelta(seconds=30 * i), client="Bench Client", agent="codex_cli_rs", provider="openai",
        endpoint="/v1/responses", account="work", plan="api", mode="local", verdict="block" if i % 10 == 0 else "allow",
        reasons=[], redactions=[
            {"rule_id": "aws-access-key-id", "kind": "secret", "fingerprint": hashlib.sha256(b"%d" % i).hexdigest()[:32], "count": 1},
            {"rule_id": "email", "kind": "pii", "fingerprint": hashlib.sha256(b"e%d" % i).hexdigest()[:32], "count": 2},
        ],
        files=[f"src/mod_{i % 50}.py"], bytes_sent=40_000 + i % 1000,
        request_sha256=hashlib.sha256(b"r%d" % i).hexdigest(), status=200,
    )


def plain_sqlite(path: Path, records: list[EgressRecord]) -> float:
    """The peer: the same rows into WAL + synchronous=FULL SQLite, one commit each, no chain."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT)")
    start = time.perf_counter()
    for r in records:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", (r.canonical_json(),))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def chained(path: Path, records: list[EgressRecord], threads: int) -> float:
    led = Ledger.open(path)
    chunks = [records[i::threads] for i in range(threads)]

    def work(chunk: list[EgressRecord]) -> None:
        for r in chunk:
            led.append(r)

    start = time.perf_counter()
    ts = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - start
    led.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=2000)
    args = ap.parse_args(argv)
    n = args.entries
    records = [record(i) for i in range(n)]
    table = Table(title=f"ledger benchmark, {n} entries")
    for col in ("operation", "total s", "per entry ms", "entries/s"):
        table.add_column(col, justify="right" if col != "operation" else "left")

    def row(name: str, seconds: float, count: int = n) -> None:
        table.add_row(name, f"{seconds:.3f}", f"{seconds / count * 1000:.3f}", f"{count / seconds:,.0f}")

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        row("peer: plain SQLite insert (WAL, FULL, commit each)", plain_sqlite(d / "plain.sqlite", records))
        row("clientguard append, 1 thread (chain + HMAC)", chained(d / "one.sqlite", records, 1))
        row("clientguard append, 4 threads", chained(d / "four.sqlite", records, 4))
        start = time.perf_counter()
        result = verify_ledger(d / "one.sqlite")
        assert result.ok and result.count == n
        row("ledger verify (whole chain, MACs)", time.perf_counter() - start)
        start = time.perf_counter()
        data = build_report(d / "one.sqlite")
        write_report(data, "html", d / "r.html")
        row("report: build + HTML with figures", time.perf_counter() - start)
        start = time.perf_counter()
        write_report(data, "pdf", d / "r.pdf")
        row("report: PDF", time.perf_counter() - start)
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
