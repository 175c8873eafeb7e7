"""Chat Completions through the gateway with the real openai SDK: nothing planted leaves, all returns."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import openai
import pytest

from _gateway_support import FAKE_OPENAI_KEY, Canaries, Stack, running_stack

TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "note": {"type": "string"}}},
}}]


@pytest.fixture
def stack(tmp_path: Path):
    with running_stack(tmp_path) as s:
        yield s


def _client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)


def _messages(c: Canaries) -> list[dict]:
    return [
        {"role": "system", "content": f"You work on the {c.client} code base."},
        {"role": "user", "content": c.sentence()},
    ]


def test_non_streamed_answer_holds_originals_and_upstream_saw_none(stack: Stack) -> None:
    c = Canaries.generate()
    answer = _client(stack).chat.completions.create(model="gpt-4.1", messages=_messages(c))
    text = answer.choices[0].message.content
    assert stack.leaked(c) == []
    assert c.aws_key_id in text and c.email in text and c.client in text


def test_streamed_answer_holds_originals_and_upstream_saw_none(stack: Stack) -> None:
    c = Canaries.generate()
    stream = _client(stack).chat.completions.create(model="gpt-4.1", messages=_messages(c), stream=True)
    text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
    assert stack.leaked(c) == []
    assert c.aws_key_id in text and c.email in text
    assert "CG_" not in text


def test_streamed_tool_call_arguments_are_restored_as_valid_json(stack: Stack) -> None:
    c = Canaries.generate()
    with _client(stack).chat.completions.stream(model="gpt-4.1", messages=_messages(c), tools=TOOLS) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    args = json.loads(call.function.arguments)
    assert stack.leaked(c) == []
    assert c.aws_key_id in args["note"] and c.email in args["note"]


def test_tool_results_and_earlier_tool_arguments_in_history_are_redacted(stack: Stack) -> None:
    c = Canaries.generate()
    history = _messages(c) + [
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"path": "notes.txt", "note": c.email})},
        }]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"AWS_ACCESS_KEY_ID={c.aws_key_id}\n"},
    ]
    answer = _client(stack).chat.completions.create(model="gpt-4.1", messages=history, tools=TOOLS)
    sent = stack.upstream.requests[-1].json
    assert stack.leaked(c) == []
    assert sent["messages"][2]["tool_calls"][0]["function"]["name"] == "read_file"
    assert json.loads(sent["messages"][2]["tool_calls"][0]["function"]["arguments"])["path"] == "notes.txt"
    assert c.aws_key_id in answer.choices[0].message.content


def test_a_tool_result_of_url_safe_base64_is_inspected_and_forwarded_intact(stack: Stack) -> None:
    """An agent reads back a file of URL-safe base64 (a screenshot, a recorded cassette) as one 1.5 MB line.
    Random bytes spell service names and key words there now and then; before the service rules' names were
    bounded, inspecting this very text took 190 s (0.02 s now). The key planted after it is redacted, the
    base64 reaches the model unchanged, and the answer holds the key again."""
    import base64
    import random

    c = Canaries.generate()
    rng = random.Random(29)
    blob = base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(1_100_000))).decode()
    for word in ["box", "mux", "ngc", "sumo", "key", "token", "secret"] * 40:
        at = rng.randrange(len(blob))
        blob = blob[:at] + word + blob[at:]
    history = _messages(c) + [
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"path": "capture.b64"})},
        }]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"{blob}\nAWS_ACCESS_KEY_ID={c.aws_key_id}\n"},
    ]
    answer = _client(stack).chat.completions.create(model="gpt-4.1", messages=history, tools=TOOLS)
    sent = stack.upstream.requests[-1].json
    assert stack.leaked(c) == []
    assert sent["messages"][3]["content"].startswith(blob + "\nAWS_ACCESS_KEY_ID=")
    assert c.aws_key_id in answer.choices[0].message.content


def test_same_value_gets_the_same_placeholder_on_every_request(stack: Stack) -> None:
    c = Canaries.generate()
    client = _client(stack)
    client.chat.completions.create(model="gpt-4.1", messages=_messages(c))
    client.chat.completions.create(model="gpt-4.1", messages=_messages(c))
    first, second = stack.upstream.requests[-2:]
    assert first.json["messages"] == second.json["messages"]
    assert first.placeholders()


def test_a_value_found_once_is_redacted_again_without_its_context(stack: Stack) -> None:
    # Agents replay restored values in their history, often without what made the detector find them.
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    client = _client(stack)
    client.chat.completions.create(model="gpt-4.1", messages=[
        {"role": "user", "content": f"AWS_SECRET_ACCESS_KEY={secret}"}])
    assert secret not in stack.upstream.requests[-1].text
    client.chat.completions.create(model="gpt-4.1", messages=[
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "read_file", "arguments": json.dumps({"path": "x", "note": secret})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"the value was {secret}"}])
    assert secret not in stack.upstream.requests[-1].text


def test_a_line_the_client_marked_for_another_scanner_goes_out_as_it_is(stack: Stack) -> None:
    # A pasted test fixture whose line the client's repository allowlists for gitleaks keeps its value; the line
    # without a marker is still redacted, and the Kubernetes env pair below it too.
    allowed = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    other = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    paired = "Pq" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(18)) + "7x"
    code = (f'AWS_SECRET_ACCESS_KEY = "{allowed}"  # gitleaks:allow (a test key of the fake S3)\n'
            f'AWS_SECRET_ACCESS_KEY_PROD = "{other}"\n'
            f"env:\n  - name: DB_PASSWORD\n    value: {paired}\n")
    _client(stack).chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": code}])
    sent = stack.upstream.requests[-1].text
    assert allowed in sent
    assert other not in sent and paired not in sent


def test_a_value_found_with_context_is_also_redacted_bare_in_the_same_request(stack: Stack) -> None:
    # After a restart the gateway has forgotten earlier values; the replayed history still holds the
    # tool output that identifies the secret, and that is enough to catch it in the replayed tool call.
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    _client(stack).chat.completions.create(model="gpt-4.1", messages=[
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "read_file", "arguments": json.dumps({"path": "x", "note": secret})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"AWS_SECRET_ACCESS_KEY={secret}"}])
    assert secret not in stack.upstream.requests[-1].text


def test_a_password_the_repository_saves_is_redacted_wherever_a_request_carries_it(tmp_path: Path) -> None:
    """sftp-config.json saves a weak password: bare in a message (no name before it, nothing a rule could judge)
    it still never reaches the upstream, and the answer gives it back."""
    weak = "hunter" + "".join(secrets.choice(string.digits) for _ in range(4))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "sftp-config.json").write_text(json.dumps({"host": "ftp.example.com", "user": "deploy", "password": weak}))
    (repo / "notes.txt").write_text(f"not a credentials file: {weak}x\n")
    with running_stack(tmp_path) as s:
        assert s.gateway.gateway.saved_credential_files == ["sftp-config.json"]
        answer = _client(s).chat.completions.create(model="gpt-4.1", messages=[
            {"role": "user", "content": f"Log in to the server with {weak} and check the disk."}])
        assert not any(r.contains(weak) for r in s.upstream.requests)
        assert weak in answer.choices[0].message.content


def test_a_client_name_with_umlauts_is_redacted_in_any_case(tmp_path: Path) -> None:
    # re.ASCII's IGNORECASE folds ASCII letters only: MÜLLER BÄCKEREI once went out as it was written.
    with running_stack(tmp_path, client="Müller Bäckerei") as stack:
        prompt = "Angebot für MÜLLER BÄCKEREI GmbH, intern müller bäckerei, Rechnung an Müller Bäckerei."
        answer = _client(stack).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": prompt}])
        sent = " ".join(r.text for r in stack.upstream.requests).lower()
        assert stack.upstream.requests and "bäckerei" not in sent and "b\\u00e4ckerei" not in sent
        assert "ckerei" not in sent  # no spelling of the name got through, escaped or not
        text = answer.choices[0].message.content
        assert "CG_" not in text and "Müller Bäckerei" in text
