"""Values this gateway has already pseudonymized, found again wherever they reappear.

A value the gateway restored into an answer comes back in the next request (agents replay their
history), often without the context that made the detector find it the first time: a bare AWS
secret inside a tool call's arguments has no ``AWS_SECRET_ACCESS_KEY=`` before it. Every value that
was replaced once is therefore kept (in memory only, like the vault) and searched for literally in
every later request, with the same rule, kind, label and fingerprint as when it was first found.

All segments are searched at once: with a hyperscan literal database when hyperscan is available
(rebuilt in batches as values accumulate), whose match offsets are the positions when the text is
ASCII; otherwise, and for the values added since the last build, substring tests say which values
occur and ``str.find`` where.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any, Sequence

from clientguard.detect.model import Finding
from clientguard.redact import PLACEHOLDER_RE

try:
    import hyperscan  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - the pure-Python path is used instead
    hyperscan = None

MIN_LENGTH = 6  # shorter values would match ordinary words
MAX_VALUES = 5_000
REBUILD_AFTER = 16  # values tested one by one before the literal database is rebuilt (or 1/8 of it): 16
#: substring tests cost ~0.2 ms on a 100 KB request, a rebuild of 100 literals ~3.5 ms once
#: Characters searched one value at a time (text length times pending values) after which the pending
#: values are compiled in even if they are few: a handful of values resent in every 100 KB request would
#: otherwise cost their substring tests on every request for good (a small rebuild costs ~0.3 ms once).
REBUILD_AFTER_CHARS = 4_000_000
_SEPARATOR = "\n\x00\n"


def _hs_literal(value: str) -> bytes:
    out = []
    for byte in value.encode("utf-8", "surrogatepass"):
        ch = chr(byte)
        out.append(ch if ch.isascii() and ch.isalnum() else f"\\x{byte:02x}")
    return "".join(out).encode("ascii")


class KnownValues:
    """Literal search for values already replaced by placeholders, returning ready-made findings."""

    def __init__(self) -> None:
        self._meta: dict[str, Finding] = {}
        self._pending: list[str] = []
        # The literal database and the values it holds, replaced together: (None, []) until first built.
        self._built: tuple[Any, list[str]] = (None, [])
        self._lock = threading.Lock()
        self._searched = 0  # characters searched one pending value at a time since the last rebuild

    def __len__(self) -> int:
        return len(self._meta)

    def add(self, value: str, finding: Finding) -> None:
        """Remember `value` with the finding that first identified it."""
        if len(value) < MIN_LENGTH or value in self._meta or len(self._meta) >= MAX_VALUES:
            return
        if PLACEHOLDER_RE.fullmatch(value):
            return
        with self._lock:
            if value not in self._meta:
                self._meta[value] = finding
                self._pending.append(value)

    def _rebuild(self) -> None:
        with self._lock:
            values = self._built[1] + self._pending
            db = hyperscan.Database()
            db.compile(expressions=[_hs_literal(v) for v in values], ids=list(range(len(values))),
                       flags=[0] * len(values))  # every occurrence: its end offset is where it is
            self._built, self._pending = (db, values), []
            self._searched = 0

    def find_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for every occurrence of a known value, per text."""
        out: list[list[Finding]] = [[] for _ in texts]
        if not self._meta or not texts:
            return out
        # Rebuilding costs more as the set grows, so it happens after a growing batch of new values.
        if hyperscan is not None and self._pending and (
                len(self._pending) >= max(REBUILD_AFTER, len(self._built[1]) // 8)
                or self._searched >= REBUILD_AFTER_CHARS):
            self._rebuild()
        joined = texts[0] if len(texts) == 1 else _SEPARATOR.join(texts)
        db, compiled = self._built
        present: set[str] = set()
        if db is not None:
            data = joined.encode("utf-8", "surrogatepass")
            hits: list[tuple[int, int]] = []
            db.scan(data, match_event_handler=lambda pid, _f, to, _fl, _c: hits.append((pid, to)))
            if len(data) == len(joined):
                self._place(texts, out, [(compiled[pid], to) for pid, to in hits])  # ASCII: offsets are characters
            else:
                present.update(compiled[pid] for pid, _to in hits)
        pending = list(self._pending)
        if pending:
            self._searched += len(joined) * len(pending)
            present.update(v for v in pending if v in joined)
        for i, text in enumerate(texts):
            for value in present:
                pos = text.find(value)
                while pos != -1:
                    out[i].append(self._meta[value].at(pos, pos + len(value)))
                    pos = text.find(value, pos + 1)
        return out

    def _place(self, texts: Sequence[str], out: list[list[Finding]], hits: list[tuple[str, int]]) -> None:
        """Findings for (value, end offset in the joined texts) matches, in the text each falls in."""
        if not hits:
            return
        starts, pos = [], 0
        for text in texts:
            starts.append(pos)
            pos += len(text) + len(_SEPARATOR)
        for value, end in hits:
            start = end - len(value)
            i = bisect.bisect_right(starts, start) - 1
            base = starts[i]
            if end <= base + len(texts[i]):
                out[i].append(self._meta[value].at(start - base, end - base))
