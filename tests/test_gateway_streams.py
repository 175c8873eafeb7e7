"""Stream adapters on their own: any split of the SSE bytes, placeholders across events, end flushes."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientguard.gateway.formats import adapter_for
from clientguard.gateway.sse import SSEParser, _parse_block, _parse_lines
from clientguard.redact import Vault

SECRET = 'p@ss "quoted" \\ back\nslash'


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    return Vault.open("Stream Client", tmp_path_factory.mktemp("v"))


def sse(event: str | None, data) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n").encode()


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def run(api: str, provider: str, vault: Vault, stream: bytes, cuts: list[int]) -> list[tuple[str | None, dict | str]]:
    """Feed `stream` cut at `cuts` through parser and adapter; return the events the agent receives."""
    adapter, parser, out = adapter_for(api, provider, vault), SSEParser(), []
    points = sorted({c % (len(stream) + 1) for c in cuts}) + [len(stream)]
    last = 0
    for p in points:
        for ev in parser.feed(stream[last:p]):
            out.extend(adapter.on_event(ev))
        last = p
    for ev in parser.close():
        out.extend(adapter.on_event(ev))
    out.extend(adapter.finish())
    events = []
    for ev in SSEParser().feed(b"".join(out)):
        events.append((ev.event, json.loads(ev.data) if ev.data and ev.data.startswith("{") else ev.data))
    return events


def chat_stream(vault: Vault, size: int) -> bytes:
    token = vault.placeholder("PASSWORD", SECRET)
    text = f"The password is {token}."
    args = json.dumps({"path": "a.env", "body": f"KEY={token}"})
    out = b"".join(sse(None, {"id": "c1", "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]})
                   for p in pieces(text, size))
    out += sse(None, {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "write", "arguments": ""}}]}}]})
    out += b"".join(sse(None, {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": p}}]}, "finish_reason": None}]}) for p in pieces(args, size))
    out += sse(None, {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return out + sse(None, "[DONE]")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 12), cuts=st.lists(st.integers(0, 100_000), max_size=30))
def test_chat_stream_any_split_restores_content_and_arguments(vault: Vault, size: int, cuts: list[int]) -> None:
    events = run("chat", "openai", vault, chat_stream(vault, size), cuts)
    content, args = "", ""
    for _e, data in events:
        if isinstance(data, dict):
            for ch in data.get("choices", []):
                content += ch["delta"].get("content") or ""
                for call in ch["delta"].get("tool_calls") or []:
                    args += call.get("function", {}).get("arguments") or ""
    assert content == f"The password is {SECRET}."
    assert json.loads(args) == {"path": "a.env", "body": f"KEY={SECRET}"}
    assert events[-1] == (None, "[DONE]")


#: Responses tool channels: the stream's delta/done event name, the done event's field, whether the input is
#: JSON, and the output item carrying the whole input (with the key that holds it).
TOOL_CHANNELS = {
    "function": ("function_call_arguments", "arguments", True,
                 lambda v: {"type": "function_call", "id": "fc1", "call_id": "c1", "name": "t", "arguments": v}),
    "custom": ("custom_tool_call_input", "input", False,
               lambda v: {"type": "custom_tool_call", "id": "fc1", "call_id": "c1", "name": "apply_patch", "input": v}),
    "apply_patch": ("apply_patch_call_operation_diff", "diff", False,
                    lambda v: {"type": "apply_patch_call", "id": "fc1", "call_id": "c1", "status": "completed",
                               "operation": {"type": "update_file", "path": "app/settings.py", "diff": v}}),
    "mcp": ("mcp_call_arguments", "arguments", True,
            lambda v: {"type": "mcp_call", "id": "fc1", "name": "query", "server_label": "db", "arguments": v}),
}


def _item_input(item: dict) -> str:
    return item["operation"]["diff"] if item["type"] == "apply_patch_call" else item.get("arguments", item.get("input"))


def responses_stream(vault: Vault, size: int, channel: str) -> bytes:
    token = vault.placeholder("PASSWORD", SECRET)
    text = f"Key is {token}"
    seq = iter(range(1000))
    out = sse("response.created", {"type": "response.created", "sequence_number": next(seq), "response": {"id": "r1"}})
    for p in pieces(text, size):
        out += sse("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": next(seq),
                                                  "item_id": "m1", "output_index": 0, "content_index": 0, "delta": p})
    out += sse("response.output_text.done", {"type": "response.output_text.done", "sequence_number": next(seq),
                                             "item_id": "m1", "output_index": 0, "content_index": 0, "text": text})
    kind, field, is_json, make_item = TOOL_CHANNELS[channel]
    value = json.dumps({"cmd": f"echo {token}"}) if is_json else f"*** Begin Patch\n+password = {token}\n*** End Patch"
    item = make_item(value)
    out += sse("response.output_item.added", {"type": "response.output_item.added", "sequence_number": next(seq),
                                              "output_index": 1, "item": make_item("")})
    for p in pieces(value, size):
        out += sse(f"response.{kind}.delta", {"type": f"response.{kind}.delta", "sequence_number": next(seq),
                                             "item_id": "fc1", "output_index": 1, "delta": p})
    out += sse(f"response.{kind}.done", {"type": f"response.{kind}.done", "sequence_number": next(seq),
                                        "item_id": "fc1", "output_index": 1, field: value})
    out += sse("response.output_item.done", {"type": "response.output_item.done", "sequence_number": next(seq),
                                             "output_index": 1, "item": item})
    out += sse("response.completed", {"type": "response.completed", "sequence_number": next(seq), "response": {
        "id": "r1", "output": [{"type": "message", "id": "m1", "content": [{"type": "output_text", "text": text}]}, item]}})
    return out


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 12), channel=st.sampled_from(sorted(TOOL_CHANNELS)),
       cuts=st.lists(st.integers(0, 100_000), max_size=30))
def test_responses_stream_deltas_done_events_and_completed_agree(vault: Vault, size, channel, cuts) -> None:
    events = run("responses", "openai", vault, responses_stream(vault, size, channel), cuts)
    kind, field, is_json, _make = TOOL_CHANNELS[channel]
    text = "".join(d["delta"] for _e, d in events if d["type"] == "response.output_text.delta")
    tool = "".join(d["delta"] for _e, d in events if d["type"] == f"response.{kind}.delta")
    done = {d["type"]: d for _e, d in events}
    assert text == f"Key is {SECRET}" == done["response.output_text.done"]["text"]
    assert tool == done[f"response.{kind}.done"][field] == _item_input(done["response.output_item.done"]["item"])
    assert _item_input(done["response.completed"]["response"]["output"][1]) == tool
    assert done["response.completed"]["response"]["output"][0]["content"][0]["text"] == text
    assert (json.loads(tool)["cmd"] == f"echo {SECRET}") if is_json else (f"+password = {SECRET}\n" in tool)
    numbers = [d["sequence_number"] for _e, d in events]
    assert numbers == list(range(len(numbers)))
    assert all(e == d["type"] for e, d in events)


def anthropic_stream(vault: Vault, size: int) -> bytes:
    token = vault.placeholder("PASSWORD", SECRET)
    text = f"Key is {token}"
    partial = json.dumps({"command": f"echo {token}"})
    out = sse("message_start", {"type": "message_start", "message": {"id": "msg_1", "content": []}})
    out += sse("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
    out += sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "thinking_delta", "thinking": f"mention {token}"}})
    out += sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "signature_delta", "signature": "EqQB" + "x" * 20}})
    out += sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    out += sse("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}})
    out += sse("ping", {"type": "ping"})
    for p in pieces(text, size):
        out += sse("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": p}})
    out += sse("content_block_stop", {"type": "content_block_stop", "index": 1})
    out += sse("content_block_start", {"type": "content_block_start", "index": 2,
                                       "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}})
    for p in pieces(partial, size):
        out += sse("content_block_delta", {"type": "content_block_delta", "index": 2,
                                           "delta": {"type": "input_json_delta", "partial_json": p}})
    out += sse("content_block_stop", {"type": "content_block_stop", "index": 2})
    out += sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}})
    return out + sse("message_stop", {"type": "message_stop"})


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 12), cuts=st.lists(st.integers(0, 100_000), max_size=30))
def test_anthropic_stream_restores_text_and_tool_input_before_each_block_stop(vault: Vault, size, cuts) -> None:
    events = run("messages", "anthropic", vault, anthropic_stream(vault, size), cuts)
    blocks: dict[int, str] = {}
    stopped: set[int] = set()
    for _e, d in events:
        if d["type"] == "content_block_delta":
            assert d["index"] not in stopped, "a delta arrived after its block stopped"
            delta = d["delta"]
            blocks[d["index"]] = blocks.get(d["index"], "") + (delta.get("text") or delta.get("partial_json")
                                                               or delta.get("thinking") or "")
        elif d["type"] == "content_block_stop":
            stopped.add(d["index"])
    token = vault.placeholder("PASSWORD", SECRET)
    assert blocks[0] == f"mention {token}"  # thinking stays as the model wrote it (signed)
    assert blocks[1] == f"Key is {SECRET}"
    assert json.loads(blocks[2]) == {"command": f"echo {SECRET}"}
    assert ("ping", {"type": "ping"}) in events


def test_sse_comments_and_crlf_framing_pass_through(vault: Vault) -> None:
    stream = b": keep-alive\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\r\n\r\n"
    adapter, parser = adapter_for("chat", "openai", vault), SSEParser()
    out = b"".join(b for ev in parser.feed(stream) for b in adapter.on_event(ev))
    assert out.startswith(b": keep-alive\n\n")
    assert b'"content":"hi"' in out


_sse_pieces = st.sampled_from([b"event", b"data", b"id", b"retry", b":", b": ", b" ", b"\n", b"\r", b"x", b"{}",
                               "\u00e9".encode(), b"\xff", b"response.output_text.delta"])


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from([b"", b"event: ", b"data: ", b"event: x\ndata: "]), st.lists(_sse_pieces, max_size=10))
def test_the_one_step_event_shapes_parse_as_the_line_by_line_reading_does(head: bytes, pieces: list[bytes]) -> None:
    block = head + b"".join(pieces)
    fast, slow = _parse_block(block), _parse_lines(block)
    assert (fast.raw, fast.event, fast.data) == (slow.raw, slow.event, slow.data)
