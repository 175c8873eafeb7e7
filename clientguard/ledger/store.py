"""The ledger on disk: an append-only SQLite table whose entries form a keyed hash chain.

Each entry stores the record's canonical JSON, the hash of the previous entry, its own
hash (SHA-256 over a domain tag, the ledger id, its sequence number, the previous hash
and the body) and a MAC of that hash under the ledger's key. The meta table keeps the
head (last sequence number and hash) with its own MAC, written in the same transaction
as the entry, so dropping entries from the end is detected too.

The key lives beside the database in `<ledger>.key` (mode 0600), not inside it: a copy
of the database alone cannot be rewritten undetectably, and the unkeyed hash chain can
still be checked by anyone against a head published in a client report. Someone who
holds the key file (the ledger's owner, or malware running as them) can rewrite the
whole chain; the defence there is an anchor kept elsewhere (the head printed in a report
handed to the client, or each entry's hash exported over OpenTelemetry). docs/ledger.md
states this threat model.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from clientguard.datadir import data_dir
from clientguard.ledger.record import EgressRecord, LedgerCorruptError, LedgerError, canonical_json

FORMAT = "clientguard-ledger/1"
_KEY_BYTES = 32
_BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    seq       INTEGER PRIMARY KEY,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    mac       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_ts ON entries (json_extract(body, '$.ts'));
"""


def default_ledger_path(client_name: str) -> Path:
    """Where a client's ledger lives unless `--ledger` says otherwise.

    `$CLIENTGUARD_HOME` overrides the per-user data directory, as for the vault and fingerprint keys.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", client_name.strip().lower()).strip("-")
    if not slug:
        raise LedgerError(f"client name {client_name!r} has no letters or digits to name a ledger file after")
    return data_dir() / "ledgers" / f"{slug}.sqlite"


def key_path_for(path: Path) -> Path:
    """The key file that belongs to the ledger at `path`."""
    return path.with_name(path.name + ".key")


def genesis_hash(ledger_id: str) -> str:
    """The `prev_hash` of the first entry: binds the chain to this ledger's id."""
    return hashlib.sha256(f"{FORMAT}\x00genesis\x00{ledger_id}".encode()).hexdigest()


def entry_hash(ledger_id: str, seq: int, prev_hash: str, body: str) -> str:
    """The hash an entry commits to; anyone can recompute it without the key."""
    material = f"{FORMAT}\x00{ledger_id}\x00{seq}\x00{prev_hash}\x00".encode() + body.encode("utf-8")
    return hashlib.sha256(material).hexdigest()


def entry_mac(key: bytes, entry_hash_hex: str) -> str:
    """The keyed MAC over an entry's hash: only the key holder can produce it."""
    return hmac.new(key, f"entry\x00{entry_hash_hex}".encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, ledger_id: str, seq: int, hash_hex: str) -> str:
    """The keyed MAC over the head, so truncating the tail needs the key to hide."""
    return hmac.new(key, f"head\x00{ledger_id}\x00{seq}\x00{hash_hex}".encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name for a key, so a wrong key file is diagnosed as such."""
    return hashlib.sha256(b"clientguard-ledger-key-id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class LedgerEntry:
    """One stored entry: its sequence number, chain fields and the record."""

    seq: int
    prev_hash: str
    hash: str
    mac: str
    body: str

    @property
    def record(self) -> EgressRecord:
        """The record this entry holds (raises LedgerError if the body is not a record)."""
        try:
            data = json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise LedgerError(f"ledger entry {self.seq}: body is not JSON ({exc.msg})") from exc
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "seq"}
        return EgressRecord.from_dict(data)


@dataclass(frozen=True)
class Head:
    """The ledger's last entry as recorded in its meta table."""

    ledger_id: str
    seq: int
    hash: str


def _read_key(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise LedgerError(f"cannot read ledger key {path}: {exc.strerror}") from exc
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"ledger key {path} is not a hex key (corrupted?)") from exc
    if len(key) != _KEY_BYTES:
        raise LedgerError(f"ledger key {path} has {len(key)} bytes, expected {_KEY_BYTES}")
    return key


def _load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it atomically (0600) if no one has yet."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(_KEY_BYTES).hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails if another process won the race; then its key is the key.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key(path)


#: How durable an append is when it returns. "full": on disk (the WAL is fsynced at every commit), so it
#: survives a power loss. "normal": in the operating system's hands (no fsync at commit), so it survives a
#: crash or SIGKILL of the writing process, and a power loss only up to the last `flush()`; the chain stays
#: consistent either way (SQLite's WAL guarantees that a commit is whole or absent).
Durability = Literal["full", "normal"]


def _connect(path: Path, durability: Durability = "full") -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise LedgerError(f"ledger {path}: SQLite refused WAL mode (got {mode}); is the file on a network share?")
        # FULL: a commit is on disk (WAL fsynced) before append() returns; NORMAL: fsynced at checkpoints.
        conn.execute(f"PRAGMA synchronous = {'FULL' if durability == 'full' else 'NORMAL'}")
    except sqlite3.DatabaseError as exc:
        raise LedgerCorruptError(f"ledger {path} is not a usable SQLite database: {exc}") from exc
    return conn


class Ledger:
    """An open ledger. Thread-safe; several processes may append to the same file."""

    def __init__(self, path: Path, conn: sqlite3.Connection, ledger_id: str, key: bytes | None):
        self.path = path
        self.ledger_id = ledger_id
        self._conn = conn
        self._key = key
        self._lock = threading.Lock()

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, require_key: bool = True,
             durability: Durability = "full") -> "Ledger":
        """Open (and by default create) the ledger at `path`.

        `durability` "full" (the default) fsyncs every append; "normal" leaves that to `flush()`, which
        the gateway calls every second when no audit clause asks for more (see `Durability`).

        With `create=False` a missing file is a LedgerError. With `require_key=False` a
        missing key file is allowed: the ledger can then be read and its unkeyed chain
        checked, but not appended to.
        """
        path = Path(path).expanduser()
        if path.is_dir():
            raise LedgerError(f"ledger path {path} is a directory; give a file such as {path / 'ledger.sqlite'}")
        exists = path.exists()
        if not exists and not create:
            raise LedgerError(f"no ledger at {path}", hint="pass --ledger FILE, or run the gateway once to create it")
        if not exists:
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # The entries name the client, its files and accounts: private to the user, like
                # the key. SQLite gives the -wal and -shm files the database file's mode.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                raise LedgerError(f"cannot create the ledger {path}: {exc.strerror}") from exc
        if exists and not create and path.stat().st_size == 0:
            # Reading commands (verify, show, report) must not turn an empty file into a ledger.
            raise LedgerError(f"{path} is empty: no ledger has been written there yet")
        if exists:
            with open(path, "rb") as fh:
                magic = fh.read(16)
            if magic and magic != b"SQLite format 3\x00":
                raise LedgerError(f"{path} is not a clientguard ledger (not a SQLite database)")
        if durability not in ("full", "normal"):
            raise LedgerError(f"unknown ledger durability {durability!r}; use 'full' or 'normal'")
        conn = _connect(path, durability)
        try:
            ledger_id, key = cls._initialize(conn, path, create=create, require_key=require_key)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise LedgerCorruptError(f"ledger {path} cannot be read: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, ledger_id, key)

    @staticmethod
    def _initialize(conn: sqlite3.Connection, path: Path, *, create: bool, require_key: bool) -> tuple[str, bytes | None]:
        kpath = key_path_for(path)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and not {"meta", "entries"} <= tables:
            raise LedgerError(f"{path} is a SQLite database but not a clientguard ledger (tables: {', '.join(sorted(tables))})")
        if not tables and not create:
            # Reading commands (verify, show, report) must not turn an empty file into a ledger.
            raise LedgerError(f"{path} is empty: no ledger has been written there yet")
        if not tables:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                row = conn.execute("SELECT value FROM meta WHERE key='ledger_id'").fetchone()
                if row is None:
                    key = _load_or_create_key(kpath)
                    ledger_id = str(uuid.uuid4())
                    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [
                            ("format", FORMAT),
                            ("ledger_id", ledger_id),
                            ("created", now),
                            ("key_id", key_id(key)),
                            ("head_seq", "0"),
                            ("head_hash", genesis_hash(ledger_id)),
                            ("head_mac", head_mac(key, ledger_id, 0, genesis_hash(ledger_id))),
                        ],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            raise LedgerError(f"{path}: unsupported ledger format {meta.get('format')!r} (this clientguard reads {FORMAT})")
        ledger_id = meta.get("ledger_id")
        if not ledger_id:
            raise LedgerError(f"{path}: ledger has no id in its meta table (damaged)")
        try:
            key: bytes | None = _read_key(kpath)
        except FileNotFoundError:
            if require_key:
                raise LedgerError(
                    f"the key file {kpath} for ledger {path} is missing; entries can be neither appended nor authenticated",
                    hint="restore the key file from backup; `ledger verify --without-key` checks the unkeyed chain only",
                ) from None
            key = None
        if key is not None and meta.get("key_id") != key_id(key):
            raise LedgerError(f"the key file {kpath} does not belong to ledger {path} (key id mismatch)")
        return ledger_id, key

    # -- writing -----------------------------------------------------------------------------

    def append(self, record: EgressRecord) -> int:
        """Append a record durably and return its sequence number (1-based).

        Serialized across threads (a lock) and processes (BEGIN IMMEDIATE takes SQLite's
        write lock before the head is read), so concurrent writers never fork the chain.
        """
        return self.append_entry(record).seq

    def append_entry(self, record: EgressRecord) -> LedgerEntry:
        """Like `append`, but return the stored entry (sequence number, hash, MAC, body)."""
        entry = self._append_entry(record, wait=True)
        assert entry is not None
        return entry

    def try_append_entry(self, record: EgressRecord) -> LedgerEntry | None:
        """Append without waiting: None when another thread or process holds the write lock right now.

        For callers on an event loop, which must not block for `_BUSY_TIMEOUT_MS` behind another writer:
        they append here inline and fall back to `append_entry` in a worker thread on None.
        """
        return self._append_entry(record, wait=False)

    def _append_entry(self, record: EgressRecord, *, wait: bool) -> LedgerEntry | None:
        if not isinstance(record, EgressRecord):
            raise LedgerError(f"Ledger.append expects an EgressRecord, got {type(record).__name__}")
        if self._key is None:
            raise LedgerError(f"ledger {self.path} was opened without its key; it cannot be appended to")
        data = record.to_dict()
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            try:
                if wait:
                    self._conn.execute("BEGIN IMMEDIATE")
                else:
                    self._conn.execute("PRAGMA busy_timeout = 0")
                    try:
                        self._conn.execute("BEGIN IMMEDIATE")
                    except sqlite3.OperationalError as exc:
                        if "locked" in str(exc) or "busy" in str(exc):
                            return None
                        raise
                    finally:
                        self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                try:
                    seq, prev = self._read_head_locked()
                    seq += 1
                    data["seq"] = seq
                    body = canonical_json(data)
                    h = entry_hash(self.ledger_id, seq, prev, body)
                    self._conn.execute(
                        "INSERT INTO entries (seq, body, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?)",
                        (seq, body, prev, h, entry_mac(self._key, h)),
                    )
                    self._conn.executemany(
                        "UPDATE meta SET value = ? WHERE key = ?",
                        [
                            (str(seq), "head_seq"),
                            (h, "head_hash"),
                            (head_mac(self._key, self.ledger_id, seq, h), "head_mac"),
                        ],
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise LedgerError(f"cannot write to ledger {self.path}: {exc}") from exc
        finally:
            self._lock.release()
        return LedgerEntry(seq, prev, h, entry_mac(self._key, h), body)

    def _read_head_locked(self) -> tuple[int, str]:
        rows = dict(self._conn.execute("SELECT key, value FROM meta WHERE key IN ('head_seq','head_hash')").fetchall())
        try:
            return int(rows["head_seq"]), rows["head_hash"]
        except (KeyError, ValueError) as exc:
            raise LedgerError(f"ledger {self.path}: head missing from meta table (damaged); run `clientguard ledger verify`") from exc

    # -- reading -----------------------------------------------------------------------------

    @property
    def has_key(self) -> bool:
        """Whether this ledger was opened with its key (needed to append and to authenticate)."""
        return self._key is not None

    def meta(self) -> dict[str, str]:
        """The meta table as a dict (format, ledger_id, created, key_id, head_*)."""
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def head(self) -> Head:
        """The last entry's sequence number and hash as recorded in the meta table."""
        with self._lock:
            seq, h = self._read_head_locked()
        return Head(self.ledger_id, seq, h)

    def count(self) -> int:
        """How many entries the entries table holds."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def entries(self, *, since: datetime | None = None, until: datetime | None = None) -> list[LedgerEntry]:
        """Entries in sequence order, optionally limited to since <= ts < until."""
        return list(self.iter_entries(since=since, until=until))

    def iter_entries(
        self, *, since: datetime | None = None, until: datetime | None = None, batch: int = 2000
    ) -> Iterator[LedgerEntry]:
        """Iterate entries in sequence order, `batch` rows at a time (a large ledger is never all in memory)."""
        clauses, params = ["seq > ?"], []
        if since is not None:
            clauses.append("json_extract(body, '$.ts') >= ?")
            params.append(_bound(since))
        if until is not None:
            clauses.append("json_extract(body, '$.ts') < ?")
            params.append(_bound(until))
        sql = f"SELECT seq, prev_hash, hash, mac, body FROM entries WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?"
        after = -(2**63)
        while True:
            with self._lock:
                try:
                    rows = self._conn.execute(sql, [after, *params, batch]).fetchall()
                except sqlite3.DatabaseError as exc:
                    raise LedgerError(f"cannot read ledger {self.path}: {exc}") from exc
            for row in rows:
                yield LedgerEntry(*row)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def seq_of_hash(self, hash_hex: str) -> int | None:
        """The sequence number of the entry with this hash, if any (for diagnosing reordering)."""
        with self._lock:
            row = self._conn.execute("SELECT seq FROM entries WHERE hash = ? LIMIT 1", (hash_hex,)).fetchone()
        return None if row is None else int(row[0])

    def records(self, *, since: datetime | None = None, until: datetime | None = None) -> list[EgressRecord]:
        """The records in sequence order (see `entries`)."""
        return [e.record for e in self.iter_entries(since=since, until=until)]

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read inside one transaction, so every read sees the same state of the ledger."""
        with self._lock:
            self._conn.execute("BEGIN")
        try:
            yield
        finally:
            with self._lock:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    def mac_key(self) -> bytes | None:
        """The chain key, for the verifier in this package; never print or export it."""
        return self._key

    def flush(self) -> None:
        """Make every append so far survive a power loss: checkpoint the WAL, which fsyncs it and the
        database. Cheap at "full" durability, where each commit was fsynced already."""
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                raise LedgerError(f"cannot flush ledger {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bound(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
