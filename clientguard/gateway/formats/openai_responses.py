"""OpenAI Responses streams (Codex): restore deltas, and keep `.done` events and `response.completed`
consistent with them, since Codex takes its history from `output_item.done` and SDKs from the deltas.

Held-back text is flushed as one extra delta event just before the channel's `.done` event; every
later event's `sequence_number` is shifted so the numbering stays strictly increasing.
"""

from __future__ import annotations

import copy

from clientguard.gateway import sse
from clientguard.gateway.segments import restore_json, restore_only_for
from clientguard.gateway.sse import SSEEvent
from clientguard.redact import StreamRestorer, Vault

#: delta event type -> (channel kind, JSON-escaped?, matching done event type)
_DELTAS = {
    "response.output_text.delta": ("text", False),
    "response.refusal.delta": ("refusal", False),
    "response.function_call_arguments.delta": ("args", True),
    "response.custom_tool_call_input.delta": ("custom", False),
    # The hosted apply_patch tool streams its diff; MCP calls their JSON arguments.
    "response.apply_patch_call_operation_diff.delta": ("patch", False),
    "response.mcp_call_arguments.delta": ("mcp", True),
}
_DONES = {
    "response.output_text.done": "text",
    "response.refusal.done": "refusal",
    "response.function_call_arguments.done": "args",
    "response.custom_tool_call_input.done": "custom",
    "response.apply_patch_call_operation_diff.done": "patch",
    "response.mcp_call_arguments.done": "mcp",
}
#: Channels that carry a named tool's input (a fetch tool gets only the client's identifiers back).
_NAMED = ("args", "custom", "mcp")
_TERMINAL = ("response.completed", "response.incomplete", "response.failed", "error")


def _key(kind: str, obj: dict) -> tuple:
    item = obj.get("item_id", obj.get("output_index"))
    if kind in ("text", "refusal"):
        return (kind, item, obj.get("content_index"))
    return (kind, item)


class ResponsesStream:
    """One restorer per (item, content part) text channel and per tool call's argument stream."""

    def __init__(self, vault: Vault):
        self._vault = vault
        self._channels: dict[tuple, tuple[StreamRestorer, dict, str | None]] = {}
        self._shift = 0  # extra events inserted so far
        self._names: dict[object, str] = {}  # tool call item id and output index -> the tool's name

    def _synthetic(self, key: tuple, seq: int | None) -> bytes | None:
        restorer, template, event_name = self._channels.pop(key)
        rest = restorer.flush()
        if not rest:
            return None
        ev = copy.copy(template)
        ev["delta"] = rest
        if isinstance(seq, int):
            ev["sequence_number"] = seq + self._shift
            self._shift += 1
        elif "sequence_number" in ev:
            ev.pop("sequence_number")
        return sse.encode(event_name, ev)

    def _flush(self, keys: list[tuple], seq: int | None) -> list[bytes]:
        out = []
        for key in keys:
            b = self._synthetic(key, seq)
            if b is not None:
                out.append(b)
        return out

    def on_event(self, ev: SSEEvent) -> list[bytes]:
        obj = sse.json_object(ev)
        if obj is None:
            return [sse.raw(ev)]
        etype = obj.get("type", ev.event)
        seq = obj.get("sequence_number")
        out: list[bytes] = []
        changed = False
        spec = _DELTAS.get(etype)
        if spec is not None and isinstance(obj.get("delta"), str):
            kind, json_escape = spec
            key = _key(kind, obj)
            entry = self._channels.get(key)
            if entry is None:
                only = restore_only_for(self._names.get(key[1])) if kind in _NAMED else None
                entry = (StreamRestorer(self._vault, json_escape=json_escape, only=only), obj, ev.event)
                self._channels[key] = entry
            text = obj["delta"]
            restored = entry[0].feed(text)
            if restored != text:
                template = dict(obj)
                self._channels[key] = (entry[0], template, ev.event)
                obj["delta"] = restored
                changed = True
        else:
            if etype == "response.output_item.added":
                item = obj.get("item")
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    self._names[item.get("id")] = self._names[obj.get("output_index")] = item["name"]
            only = None
            if etype in _DONES:
                key = _key(_DONES[etype], obj)
                if key in self._channels:
                    out.extend(self._flush([key], seq))
                if key[0] in _NAMED:  # a .done event carries the whole input, but not the name
                    only = restore_only_for(self._names.get(key[1]))
            elif etype == "response.output_item.done":
                item = obj.get("item") or {}
                ids = {item.get("id"), obj.get("output_index")}
                out.extend(self._flush([k for k in self._channels if k[1] in ids], seq))
            elif etype in _TERMINAL:
                out.extend(self._flush(list(self._channels), seq))
            changed = restore_json(obj, self._vault, only) if "CG_" in ev.data else False
        if self._shift and isinstance(seq, int):
            obj["sequence_number"] = seq + self._shift
            changed = True
        out.append(sse.encode(ev.event, obj) if changed else sse.raw(ev))
        return out

    def finish(self) -> list[bytes]:
        return self._flush(list(self._channels), None)
