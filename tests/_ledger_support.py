"""Helpers for the ledger tests: records that look like what the gateway writes, and a tamperer."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from clientguard.ledger import EgressRecord, Ledger

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def make_record(i: int = 0, *, verdict: str = "allow", client: str = "Acme Health", **over: object) -> EgressRecord:
    """A plausible gateway record; `i` varies time, size and fingerprints."""
    fields: dict[str, object] = dict(
        ts=T0 + timedelta(hours=3 * i),
        client=client,
        agent="codex_cli_rs/0.169.0",
        provider="openai",
        endpoint="/v1/responses",
        account="work-api",
        plan="api",
        mode="local",
        verdict=verdict,
        reasons=[] if verdict == "allow" else [{"clause": "nda", "fact": "training on by default", "source": "https://example.invalid/terms"}],
        redactions=[
            {"rule_id": "aws-access-key-id", "kind": "secret", "fingerprint": hashlib.sha256(f"k{i}".encode()).hexdigest()[:32], "count": 1},
            {"rule_id": "email", "kind": "pii", "fingerprint": hashlib.sha256(f"e{i}".encode()).hexdigest()[:32], "count": 2},
        ],
        files=[f"src/module_{i}.py"],
        bytes_sent=1000 + i,
        request_sha256=hashlib.sha256(f"req{i}".encode()).hexdigest(),
        status=200 if verdict != "block" else 400,
    )
    fields.update(over)
    return EgressRecord(**fields)  # type: ignore[arg-type]


def fill(path: Path, n: int) -> Ledger:
    """A ledger at `path` with n entries; returned open."""
    led = Ledger.open(path)
    for i in range(n):
        led.append(make_record(i))
    return led


def raw(path: Path) -> sqlite3.Connection:
    """A plain SQLite connection, as a tamperer would open the file."""
    return sqlite3.connect(path, isolation_level=None)
