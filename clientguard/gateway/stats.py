"""Counters behind GET /_clientguard/stats (kept by the event loop thread only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class GatewayStats:
    """What went through this gateway since it started."""

    requests: int = 0
    forwarded: int = 0
    blocked: int = 0
    errors: int = 0
    by_kind: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)
    files: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "forwarded": self.forwarded,
            "blocked": self.blocked,
            "errors": self.errors,
            "redactions": {"by_kind": dict(self.by_kind), "by_rule": dict(self.by_rule)},
            "files": sorted(self.files)[:1000],
        }
