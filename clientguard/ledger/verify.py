"""Check a ledger's hash chain and name the first entry that breaks it, and how."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clientguard.ledger.record import EgressRecord, LedgerCorruptError, LedgerError
from clientguard.ledger.store import Ledger, entry_hash, entry_mac, genesis_hash, head_mac

# How an entry can break the chain; the words `ledger verify` prints.
EDITED = "edited"
DELETED = "deleted"
REORDERED = "reordered"
INSERTED = "inserted"
TRUNCATED = "truncated"
FORGED = "forged"
MALFORMED = "malformed"
ANCHOR = "anchor-mismatch"
CORRUPT = "corrupt"


@dataclass(frozen=True)
class Problem:
    """The first place the chain breaks: which entry, what kind of break, in words."""

    seq: int
    kind: str
    message: str


@dataclass
class VerifyResult:
    """What `verify_ledger` found."""

    path: str
    ledger_id: str
    count: int
    head_seq: int
    head_hash: str
    authenticated: bool  # MACs checked with the ledger's key (False with --without-key)
    problem: Problem | None = None
    anchors_checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every entry and the head check out."""
        return self.problem is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for `--format json`."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def parse_anchor(text: str) -> tuple[int, str]:
    """Parse `SEQ:HASH` as printed in a client report's chain section."""
    seq_text, sep, hash_text = text.partition(":")
    if not sep or not seq_text.strip().isdigit() or len(hash_text.strip()) != 64:
        raise LedgerError(f"anchor {text!r} is not SEQ:HASH (a number, a colon, 64 hex digits)")
    return int(seq_text), hash_text.strip().lower()


def verify_ledger(
    path: Path | str, *, require_key: bool = True, anchors: list[tuple[int, str]] | None = None
) -> VerifyResult:
    """Walk the whole chain of the ledger at `path`.

    Raises LedgerError only when the ledger cannot be opened at all (missing file, not a
    ledger, key missing while required); every break in the chain is a `Problem`.
    """
    path = Path(path)
    try:
        ledger = Ledger.open(path, create=False, require_key=require_key)
    except LedgerCorruptError as exc:
        # A damaged file is a failed verification, not a usage error: report it as the break.
        return VerifyResult(
            path=str(path), ledger_id="", count=0, head_seq=0, head_hash="", authenticated=False,
            problem=Problem(0, CORRUPT, f"the ledger file is damaged and cannot be read ({exc.message.split(': ', 1)[-1]})"),
        )
    try:
        # One read transaction: in WAL mode it is a snapshot, so a gateway appending meanwhile
        # cannot make the head and the entries disagree.
        with ledger.snapshot():
            return _verify_open(ledger, anchors or [])
    finally:
        ledger.close()


def _verify_open(ledger: Ledger, anchors: list[tuple[int, str]]) -> VerifyResult:
    meta = ledger.meta()
    key = ledger.mac_key()
    ledger_id = ledger.ledger_id
    result = VerifyResult(
        path=str(ledger.path),
        ledger_id=ledger_id,
        count=0,
        head_seq=0,
        head_hash="",
        authenticated=key is not None,
    )
    try:
        head_seq = int(meta.get("head_seq", ""))
        head_hash = meta["head_hash"]
        recorded_head_mac = meta["head_mac"]
    except (KeyError, ValueError):
        result.problem = Problem(0, CORRUPT, "the meta table has no valid head (head_seq/head_hash/head_mac)")
        return result
    result.head_seq, result.head_hash = head_seq, head_hash
    wanted = dict(anchors)

    prev_seq, prev_hash = 0, genesis_hash(ledger_id)
    entries = ledger.iter_entries()
    while True:
        try:
            entry = next(entries, None)
        except LedgerError as exc:
            result.problem = Problem(prev_seq + 1, CORRUPT, f"the entries after entry {prev_seq} cannot be read: {exc.message}")
            return result
        if entry is None:
            break
        problem = _check_entry(entry.seq, entry.body, entry.prev_hash, entry.hash, entry.mac,
                               prev_seq, prev_hash, ledger_id, key, ledger.seq_of_hash)
        if problem is not None:
            result.problem = problem
            return result
        if entry.seq in wanted:
            if wanted[entry.seq] != entry.hash:
                result.problem = Problem(
                    entry.seq, ANCHOR,
                    f"entry {entry.seq} has hash {entry.hash[:16]}…, but the anchor you gave says "
                    f"{wanted[entry.seq][:16]}…: the ledger was rewritten since that anchor was taken",
                )
                return result
            result.anchors_checked.append(f"{entry.seq}:{entry.hash}")
        prev_seq, prev_hash = entry.seq, entry.hash
        result.count += 1

    for seq in wanted:
        if seq > prev_seq:
            result.problem = Problem(
                prev_seq + 1, TRUNCATED,
                f"the anchor you gave names entry {seq}, but the ledger ends at entry {prev_seq}: "
                f"entries {prev_seq + 1}–{seq} or more were removed",
            )
            return result
    if prev_seq < head_seq:
        result.problem = Problem(
            prev_seq + 1, TRUNCATED,
            f"the head records {head_seq} entries but the ledger ends at entry {prev_seq}: "
            f"entries {prev_seq + 1}–{head_seq} were removed from the end",
        )
        return result
    if prev_seq > head_seq:
        result.problem = Problem(
            head_seq + 1, INSERTED,
            f"entries {head_seq + 1}–{prev_seq} come after the recorded head (entry {head_seq}): "
            "they were added outside clientguard",
        )
        return result
    if head_hash != prev_hash:
        result.problem = Problem(
            head_seq, EDITED,
            f"the recorded head hash does not match entry {head_seq} (the head or the last entry was replaced)",
        )
        return result
    if key is not None and not hmac.compare_digest(head_mac(key, ledger_id, head_seq, head_hash), recorded_head_mac):
        result.problem = Problem(
            head_seq, FORGED, "the head's MAC is wrong: the head was rewritten without the ledger's key"
        )
        return result
    return result


def _check_entry(
    seq: int, body: str, prev_hash_stored: str, hash_stored: str, mac_stored: str,
    prev_seq: int, prev_hash: str, ledger_id: str, key: bytes | None, seq_of_hash: Callable[[str], int | None],
) -> Problem | None:
    expected = prev_seq + 1
    if seq != expected:
        if seq > expected:
            missing = f"entry {expected}" if seq == expected + 1 else f"entries {expected}–{seq - 1}"
            return Problem(expected, DELETED, f"{missing} missing: the ledger jumps from entry {prev_seq} to entry {seq}")
        return Problem(seq, INSERTED, f"entry number {seq} appears again after entry {prev_seq}")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        return Problem(seq, EDITED, f"entry {seq}'s content is not valid JSON any more: it was edited")
    body_seq = data.get("seq") if isinstance(data, dict) else None
    if body_seq != seq:
        if isinstance(body_seq, int):
            how = "entries before it were deleted and the rest renumbered" if body_seq > seq else "entries were reordered"
            return Problem(seq, REORDERED, f"position {seq} holds the content of entry {body_seq}: {how}")
        return Problem(seq, EDITED, f"entry {seq}'s content lost its sequence number: it was edited")
    if entry_hash(ledger_id, seq, prev_hash_stored, body) != hash_stored:
        return Problem(seq, EDITED, f"entry {seq}'s content does not match its hash: the entry was edited")
    if prev_hash_stored != prev_hash:
        other = seq_of_hash(prev_hash_stored)
        if other is not None and other != prev_seq:
            return Problem(seq, REORDERED, f"entry {seq} was chained after entry {other}, not entry {prev_seq}: entries were reordered")
        return Problem(
            seq, DELETED if other is None else EDITED,
            f"entry {seq} does not follow entry {prev_seq} (its previous-hash names no entry in the ledger): "
            "entries before it were deleted or replaced",
        )
    if key is not None and not hmac.compare_digest(entry_mac(key, hash_stored), mac_stored):
        return Problem(seq, FORGED, f"entry {seq}'s MAC is wrong: its hash was recomputed without the ledger's key")
    try:
        EgressRecord.from_dict({k: v for k, v in data.items() if k != "seq"})
    except LedgerError as exc:
        return Problem(seq, MALFORMED, f"entry {seq} is not a valid record: {exc.message}")
    return None


__all__ = ["Problem", "VerifyResult", "parse_anchor", "verify_ledger"]
