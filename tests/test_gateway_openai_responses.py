"""Responses API (what Codex speaks) through the gateway with the real openai SDK."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import openai
import pytest

from _gateway_support import FAKE_OPENAI_KEY, Canaries, Stack, running_stack

TOOLS = [{"type": "function", "name": "exec_command", "description": "Run a shell command",
          "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]
READ_FILE = [{"type": "function", "name": "read_file", "description": "Read a file",
              "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "note": {"type": "string"}}}}]


@pytest.fixture
def stack(tmp_path: Path):
    with running_stack(tmp_path) as s:
        yield s


def _client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)


def _input(c: Canaries, cwd: str = "/home/dev/acme-health.de/app") -> list[dict]:
    return [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are a coding agent."}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": f"<environment_context><cwd>{cwd}</cwd></environment_context>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": c.sentence()}]},
    ]


def test_non_streamed_response_holds_originals(stack: Stack) -> None:
    c = Canaries.generate()
    response = _client(stack).responses.create(model="gpt-5.1", input=_input(c))
    assert stack.leaked(c) == []
    assert c.aws_key_id in response.output_text and c.email in response.output_text


def test_streamed_deltas_and_completed_response_agree_on_the_originals(stack: Stack) -> None:
    c = Canaries.generate()
    deltas, done_texts, completed = [], [], None
    for event in _client(stack).responses.create(model="gpt-5.1", input=_input(c), stream=True):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        elif event.type == "response.output_text.done":
            done_texts.append(event.text)
        elif event.type == "response.completed":
            completed = event.response
    streamed = "".join(deltas)
    assert stack.leaked(c) == []
    assert c.aws_key_id in streamed and c.client in streamed and "CG_" not in streamed
    assert done_texts == [streamed]
    assert completed is not None and completed.output_text == streamed


def test_sequence_numbers_stay_strictly_increasing(stack: Stack) -> None:
    c = Canaries.generate()
    numbers = [e.sequence_number for e in _client(stack).responses.create(model="gpt-5.1", input=_input(c), stream=True)]
    assert numbers == sorted(set(numbers))


def test_streamed_function_call_arguments_are_restored_in_deltas_and_items(stack: Stack) -> None:
    c = Canaries.generate()
    args_deltas, item_args = [], None
    for event in _client(stack).responses.create(model="gpt-5.1", input=_input(c), tools=READ_FILE, stream=True):
        if event.type == "response.function_call_arguments.delta":
            args_deltas.append(event.delta)
        elif event.type == "response.output_item.done" and event.item.type == "function_call":
            item_args = event.item.arguments
    assert item_args is not None
    assert "".join(args_deltas) == item_args
    note = json.loads(item_args)["note"]
    assert c.aws_key_id in note and c.email in note and "CG_" not in note


def test_history_items_are_redacted_but_reasoning_passes_untouched(stack: Stack) -> None:
    c = Canaries.generate()
    encrypted = "gAAAAB" + "A" * 40 + c.client.replace(" ", "")  # opaque: must arrive byte-identical
    items = _input(c) + [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": encrypted},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "exec_command",
         "arguments": json.dumps({"cmd": f"grep {c.email} users.csv"})},
        {"type": "function_call_output", "call_id": "call_1", "output": f"key={c.aws_key_id}\n"},
        {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch",
         "input": f"*** Begin Patch\n+owner = {c.email}\n*** End Patch"},
    ]
    _client(stack).responses.create(model="gpt-5.1", input=items, tools=TOOLS)
    sent = stack.upstream.requests[-1].json["input"]
    assert stack.leaked(c) == []
    assert sent[3]["encrypted_content"] == encrypted
    assert sent[4]["name"] == "exec_command" and sent[4]["call_id"] == "call_1"
    assert json.loads(sent[4]["arguments"])["cmd"].startswith("grep CG_EMAIL_")


def test_workspace_path_in_environment_context_and_turn_metadata_is_pseudonymized(stack: Stack) -> None:
    c = Canaries.generate()
    metadata = json.dumps({"workspaces": {"/home/dev/acme-health.de/app": {"has_changes": True}}})
    _client(stack).responses.create(
        model="gpt-5.1", input=_input(c), extra_headers={"x-codex-turn-metadata": metadata},
        extra_body={"client_metadata": {"x-codex-turn-metadata": metadata}},
    )
    recorded = stack.upstream.requests[-1]
    assert "acme-health.de" not in recorded.text
    assert "acme-health.de" not in recorded.headers["x-codex-turn-metadata"]
    assert json.loads(recorded.headers["x-codex-turn-metadata"])["workspaces"]


def test_unknown_item_types_keep_their_shape_but_their_strings_are_inspected(stack: Stack) -> None:
    c = Canaries.generate()
    unknown = {"type": "configuration_update", "id": "cu_1", "payload": {"notes": [c.sentence()], "level": 3}}
    _client(stack).responses.create(model="gpt-5.1", input=_input(c) + [unknown])
    sent = stack.upstream.requests[-1].json["input"][-1]
    assert stack.leaked(c) == []
    assert sent["type"] == "configuration_update" and sent["id"] == "cu_1" and sent["payload"]["level"] == 3
    assert sent["payload"]["notes"][0].startswith("Deploy for CG_CLIENT_")


def test_the_client_repository_path_is_pseudonymized_and_restored(stack: Stack) -> None:
    c = Canaries.generate()
    repo = str(stack.policy.parent.resolve())
    response = _client(stack).responses.create(model="gpt-5.1", input=_input(c, cwd=repo) + [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"look at {repo}/src/app.py"}]}])
    recorded = stack.upstream.requests[-1]
    assert repo not in recorded.text
    assert "CG_CLIENT_REPO_" in recorded.text
    assert repo in response.output_text


def test_a_credentials_file_a_shell_command_printed_is_judged_by_its_own_rules(stack: Stack) -> None:
    """Codex ran `cat ~/.pgpass` (exec_command's cmd) and `cat ~/.my.cnf` (the older shell tool's command list):
    the files' own rules find the weak passwords in the outputs, where rules for code see no secret."""
    import secrets
    import string

    weak = ["hunter" + "".join(secrets.choice(string.digits) for _ in range(4)) for _ in range(2)]
    items = [
        {"type": "message", "role": "user", "content": "Why can't the app reach the database?"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "exec_command",
         "arguments": json.dumps({"cmd": "cat ~/.pgpass"})},
        {"type": "function_call_output", "call_id": "call_1", "output": f"db.internal:5432:*:app:{weak[0]}\n"},
        {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "shell",
         "arguments": json.dumps({"command": ["bash", "-lc", "cat /home/dev/.my.cnf"]})},
        {"type": "function_call_output", "call_id": "call_2", "output": f"[client]\nuser=app\npassword={weak[1]}\n"},
    ]
    _client(stack).responses.create(model="gpt-5.1", input=items, tools=TOOLS)
    assert not any(r.contains(w) for r in stack.upstream.requests for w in weak)
    sent = stack.upstream.requests[-1].json["input"]
    assert json.loads(sent[1]["arguments"]) == {"cmd": "cat ~/.pgpass"} and "CG_" in sent[2]["output"]


def test_a_text_file_attached_as_base64_is_inspected_and_a_pdf_passes_untouched(stack: Stack) -> None:
    c = Canaries.generate()
    notes = f"# deploy notes\nAWS_ACCESS_KEY_ID={c.aws_key_id}\nowner: {c.email}\n"
    text_file = "data:text/plain;base64," + base64.b64encode(notes.encode()).decode()
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n").decode()
    items = _input(c) + [{"type": "message", "role": "user", "content": [
        {"type": "input_file", "filename": "notes.txt", "file_data": text_file},
        {"type": "input_file", "filename": "scan.pdf", "file_data": pdf},
    ]}]
    _client(stack).responses.create(model="gpt-5.1", input=items)
    sent = stack.upstream.requests[-1].json["input"][-1]["content"]
    head, payload = sent[0]["file_data"].split(",", 1)
    decoded = base64.b64decode(payload, validate=True).decode()
    assert head == "data:text/plain;base64" and sent[0]["filename"] == "notes.txt"
    assert c.aws_key_id not in decoded and c.email not in decoded
    assert decoded.startswith("# deploy notes\nAWS_ACCESS_KEY_ID=CG_AWS_") and "\nowner: CG_EMAIL_" in decoded
    assert sent[1]["file_data"] == pdf  # not text: passes byte-identical (see docs/gateway.md, Limitations)
    assert stack.leaked(c) == []
