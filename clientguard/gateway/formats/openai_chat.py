"""OpenAI Chat Completions streams: restore `content` and `tool_calls[].function.arguments` per choice."""

from __future__ import annotations

from typing import Any

from clientguard.gateway import sse
from clientguard.gateway.segments import restore_json, restore_only_for
from clientguard.gateway.sse import SSEEvent
from clientguard.redact import StreamRestorer, Vault

_TEXT_FIELDS = ("content", "refusal", "reasoning_content")


class ChatStream:
    """Channels: (choice, field) for text, (choice, "tool", index) for tool-call argument fragments."""

    def __init__(self, vault: Vault):
        self._vault = vault
        self._channels: dict[tuple, StreamRestorer] = {}
        self._template: dict[str, Any] | None = None
        self._names: dict[tuple, str] = {}  # a tool call's channel key -> the tool's name (first chunk only)

    def _channel(self, key: tuple, json_escape: bool) -> StreamRestorer:
        ch = self._channels.get(key)
        if ch is None:
            only = restore_only_for(self._names.get(key)) if json_escape else None
            ch = self._channels[key] = StreamRestorer(self._vault, json_escape=json_escape, only=only)
        return ch

    def _flush_choice(self, index: int, delta: dict) -> bool:
        """Append every held-back fragment of choice `index` to `delta`; True if any."""
        changed = False
        for key in [k for k in self._channels if k[0] == index]:
            rest = self._channels.pop(key).flush()
            if not rest:
                continue
            changed = True
            if key[1] == "tool":
                calls = delta.setdefault("tool_calls", [])
                for call in calls:
                    if call.get("index") == key[2]:
                        fn = call.setdefault("function", {})
                        fn["arguments"] = (fn.get("arguments") or "") + rest
                        break
                else:
                    calls.append({"index": key[2], "function": {"arguments": rest}})
            elif key[1] == "function_call":
                fc = delta.setdefault("function_call", {})
                fc["arguments"] = (fc.get("arguments") or "") + rest
            else:
                delta[key[1]] = (delta.get(key[1]) or "") + rest
        return changed

    def on_event(self, ev: SSEEvent) -> list[bytes]:
        data = ev.data
        if data is None:
            return [sse.raw(ev)]
        if data.strip() == "[DONE]":
            return self.finish() + [sse.raw(ev)]
        try:
            obj = sse.json_loads(data)
        except ValueError:
            return [sse.raw(ev)]
        if not isinstance(obj, dict):
            return [sse.raw(ev)]
        choices = obj.get("choices")
        if not isinstance(choices, list):
            return [sse.encode(ev.event, obj)] if restore_json(obj, self._vault) else [sse.raw(ev)]
        if self._template is None and choices:
            self._template = {k: obj[k] for k in ("id", "object", "created", "model") if k in obj}
        changed = False
        for pos, choice in enumerate(choices):
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", pos)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                for fname in _TEXT_FIELDS:
                    text = delta.get(fname)
                    if isinstance(text, str):
                        out = self._channel((index, fname), False).feed(text)
                        if out != text:
                            delta[fname] = out
                            changed = True
                calls = delta.get("tool_calls")
                if isinstance(calls, list):
                    for tpos, call in enumerate(calls):
                        fn = call.get("function") if isinstance(call, dict) else None
                        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                            self._names[(index, "tool", call.get("index", tpos))] = fn["name"]
                        if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                            text = fn["arguments"]
                            out = self._channel((index, "tool", call.get("index", tpos)), True).feed(text)
                            if out != text:
                                fn["arguments"] = out
                                changed = True
                fc = delta.get("function_call")
                if isinstance(fc, dict) and isinstance(fc.get("name"), str):
                    self._names[(index, "function_call")] = fc["name"]
                if isinstance(fc, dict) and isinstance(fc.get("arguments"), str):
                    text = fc["arguments"]
                    out = self._channel((index, "function_call"), True).feed(text)
                    if out != text:
                        fc["arguments"] = out
                        changed = True
            elif isinstance(choice.get("message"), dict):
                changed = restore_json(choice["message"], self._vault) or changed
            if choice.get("finish_reason") is not None:
                if not isinstance(delta, dict):
                    delta = choice["delta"] = {}
                changed = self._flush_choice(index, delta) or changed
        return [sse.encode(ev.event, obj)] if changed else [sse.raw(ev)]

    def finish(self) -> list[bytes]:
        out: list[bytes] = []
        for index in sorted({k[0] for k in self._channels}):
            delta: dict[str, Any] = {}
            if self._flush_choice(index, delta):
                chunk = dict(self._template or {"object": "chat.completion.chunk"})
                chunk["choices"] = [{"index": index, "delta": delta, "finish_reason": None}]
                out.append(sse.encode(None, chunk))
        return out
