"""One egress event as the ledger keeps it: what left, where to, under which verdict.

A record never holds a raw secret. Redactions are described by rule, kind, a keyed
fingerprint and a count; the prompt text is kept only when the policy asks for it, and
then it is the text as sent upstream (already pseudonymized by the gateway).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from clientguard.errors import ClientguardError


class LedgerError(ClientguardError):
    """The ledger cannot be opened, written, or read, or a record is malformed."""


class LedgerCorruptError(LedgerError):
    """The ledger file is a damaged SQLite database (truncated, overwritten, disk error)."""


REDACTION_KEYS = frozenset({"rule_id", "kind", "fingerprint", "count", "label"})
_REDACTION_REQUIRED = ("rule_id", "kind", "fingerprint", "count")
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16,128}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_TEXT_LIMIT = 512  # names, labels and reason texts; longer means something that is not a name


def _utc_iso(ts: datetime | str) -> str:
    """Normalize a timestamp to ISO 8601 UTC with microseconds and a trailing Z."""
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError as exc:
            raise LedgerError(f"record field 'ts': {ts!r} is not an ISO 8601 timestamp") from exc
    elif isinstance(ts, datetime):
        parsed = ts
    else:
        raise LedgerError(f"record field 'ts': expected a datetime or ISO string, got {type(ts).__name__}")
    if parsed.tzinfo is None:
        raise LedgerError("record field 'ts': the timestamp has no time zone; pass an aware datetime (UTC)")
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str) -> datetime:
    """Parse a timestamp as stored in a record back into an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _text(name: str, value: Any, *, optional: bool = False, limit: int = _TEXT_LIMIT) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise LedgerError(f"record field '{name}': expected text, got {type(value).__name__}")
    if len(value) > limit:
        raise LedgerError(f"record field '{name}': {len(value)} characters, at most {limit} allowed")
    return value


def _check_redaction(index: int, item: Any) -> dict[str, Any]:
    where = f"record field 'redactions[{index}]'"
    if not isinstance(item, dict):
        raise LedgerError(f"{where}: expected a table of rule_id, kind, fingerprint, count")
    unknown = sorted(set(item) - REDACTION_KEYS)
    if unknown:
        # A stray key (say "value" or "match") is how a raw secret would slip into the ledger.
        raise LedgerError(
            f"{where}: unexpected key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(REDACTION_KEYS))}"
        )
    missing = [k for k in _REDACTION_REQUIRED if k not in item]
    if missing:
        raise LedgerError(f"{where}: missing {', '.join(missing)}")
    for key in ("rule_id", "kind", "label"):
        if key in item:
            _text(f"redactions[{index}].{key}", item[key], limit=128)
    if not isinstance(item["fingerprint"], str) or not _FINGERPRINT_RE.match(item["fingerprint"]):
        raise LedgerError(f"{where}: fingerprint must be a lowercase hex keyed hash (16-128 digits)")
    count = item["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise LedgerError(f"{where}: count must be a positive integer, got {count!r}")
    return {k: item[k] for k in sorted(item)}


def _check_reason(index: int, item: Any) -> dict[str, Any]:
    where = f"record field 'reasons[{index}]'"
    if not isinstance(item, dict):
        raise LedgerError(f"{where}: expected a table such as {{clause, fact, source}}")
    out: dict[str, Any] = {}
    for key, value in item.items():
        if not isinstance(key, str):
            raise LedgerError(f"{where}: keys must be text")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise LedgerError(f"{where}.{key}: expected text, a number or a boolean")
        if isinstance(value, str) and len(value) > 4096:
            raise LedgerError(f"{where}.{key}: longer than 4096 characters")
        out[key] = value
    return out


@dataclass(frozen=True)
class EgressRecord:
    """One request that reached the gateway, forwarded or blocked.

    `prompt` is None unless the policy sets `[ledger] keep_prompts = true`; when given it
    must be the pseudonymized text as sent upstream, never the agent's original text.
    """

    ts: datetime | str
    client: str
    agent: str
    provider: str
    endpoint: str
    account: str
    plan: str
    mode: str
    verdict: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    redactions: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    request_sha256: str | None = None
    status: int | None = None
    prompt: str | None = None
    duration_ms: float | None = None

    def __post_init__(self) -> None:
        # Frozen dataclass: normalize through object.__setattr__ once, at construction.
        set_ = object.__setattr__
        set_(self, "ts", _utc_iso(self.ts))
        for name in ("client", "agent", "provider", "endpoint", "account", "plan", "mode"):
            _text(name, getattr(self, name))
        verdict = _text("verdict", self.verdict, limit=64)
        if not verdict:
            raise LedgerError("record field 'verdict': must not be empty")
        if not self.client:
            raise LedgerError("record field 'client': must not be empty")
        if not isinstance(self.reasons, list):
            raise LedgerError("record field 'reasons': expected a list")
        if not isinstance(self.redactions, list):
            raise LedgerError("record field 'redactions': expected a list")
        if not isinstance(self.files, list):
            raise LedgerError("record field 'files': expected a list of paths")
        set_(self, "reasons", [_check_reason(i, r) for i, r in enumerate(self.reasons)])
        set_(self, "redactions", [_check_redaction(i, r) for i, r in enumerate(self.redactions)])
        set_(self, "files", [str(_text(f"files[{i}]", f, limit=4096)) for i, f in enumerate(self.files)])
        if not isinstance(self.bytes_sent, int) or isinstance(self.bytes_sent, bool) or self.bytes_sent < 0:
            raise LedgerError(f"record field 'bytes_sent': expected a non-negative integer, got {self.bytes_sent!r}")
        if self.request_sha256 is not None and (
            not isinstance(self.request_sha256, str) or not _SHA256_RE.match(self.request_sha256)
        ):
            raise LedgerError("record field 'request_sha256': expected 64 lowercase hex digits or None")
        if self.status is not None and (not isinstance(self.status, int) or isinstance(self.status, bool)):
            raise LedgerError(f"record field 'status': expected an integer HTTP status or None, got {self.status!r}")
        _text("prompt", self.prompt, optional=True, limit=50_000_000)
        if self.duration_ms is not None:
            if not isinstance(self.duration_ms, (int, float)) or isinstance(self.duration_ms, bool):
                raise LedgerError("record field 'duration_ms': expected a number or None")
            set_(self, "duration_ms", float(self.duration_ms))

    @property
    def timestamp(self) -> datetime:
        """The record's time as an aware UTC datetime."""
        return parse_ts(str(self.ts))

    @property
    def redaction_count(self) -> int:
        """How many values were replaced by placeholders in this request."""
        return sum(int(r["count"]) for r in self.redactions)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready data (fresh lists and tables, so callers may change them).

        Written out rather than `dataclasses.asdict`: construction already checked that every nested
        value is a string, number, boolean or None, so one level of copying is a full copy, and the
        gateway builds one of these per request (asdict's recursive deep copy cost ~0.3 ms of it).
        """
        return {
            "ts": self.ts, "client": self.client, "agent": self.agent, "provider": self.provider,
            "endpoint": self.endpoint, "account": self.account, "plan": self.plan, "mode": self.mode,
            "verdict": self.verdict, "reasons": [dict(r) for r in self.reasons],
            "redactions": [dict(r) for r in self.redactions], "files": list(self.files),
            "bytes_sent": self.bytes_sent, "request_sha256": self.request_sha256, "status": self.status,
            "prompt": self.prompt, "duration_ms": self.duration_ms,
        }

    def canonical_json(self) -> str:
        """The exact text the ledger hashes: sorted keys, no whitespace, UTF-8."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EgressRecord":
        """Rebuild a record from `to_dict()` output; unknown keys are a LedgerError."""
        if not isinstance(data, dict):
            raise LedgerError("a ledger record must be a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LedgerError(f"ledger record has unknown field(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise LedgerError(f"ledger record is incomplete: {exc}") from exc


def canonical_json(data: Any) -> str:
    """Serialize deterministically so the same record always hashes the same."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
