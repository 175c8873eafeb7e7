"""Findings of request segments seen before, so each distinct segment is scanned once.

Agents resend the whole conversation on every turn: Claude Code's system prompt and tool definitions,
Codex's instructions, and every earlier message and tool result come back byte for byte, with only the
newest turn added. Scanning all of it again costs time on every request for nothing new. The cache maps
a segment's exact text to the detector's findings for it, least recently used out first, bounded by the
characters it holds. It lives in memory only, like the vault: the texts it keys on are the agent's own
request, never written anywhere.

The detector is deterministic for a given text, so a hit returns exactly what a scan would. Values the
gateway learned later (``KnownValues``) are searched for separately on every request, cached or not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Sequence, TypeVar

from clientguard.detect import Detector, Finding

#: Segments shorter than this are scanned every time: looking them up saves nothing worth the memory.
MIN_CHARS = 256
#: Characters of text the cache may hold (~64 MB of ASCII), and entries, whichever is reached first.
MAX_CHARS = 64_000_000
MAX_ENTRIES = 50_000

T = TypeVar("T")


class TextMemo(Generic[T]):
    """A least-recently-used map from exact texts to what was computed for them, bounded by the characters
    its keys hold and by entries."""

    def __init__(self, *, max_chars: int = MAX_CHARS, max_entries: int = MAX_ENTRIES, min_chars: int = MIN_CHARS):
        self._max_chars = max_chars
        self._max_entries = max_entries
        self.min_chars = min_chars
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> T | None:
        """What was stored for `text` (counted as a hit), or None (a miss; short texts are not counted)."""
        if len(text) < self.min_chars:
            return None
        with self._lock:
            hit = self._entries.get(text)
            if hit is None:
                self.misses += 1
            else:
                self._entries.move_to_end(text)
                self.hits += 1
            return hit

    def put(self, text: str, value: T) -> None:
        if len(text) < self.min_chars or len(text) > self._max_chars:
            return
        with self._lock:
            if text in self._entries:
                return
            self._entries[text] = value
            self._chars += len(text)
            while self._entries and (self._chars > self._max_chars or len(self._entries) > self._max_entries):
                old, _ = self._entries.popitem(last=False)
                self._chars -= len(old)


class ScanCache(TextMemo[tuple[Finding, ...]]):
    """`scan_many` with memory: segments seen before are answered from the cache."""

    def __init__(self, detector: Detector, **bounds: int):
        super().__init__(**bounds)
        self.detector = detector

    def scan_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings per text, as `Detector.scan_many` gives them; only texts not seen before are scanned."""
        out: list[list[Finding] | None] = [None] * len(texts)
        todo: list[int] = []
        for i, text in enumerate(texts):
            hit = self.get(text)
            if hit is None:
                todo.append(i)
            else:
                out[i] = list(hit)
        if todo:
            found = self.detector.scan_many([texts[i] for i in todo])
            for i, findings in zip(todo, found):
                out[i] = findings
                self.put(texts[i], tuple(findings))
        return out  # type: ignore[return-value]
