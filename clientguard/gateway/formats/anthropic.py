"""Anthropic Messages streams (Claude Code): restore `text_delta` and `input_json_delta` per block.

There is no "done" event carrying a tool's full input: the client concatenates `partial_json` and
parses at `content_block_stop`, so held-back text goes out as one extra `content_block_delta` right
before the stop. Thinking blocks and signatures pass through untouched.
"""

from __future__ import annotations


from clientguard.gateway import sse
from clientguard.gateway.segments import restore_json, restore_only_for
from clientguard.gateway.sse import SSEEvent
from clientguard.redact import StreamRestorer, Vault

_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


class AnthropicStream:
    """One restorer per content block index: raw text for text blocks, JSON mode for tool input."""

    def __init__(self, vault: Vault):
        self._vault = vault
        self._channels: dict[int, tuple[StreamRestorer, str]] = {}

    def _flush(self, index: int) -> list[bytes]:
        entry = self._channels.pop(index, None)
        if entry is None:
            return []
        restorer, delta_type = entry
        rest = restorer.flush()
        if not rest:
            return []
        field = "partial_json" if delta_type == "input_json_delta" else "text"
        data = {"type": "content_block_delta", "index": index, "delta": {"type": delta_type, field: rest}}
        return [sse.encode("content_block_delta", data)]

    def on_event(self, ev: SSEEvent) -> list[bytes]:
        obj = sse.json_object(ev)
        if obj is None:
            return [sse.raw(ev)]
        etype = obj.get("type", ev.event)
        out: list[bytes] = []
        changed = False
        if etype == "content_block_delta":
            index = obj.get("index")
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            field = "text" if dtype == "text_delta" else "partial_json" if dtype == "input_json_delta" else None
            if field is not None and isinstance(delta.get(field), str):
                entry = self._channels.get(index)
                if entry is None:
                    entry = self._channels[index] = (StreamRestorer(self._vault, json_escape=field == "partial_json"), dtype)
                text = delta[field]
                restored = entry[0].feed(text)
                if restored != text:
                    delta[field] = restored
                    changed = True
            elif dtype not in ("thinking_delta", "signature_delta") and "CG_" in ev.data:
                changed = restore_json(obj, self._vault)
        elif etype == "content_block_stop":
            out.extend(self._flush(obj.get("index")))
        elif etype == "content_block_start":
            block = obj.get("content_block") or {}
            index = obj.get("index")
            if block.get("type") == "text":
                self._channels[index] = (StreamRestorer(self._vault), "text_delta")
            elif block.get("type") in _TOOL_BLOCKS:
                restorer = StreamRestorer(self._vault, json_escape=True, only=restore_only_for(block.get("name")))
                self._channels[index] = (restorer, "input_json_delta")
            if "CG_" in ev.data:
                changed = restore_json(obj, self._vault)
        else:
            if etype in ("message_delta", "message_stop", "error"):
                for index in list(self._channels):
                    out.extend(self._flush(index))
            if "CG_" in ev.data:
                changed = restore_json(obj, self._vault)
        out.append(sse.encode(ev.event, obj) if changed else sse.raw(ev))
        return out

    def finish(self) -> list[bytes]:
        out: list[bytes] = []
        for index in list(self._channels):
            out.extend(self._flush(index))
        return out
