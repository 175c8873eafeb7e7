"""Values this gateway has already pseudonymized, found again wherever they reappear.

A value the gateway restored into an answer comes back in the next request (agents replay their
history), often without the context that made the detector find it the first time: a bare AWS
secret inside a tool call's arguments has no ``AWS_SECRET_ACCESS_KEY=`` before it. Every value that
was replaced once is therefore kept (in memory only, like the vault) and searched for literally in
every later request, with the same rule, kind, label and fingerprint as when it was first found.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

MIN_LENGTH = 6  # shorter values would match ordinary words
MAX_VALUES = 10_000


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of `words`, shaped as a trie so each position follows one branch."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch != ""]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return build(trie)


class KnownValues:
    """Literal search for values already replaced by placeholders, returning ready-made findings."""

    def __init__(self) -> None:
        self._meta: dict[str, Any] = {}
        self._regex: re.Pattern[str] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._meta)

    def add(self, value: str, finding: Any) -> None:
        """Remember `value` with the finding that first identified it."""
        if len(value) < MIN_LENGTH or value in self._meta or len(self._meta) >= MAX_VALUES:
            return
        with self._lock:
            self._meta[value] = finding
            self._dirty = True

    def _pattern(self) -> re.Pattern[str] | None:
        if self._dirty:
            with self._lock:
                words = sorted(self._meta, key=len, reverse=True)
                self._regex = re.compile(_trie_pattern(words)) if words else None
                self._dirty = False
        return self._regex

    def find(self, text: str) -> list[Any]:
        """Findings for every occurrence of a known value in `text` (longest value wins at a position)."""
        regex = self._pattern()
        if regex is None:
            return []
        out = []
        for m in regex.finditer(text):
            original = self._meta.get(m.group(0))
            if original is not None:
                out.append(dataclasses.replace(original, start=m.start(), end=m.end()))
        return out
