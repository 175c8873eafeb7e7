"""The recording upstream speaks the three provider APIs well enough for the real SDKs, and records all.

Each test drives it over real HTTP on 127.0.0.1 with the official openai / anthropic SDKs (or httpx for
the raw wire details), so the gateway tests can trust what it sends and what it says it received.
"""

from __future__ import annotations

import gzip
import json

import anthropic
import httpx
import openai
import pytest
import zstandard

from clientguard.gateway.recording import (
    PLACEHOLDER_RE,
    RecordingUpstream,
    choose_write_tool,
    split_deltas,
    working_directory,
)

PLACEHOLDER = "CG_EMAIL_abcdefgh"  # the vault grammar: CG_, label, 8 base32 characters
READ_FILE_TOOL = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
}


@pytest.fixture(scope="module")
def upstream():
    with RecordingUpstream(tool_file="config.py", echo=["echo-me"]) as up:
        yield up


@pytest.fixture(autouse=True)
def _fresh(upstream: RecordingUpstream):
    upstream.clear()


@pytest.fixture
def oai(upstream: RecordingUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-test-FAKE0000", max_retries=0)


@pytest.fixture
def claude(upstream: RecordingUpstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=upstream.url, api_key="sk-ant-test-FAKE0000", max_retries=0)


def sse_events(raw: str) -> list[tuple[str | None, str]]:
    """(event name, data) pairs of an SSE body."""
    out = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((name, "\n".join(data)))
    return out


def test_placeholder_pattern_is_the_vaults():
    from clientguard.redact import vault

    assert PLACEHOLDER_RE is vault.PLACEHOLDER_RE


def test_split_deltas_cuts_text_into_five_to_seven_character_pieces():
    pieces = split_deltas("x" * 40)
    assert "".join(pieces) == "x" * 40
    assert [len(p) for p in pieces] == [5, 6, 7, 5, 6, 7, 4]


def test_chat_completion_answers_text_echoing_placeholders_and_requested_strings(oai):
    result = oai.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": f"mail {PLACEHOLDER}"}])
    text = result.choices[0].message.content
    assert PLACEHOLDER in text
    assert "echo-me" in text
    assert result.choices[0].finish_reason == "stop"


def test_chat_stream_asks_for_the_configured_file_when_a_tool_is_offered(oai):
    stream = oai.chat.completions.create(
        model="gpt-4.1",
        messages=[{"role": "user", "content": f"open it for {PLACEHOLDER}"}],
        tools=[READ_FILE_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    name, arguments, finish, usage = None, "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                name = call.function.name or name
                arguments += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert name == "read_file"
    assert json.loads(arguments) == {"path": "config.py", "note": f"{PLACEHOLDER} echo-me"}
    assert finish == "tool_calls"
    assert usage is not None and usage.total_tokens > 0


def test_chat_answers_with_text_once_the_tool_result_is_present(oai):
    messages = [
        {"role": "user", "content": "open config.py"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"config.py"}'}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"OWNER={PLACEHOLDER}"},
    ]
    result = oai.chat.completions.create(model="gpt-4.1", messages=messages, tools=[READ_FILE_TOOL])
    assert result.choices[0].message.tool_calls is None
    assert "I read config.py." in result.choices[0].message.content
    assert PLACEHOLDER in result.choices[0].message.content


def test_chat_stream_splits_a_placeholder_across_chunks(upstream):
    body = {"model": "gpt-4.1", "stream": True, "messages": [{"role": "user", "content": PLACEHOLDER}]}
    raw = httpx.post(f"{upstream.url}/v1/chat/completions", json=body).text
    contents = [
        json.loads(data)["choices"][0]["delta"].get("content", "")
        for _, data in sse_events(raw)
        if data != "[DONE]" and json.loads(data)["choices"]
    ]
    assert PLACEHOLDER in "".join(contents)
    assert not any(PLACEHOLDER in c for c in contents)
    assert raw.rstrip().endswith("data: [DONE]")


def test_responses_stream_follows_the_event_sequence_codex_accepts(upstream):
    body = {"model": "gpt-5.1", "stream": True, "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": PLACEHOLDER}]}]}
    events = sse_events(httpx.post(f"{upstream.url}/v1/responses", json=body).text)
    kinds = [name for name, _ in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    payloads = [json.loads(data) for _, data in events]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    completed = payloads[-1]["response"]
    assert completed["id"].startswith("resp_")
    assert PLACEHOLDER in completed["output"][0]["content"][0]["text"]


def test_responses_stream_gives_codex_an_exec_command_call_to_cat_the_file(oai):
    tools = [{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]
    with oai.responses.stream(model="gpt-5.1", input="show the file", tools=tools) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and call.name == "exec_command"
    assert json.loads(call.arguments) == {"cmd": "cat config.py"}
    assert "".join(deltas) == call.arguments
    assert len(deltas) > 1


def test_responses_answer_text_after_a_function_call_output(oai):
    inputs = [
        {"type": "message", "role": "user", "content": "show the file"},
        {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": '{"cmd":"cat config.py"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": f"KEY={PLACEHOLDER}"},
    ]
    result = oai.responses.create(model="gpt-5.1", input=inputs, tools=[{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}])
    assert "I read config.py." in result.output_text
    assert PLACEHOLDER in result.output_text


def test_messages_stream_gives_claude_code_a_bash_call_after_a_signed_thinking_block(claude):
    with claude.messages.stream(
        model="claude-opus-4-8",
        max_tokens=1000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        messages=[{"role": "user", "content": f"show the file of {PLACEHOLDER}"}],
    ) as stream:
        message = stream.get_final_message()
    thinking, tool_use = message.content
    assert thinking.type == "thinking" and thinking.signature
    assert tool_use.type == "tool_use" and tool_use.name == "Bash"
    assert tool_use.input["command"] == "cat config.py"
    assert PLACEHOLDER in tool_use.input["description"]
    assert message.stop_reason == "tool_use"


def test_messages_answer_text_after_a_tool_result(claude):
    messages = [
        {"role": "user", "content": "show the file"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cat config.py"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": f"KEY={PLACEHOLDER}"}]},
    ]
    message = claude.messages.create(model="claude-opus-4-8", max_tokens=1000, messages=messages,
                                     tools=[{"name": "Bash", "input_schema": {"type": "object"}}])
    assert message.content[0].type == "text"
    assert PLACEHOLDER in message.content[0].text
    assert message.stop_reason == "end_turn"


def test_messages_stream_sends_a_ping_and_splits_text_deltas(upstream):
    body = {"model": "claude-opus-4-8", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": PLACEHOLDER}]}
    events = sse_events(httpx.post(f"{upstream.url}/v1/messages?beta=true", json=body).text)
    kinds = [name for name, _ in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "ping" in kinds
    texts = [json.loads(d)["delta"]["text"] for n, d in events if n == "content_block_delta"]
    assert PLACEHOLDER in "".join(texts) and not any(PLACEHOLDER in t for t in texts)
    assert upstream.requests[-1].query == "beta=true"


def test_count_tokens_answers_an_input_token_count(claude):
    count = claude.messages.count_tokens(model="claude-opus-4-8", messages=[{"role": "user", "content": "hello there"}])
    assert count.input_tokens > 0


def test_models_are_listed_in_the_shape_of_the_asking_sdk(oai, claude):
    assert "gpt-5.1" in [m.id for m in oai.models.list().data]
    assert "claude-opus-4-8" in [m.id for m in claude.models.list().data]


def test_websocket_upgrade_on_responses_gets_426(upstream):
    response = httpx.get(
        f"{upstream.url}/v1/responses",
        headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    )
    assert response.status_code == 426
    assert "WebSocket" in response.json()["error"]["message"]


def test_every_request_is_recorded_with_path_query_headers_and_json(upstream, claude):
    claude.messages.create(model="claude-opus-4-8", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    (recorded,) = upstream.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    assert recorded.headers["anthropic-version"]
    assert "sk-ant-test-FAKE0000" in (recorded.headers.get("x-api-key", "") + recorded.headers.get("authorization", ""))
    assert recorded.json["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_compressed_request_bodies_are_recorded_decoded(upstream, encoding):
    raw = json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": PLACEHOLDER}]}).encode()
    packed = gzip.compress(raw) if encoding == "gzip" else zstandard.ZstdCompressor().compress(raw)
    response = httpx.post(
        f"{upstream.url}/v1/chat/completions",
        content=packed,
        headers={"content-type": "application/json", "content-encoding": encoding},
    )
    assert response.status_code == 200
    assert upstream.requests[-1].json["messages"][0]["content"] == PLACEHOLDER


def test_malformed_json_gets_a_provider_shaped_400(upstream):
    response = httpx.post(f"{upstream.url}/v1/messages", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_queued_error_answers_the_next_request_once(upstream, oai):
    upstream.queue_error(429, {"error": {"message": "slow down", "type": "rate_limit_error"}})
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert oai.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]).choices


def test_routes_match_on_the_end_of_the_path(upstream):
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    for path in ("/chat/completions", "/openai/v1/chat/completions"):
        assert httpx.post(f"{upstream.url}{path}", json=body).json()["object"] == "chat.completion"


def test_contains_finds_a_needle_in_headers_and_json_escaped_bodies(upstream):
    httpx.post(
        f"{upstream.url}/v1/chat/completions",
        json={"model": "gpt-4.1", "messages": [{"role": "user", "content": 'say "quoted"\nline'}]},
        headers={"x-trace": "needle-in-header"},
    )
    recorded = upstream.requests[-1]
    assert recorded.contains('say "quoted"\nline')
    assert recorded.contains("needle-in-header")
    assert not recorded.contains("absent")


WRITE_FILE_TOOL = {
    "type": "function",
    "function": {
        "name": "write_file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}},
    },
}


def _chat_after_reading(extra: list[dict] | None = None) -> list[dict]:
    return [
        {"role": "user", "content": "summarize config.py"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"config.py"}'}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"OWNER={PLACEHOLDER}"},
        *(extra or []),
    ]


def test_with_a_write_file_the_second_turn_writes_every_placeholder_seen():
    with RecordingUpstream(tool_file="config.py", write_file="summary.txt") as up:
        client = openai.OpenAI(base_url=f"{up.url}/v1", api_key="sk-test-FAKE0000", max_retries=0)
        result = client.chat.completions.create(
            model="gpt-4.1", messages=_chat_after_reading(), tools=[READ_FILE_TOOL, WRITE_FILE_TOOL]
        )
    (call,) = result.choices[0].message.tool_calls
    assert call.function.name == "write_file"
    assert json.loads(call.function.arguments) == {"path": "summary.txt", "content": f"{PLACEHOLDER}\n"}


def test_with_a_write_file_the_third_turn_answers_text_naming_both_files():
    written = [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "write_file", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
    ]
    with RecordingUpstream(tool_file="config.py", write_file="summary.txt") as up:
        client = openai.OpenAI(base_url=f"{up.url}/v1", api_key="sk-test-FAKE0000", max_retries=0)
        result = client.chat.completions.create(
            model="gpt-4.1", messages=_chat_after_reading(written), tools=[READ_FILE_TOOL, WRITE_FILE_TOOL]
        )
    assert result.choices[0].message.content.startswith("I read config.py. I wrote summary.txt.")


def test_codex_write_is_a_printf_that_keeps_each_value_in_single_quotes():
    choice = choose_write_tool(["exec_command"], "summary.txt", ["CG_CLIENT_abcdefgh", "CG_EMAIL_abcdefgh"], None)
    assert choice is not None
    assert choice.arguments == {"cmd": "printf '%s\\n' 'CG_CLIENT_abcdefgh' 'CG_EMAIL_abcdefgh' > summary.txt"}


def test_claude_code_write_targets_the_working_directory_its_prompt_names():
    prompt = "Here is useful information about the environment:\n - Primary working directory: /home/dev/CG_CLIENT_abcdefgh-portal\n"
    cwd = working_directory(json.dumps({"system": [{"type": "text", "text": prompt}]}))
    choice = choose_write_tool(["Bash", "Write"], "summary.txt", ["x"], cwd)
    assert choice is not None
    assert choice.arguments == {"file_path": "/home/dev/CG_CLIENT_abcdefgh-portal/summary.txt", "content": "x\n"}


def test_the_delay_header_makes_it_think_before_answering(upstream):
    import time

    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    started = time.perf_counter()
    r = httpx.post(f"{upstream.url}/v1/chat/completions", json=body, headers={"x-recording-delay-ms": "60"})
    waited = time.perf_counter() - started
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    assert waited >= 0.06
    bad = httpx.post(f"{upstream.url}/v1/chat/completions", json=body, headers={"x-recording-delay-ms": "soon"})
    assert bad.status_code == 400 and "x-recording-delay-ms" in bad.json()["error"]["message"]
