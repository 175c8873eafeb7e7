"""Anthropic Messages (what Claude Code speaks) through the gateway with the real anthropic SDK."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from _gateway_support import FAKE_ANTHROPIC_KEY, Canaries, Stack, running_stack

READ_FILE = [{"name": "read_file", "description": "Read a file",
              "input_schema": {"type": "object", "properties": {"path": {"type": "string"}, "note": {"type": "string"}}}}]


@pytest.fixture
def stack(tmp_path: Path):
    with running_stack(tmp_path) as s:
        yield s


def _client(stack: Stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)


def _messages(c: Canaries) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": c.sentence()}]}]


def test_non_streamed_message_holds_originals(stack: Stack) -> None:
    c = Canaries.generate()
    message = _client(stack).messages.create(model="claude-opus-4-8", max_tokens=256, messages=_messages(c),
                                             system=f"You work for {c.client}.")
    text = "".join(b.text for b in message.content if b.type == "text")
    assert stack.leaked(c) == []
    assert c.aws_key_id in text and c.email in text


def test_streamed_text_holds_originals(stack: Stack) -> None:
    c = Canaries.generate()
    with _client(stack).messages.stream(model="claude-opus-4-8", max_tokens=256, messages=_messages(c)) as stream:
        text = "".join(stream.text_stream)
    assert stack.leaked(c) == []
    assert c.aws_key_id in text and c.client in text and "CG_" not in text


def test_streamed_tool_input_is_restored_and_parses(stack: Stack) -> None:
    c = Canaries.generate()
    with _client(stack).messages.stream(model="claude-opus-4-8", max_tokens=256, messages=_messages(c),
                                        tools=READ_FILE) as stream:
        final = stream.get_final_message()
    tool = next(b for b in final.content if b.type == "tool_use")
    assert stack.leaked(c) == []
    assert c.aws_key_id in tool.input["note"] and c.email in tool.input["note"]


def test_thinking_signature_and_tool_history_pass_correctly(stack: Stack) -> None:
    c = Canaries.generate()
    signature = "EqQB" + "x" * 40
    messages = _messages(c) + [
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Need to read the file.", "signature": signature},
            {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "notes.txt", "note": c.email}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": f"AWS_ACCESS_KEY_ID={c.aws_key_id}"}]},
        {"role": "system", "content": f"Mid-conversation note about {c.client}."},
    ]
    _client(stack).messages.create(model="claude-opus-4-8", max_tokens=256, messages=messages, tools=READ_FILE)
    sent = stack.upstream.requests[-1].json["messages"]
    assert stack.leaked(c) == []
    assert sent[1]["content"][0] == {"type": "thinking", "thinking": "Need to read the file.", "signature": signature}
    assert sent[1]["content"][1]["name"] == "read_file" and sent[1]["content"][1]["id"] == "toolu_01"
    assert sent[1]["content"][1]["input"]["path"] == "notes.txt"


def test_count_tokens_is_redacted_like_messages(stack: Stack) -> None:
    c = Canaries.generate()
    result = _client(stack).messages.count_tokens(model="claude-opus-4-8", messages=_messages(c))
    assert result.input_tokens > 0
    assert stack.upstream.requests[-1].path.endswith("/v1/messages/count_tokens")
    assert stack.leaked(c) == []


def test_claude_code_style_path_with_beta_query_and_prefix_is_routed(stack: Stack) -> None:
    c = Canaries.generate()
    client = anthropic.Anthropic(base_url=stack.url + "/anthropic", api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
    client.beta.messages.create(model="claude-opus-4-8", max_tokens=64, messages=_messages(c),
                                betas=["interleaved-thinking-2025-05-14"], extra_query={"beta": "true"})
    recorded = stack.upstream.requests[-1]
    assert recorded.path == "/v1/messages" and "beta=true" in recorded.query
    credentials = recorded.headers.get("x-api-key") or recorded.headers.get("authorization", "")
    assert credentials.endswith(FAKE_ANTHROPIC_KEY)
    assert stack.leaked(c) == []


def test_a_credentials_file_an_agent_read_is_judged_by_its_own_rules(stack: Stack) -> None:
    """Claude Code read ~/.pgpass (outside the repository, so not known at start): the tool call names the file,
    and its rules find the weak password in the tool result, which a rule for code would leave as a stand-in."""
    import secrets
    import string

    weak = "hunter" + "".join(secrets.choice(string.digits) for _ in range(4))
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Why does psql ask for a password?"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/home/dev/.pgpass"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                      "content": f"     1\u2192db.internal:5432:*:app:{weak}\n"}]},
    ]
    _client(stack).messages.create(model="claude-opus-4-8", max_tokens=256, messages=messages)
    assert not any(r.contains(weak) for r in stack.upstream.requests)
    assert stack.upstream.requests[-1].json["messages"][1]["content"][0]["input"]["file_path"] == "/home/dev/.pgpass"
