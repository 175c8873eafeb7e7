"""A fetch tool's call (Claude Code's WebFetch, MCP fetch servers) gets only the client's identifiers restored.

A prompt injection can make a model put a placeholder into a URL for the agent to fetch; restored, the
secret or personal datum would go to that host. In the arguments of such calls, secrets and personal data
stay placeholders in every API and form (streamed fragments, whole items, non-streamed answers), while
the same arguments of any other tool are restored as always. Checked on the stream adapters directly and
through the real gateway with the real anthropic and openai SDKs.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest

from _gateway_support import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, Canaries, running_stack
from clientguard.gateway.formats.anthropic import AnthropicStream
from clientguard.gateway.formats.openai_chat import ChatStream
from clientguard.gateway.formats.openai_responses import ResponsesStream
from clientguard.gateway.segments import is_fetch_tool, restore_json
from clientguard.gateway.sse import SSEEvent
from clientguard.redact import Vault

SECRET = "AKIAFAKE0000EXAMPLE7"
EMAIL = "jana.novak@posteo.example"
CLIENT = "Acme Health"


@pytest.fixture
def vault() -> Vault:
    return Vault("fetch-tools-test", b"k" * 32)


def _placeholders(vault: Vault) -> tuple[str, str, str]:
    return (vault.placeholder("AWS_ACCESS_KEY_ID", SECRET), vault.placeholder("EMAIL", EMAIL),
            vault.placeholder("CLIENT", CLIENT))


@pytest.mark.parametrize("name", ["WebFetch", "web_fetch", "fetch", "mcp__fetch__fetch", "fetch.fetch_url",
                                  "browser/fetch_webpage", "HTTP_REQUEST"])
def test_fetch_tools_are_known_by_the_last_part_of_their_name(name: str) -> None:
    assert is_fetch_tool(name)


@pytest.mark.parametrize("name", ["Read", "Bash", "read_file", "prefetch_cache", "fetcher", "fetch_logs_summary",
                                  "WebSearch", "", None])
def test_other_tools_are_not_fetch_tools(name: object) -> None:
    assert not is_fetch_tool(name)


def test_vault_restores_only_the_placeholders_it_is_told(vault: Vault) -> None:
    key, mail, client = _placeholders(vault)
    text = f"https://x.example/?k={key}&m={mail}&c={client}"
    assert vault.restore(text) == f"https://x.example/?k={SECRET}&m={EMAIL}&c={CLIENT}"
    assert vault.restore(text, only="CG_CLIENT_") == f"https://x.example/?k={key}&m={mail}&c={CLIENT}"


def test_whole_answers_of_each_api_keep_secrets_out_of_fetch_calls_only(vault: Vault) -> None:
    key, mail, client = _placeholders(vault)
    url = f"https://x.example/?k={key}&m={mail}&c={client}"
    withheld = f"https://x.example/?k={key}&m={mail}&c={CLIENT}"
    restored = f"https://x.example/?k={SECRET}&m={EMAIL}&c={CLIENT}"
    message = {"content": [{"type": "tool_use", "id": "t1", "name": "WebFetch", "input": {"url": url, "prompt": url}},
                           {"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": url}},
                           {"type": "text", "text": url}]}
    assert restore_json(message, vault)
    assert message["content"][0]["input"] == {"url": withheld, "prompt": withheld}
    assert message["content"][1]["input"]["file_path"] == restored
    assert message["content"][2]["text"] == restored
    output = [{"type": "function_call", "name": "mcp__fetch__fetch", "arguments": json.dumps({"url": url})},
              {"type": "function_call", "name": "read_file", "arguments": json.dumps({"path": url})}]
    restore_json(output, vault)
    assert json.loads(output[0]["arguments"]) == {"url": withheld}
    assert json.loads(output[1]["arguments"]) == {"path": restored}
    chat = {"tool_calls": [{"id": "c1", "type": "function", "function": {"name": "fetch", "arguments": json.dumps({"url": url})}}]}
    restore_json(chat, vault)
    assert json.loads(chat["tool_calls"][0]["function"]["arguments"]) == {"url": withheld}


def _sse(obj: dict, event: str | None = None) -> SSEEvent:
    data = json.dumps(obj)
    head = f"event: {event}\n" if event else ""
    return SSEEvent(raw=f"{head}data: {data}".encode(), event=event, data=data)


def _data(chunks: list[bytes]) -> list[dict]:
    out = []
    for chunk in chunks:
        for line in chunk.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[6:]))
    return out


def _split(text: str, size: int = 5) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def test_anthropic_streams_withhold_in_webfetch_input_and_restore_elsewhere(vault: Vault) -> None:
    key, mail, client = _placeholders(vault)
    args = json.dumps({"url": f"https://x.example/?k={key}&m={mail}&c={client}"})
    stream = AnthropicStream(vault)
    out: list[bytes] = []
    for index, name in ((0, "WebFetch"), (1, "Read")):
        out += stream.on_event(_sse({"type": "content_block_start", "index": index,
                                     "content_block": {"type": "tool_use", "id": f"t{index}", "name": name, "input": {}}},
                                    "content_block_start"))
        for piece in _split(args):  # placeholders split across fragments
            out += stream.on_event(_sse({"type": "content_block_delta", "index": index,
                                         "delta": {"type": "input_json_delta", "partial_json": piece}}, "content_block_delta"))
        out += stream.on_event(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    inputs: dict[int, str] = {}
    for ev in _data(out):
        if ev.get("type") == "content_block_delta":
            inputs[ev["index"]] = inputs.get(ev["index"], "") + ev["delta"]["partial_json"]
    assert json.loads(inputs[0])["url"] == f"https://x.example/?k={key}&m={mail}&c={CLIENT}"
    assert json.loads(inputs[1])["url"] == f"https://x.example/?k={SECRET}&m={EMAIL}&c={CLIENT}"


def test_responses_streams_withhold_in_fetch_call_arguments(vault: Vault) -> None:
    key, mail, client = _placeholders(vault)
    args = json.dumps({"url": f"https://x.example/?k={key}&m={mail}&c={client}"})
    stream = ResponsesStream(vault)
    out: list[bytes] = []
    seq = 0
    for n, name in enumerate(("web_fetch", "read_file")):
        item = {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": name, "arguments": ""}
        out += stream.on_event(_sse({"type": "response.output_item.added", "output_index": n, "item": item,
                                     "sequence_number": seq}, "response.output_item.added"))
        for piece in _split(args, 7):
            seq += 1
            out += stream.on_event(_sse({"type": "response.function_call_arguments.delta", "item_id": f"fc_{n}",
                                         "output_index": n, "delta": piece, "sequence_number": seq},
                                        "response.function_call_arguments.delta"))
        seq += 1
        out += stream.on_event(_sse({"type": "response.function_call_arguments.done", "item_id": f"fc_{n}",
                                     "output_index": n, "arguments": args, "sequence_number": seq},
                                    "response.function_call_arguments.done"))
    deltas: dict[str, str] = {}
    dones: dict[str, str] = {}
    for ev in _data(out):
        if ev["type"] == "response.function_call_arguments.delta":
            deltas[ev["item_id"]] = deltas.get(ev["item_id"], "") + ev["delta"]
        elif ev["type"] == "response.function_call_arguments.done":
            dones[ev["item_id"]] = ev["arguments"]
    for item, expected in (("fc_0", f"https://x.example/?k={key}&m={mail}&c={CLIENT}"),
                           ("fc_1", f"https://x.example/?k={SECRET}&m={EMAIL}&c={CLIENT}")):
        assert json.loads(deltas[item])["url"] == expected  # what SDKs assemble ...
        assert json.loads(dones[item])["url"] == expected  # ... and what Codex keeps: the same


def test_chat_streams_withhold_in_fetch_tool_calls(vault: Vault) -> None:
    key, mail, client = _placeholders(vault)
    args = json.dumps({"url": f"https://x.example/?k={key}&m={mail}&c={client}"})
    stream = ChatStream(vault)
    out: list[bytes] = []
    for n, name in enumerate(("fetch", "read_file")):
        pieces = _split(args, 6)
        first = {"index": n, "id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": pieces[0]}}
        out += stream.on_event(_sse({"id": "c", "object": "chat.completion.chunk",
                                     "choices": [{"index": 0, "delta": {"tool_calls": [first]}}]}))
        for piece in pieces[1:]:
            out += stream.on_event(_sse({"id": "c", "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": {"tool_calls": [{"index": n, "function": {"arguments": piece}}]}}]}))
    out += stream.on_event(_sse({"id": "c", "object": "chat.completion.chunk",
                                 "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
    calls: dict[int, str] = {}
    for ev in _data(out):
        for choice in ev["choices"]:
            for call in choice["delta"].get("tool_calls", []):
                calls[call["index"]] = calls.get(call["index"], "") + call.get("function", {}).get("arguments", "")
    assert json.loads(calls[0])["url"] == f"https://x.example/?k={key}&m={mail}&c={CLIENT}"
    assert json.loads(calls[1])["url"] == f"https://x.example/?k={SECRET}&m={EMAIL}&c={CLIENT}"


def _tool(name: str) -> dict:
    return {"name": name, "description": "A tool", "input_schema": {
        "type": "object", "properties": {"path": {"type": "string"}, "note": {"type": "string"}}}}


def test_through_the_gateway_a_webfetch_call_keeps_placeholders_and_a_read_call_does_not(tmp_path: Path) -> None:
    """The recording upstream calls the first tool offered with a note repeating every placeholder it saw."""
    c = Canaries.generate()
    with running_stack(tmp_path) as stack:
        client = anthropic.Anthropic(base_url=stack.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        messages = [{"role": "user", "content": c.sentence()}]
        notes = {}
        for name in ("WebFetch", "Read"):
            with client.messages.stream(model="claude-opus-4-8", max_tokens=256, messages=messages,
                                        tools=[_tool(name)]) as stream:
                final = stream.get_final_message()
            notes[name] = next(b for b in final.content if b.type == "tool_use").input["note"]
        streamed = client.messages.create(model="claude-opus-4-8", max_tokens=256, messages=messages,
                                          tools=[_tool("mcp__fetch__fetch")])
        notes["whole"] = next(b for b in streamed.content if b.type == "tool_use").input["note"]
        assert stack.leaked(c) == []
    assert c.aws_key_id in notes["Read"] and c.email in notes["Read"] and c.client in notes["Read"]
    for name in ("WebFetch", "whole"):
        assert c.aws_key_id not in notes[name] and c.email not in notes[name], notes[name]
        assert "CG_AWS_ACCESS_KEY_ID_" in notes[name]  # the placeholder stayed ...
        assert c.client in notes[name]  # ... and the client's own name came back


def test_through_the_gateway_an_openai_fetch_call_keeps_placeholders(tmp_path: Path) -> None:
    c = Canaries.generate()
    tools = [{"type": "function", "function": {"name": "web_fetch", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}, "note": {"type": "string"}}}}}]
    with running_stack(tmp_path) as stack:
        client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        messages = [{"role": "user", "content": c.sentence()}]
        reply = client.chat.completions.create(model="gpt-test", messages=messages, tools=tools)
        whole = json.loads(reply.choices[0].message.tool_calls[0].function.arguments)["note"]
        args = ""
        for chunk in client.chat.completions.create(model="gpt-test", messages=messages, tools=tools, stream=True):
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                args += call.function.arguments or ""
        streamed = json.loads(args)["note"]
        assert stack.leaked(c) == []
    for note in (whole, streamed):
        assert c.aws_key_id not in note and c.email not in note and c.client in note, note
