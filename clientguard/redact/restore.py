"""Restoring placeholders in streamed text: hold back only what could still become a placeholder.

Model output arrives in arbitrary fragments; a placeholder may be split across any number of them.
A `StreamRestorer` emits everything up to the last position where a placeholder could begin and keeps
that tail (at most MAX_PLACEHOLDER_LEN - 1 characters, and only while it is a prefix of the placeholder
grammar), so the first token reaches the agent as soon as it cannot be part of a placeholder.

In JSON mode (tool-call argument fragments, Anthropic ``partial_json``) the restored value is
JSON-escaped, because the placeholder sits inside a string literal of a JSON document.
"""

from __future__ import annotations

from clientguard.redact.vault import MAX_PLACEHOLDER_LEN, PARTIAL_PLACEHOLDER_RE, Vault

_WINDOW = MAX_PLACEHOLDER_LEN - 1


def holdback_start(text: str) -> int:
    """Index where the tail that might still grow into a placeholder begins (len(text) if none)."""
    start = len(text) - _WINDOW
    if start < 0:
        start = 0
    i = text.find("C", start)
    fullmatch = PARTIAL_PLACEHOLDER_RE.fullmatch
    while i != -1:
        if fullmatch(text, i):
            return i
        i = text.find("C", i + 1)
    return len(text)


class StreamRestorer:
    """Restores one channel of streamed text (one content part, one tool call's arguments, ...)."""

    __slots__ = ("_vault", "_json", "_held", "_only")

    def __init__(self, vault: Vault, *, json_escape: bool = False, only: str | None = None):
        self._vault = vault
        self._json = json_escape
        self._held = ""
        self._only = only  # restore just the placeholders starting with this (see Vault.restore)

    @property
    def pending(self) -> str:
        """The raw text held back so far (a possible placeholder prefix)."""
        return self._held

    def feed(self, chunk: str) -> str:
        """Take the next fragment; return the restored text that is safe to emit now."""
        buf = self._held + chunk if self._held else chunk
        cut = holdback_start(buf)
        if cut == len(buf):
            self._held = ""
            return self._vault.restore(buf, json_escape=self._json, only=self._only)
        self._held = buf[cut:]
        return self._vault.restore(buf[:cut], json_escape=self._json, only=self._only)

    def flush(self) -> str:
        """End of the channel: return whatever is held back, restored."""
        held, self._held = self._held, ""
        return self._vault.restore(held, json_escape=self._json, only=self._only) if held else ""
