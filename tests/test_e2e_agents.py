"""The real Codex CLI and Claude Code, run in a throwaway client repository with planted canaries.

Each agent is asked to show a file that holds an AWS-style key pair, a customer's e-mail address and
the client's name. The recording upstream answers with a tool call that `cat`s the file, then with
text that repeats every placeholder it saw. Without the gateway the canaries reach the provider (the
leak these tests exist for); through the gateway none does, while the user still sees the originals.

Agent runs are module-scoped fixtures (one run, several behaviours checked) and bounded by timeouts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _e2e_support import (
    FILE_MARKER,
    TOOL_FILE,
    AgentRun,
    Canaries,
    make_client_repo,
    run_claude,
    run_codex,
    upstream_leaks,
)
from clientguard.gateway.recording import RecordingUpstream

PROMPT = f"Show me the contents of {TOOL_FILE}."


# -- without the gateway: the harness works and the leak is real ------------------------------------


@pytest.fixture(scope="module")
def direct_codex(tmp_path_factory: pytest.TempPathFactory):
    canaries = Canaries.generate()
    base = tmp_path_factory.mktemp("codex-direct")
    repo = make_client_repo(base, canaries)
    with RecordingUpstream(tool_file=TOOL_FILE) as up:
        run = run_codex(repo, base / "home", PROMPT, base_url=f"{up.url}/v1")
        yield run, up.requests, canaries


@pytest.fixture(scope="module")
def direct_claude(tmp_path_factory: pytest.TempPathFactory):
    canaries = Canaries.generate()
    base = tmp_path_factory.mktemp("claude-direct")
    repo = make_client_repo(base, canaries)
    with RecordingUpstream(tool_file=TOOL_FILE) as up:
        run = run_claude(repo, base / "home", PROMPT, base_url=up.url)
        yield run, up.requests, canaries


def test_codex_runs_the_scripted_cat_against_the_recording_upstream(direct_codex):
    run, requests, canaries = direct_codex
    assert run.returncode == 0, run.describe()
    assert [(r.method, r.path) for r in requests] == [("POST", "/v1/responses")] * 2
    assert any(canaries.aws_key_id in out for out in run.command_outputs()), run.describe()
    assert any(m.startswith(f"I read {TOOL_FILE}.") for m in run.agent_messages()), run.describe()


def test_codex_without_gateway_sends_the_file_contents_to_the_provider(direct_codex):
    run, requests, canaries = direct_codex
    outputs = [
        item["output"]
        for item in requests[-1].json["input"]
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    assert any(canaries.aws_key_id in o and canaries.email in o for o in outputs)
    assert sorted(upstream_leaks(requests, canaries)) == sorted(
        f"request 1 POST /v1/responses: {name}" for name in canaries.values()
    )


def test_claude_code_runs_the_scripted_cat_against_the_recording_upstream(direct_claude):
    run, requests, canaries = direct_claude
    assert run.returncode == 0, run.describe()
    posts = [r for r in requests if r.method == "POST"]
    assert {(r.path, r.query) for r in posts} == {("/v1/messages", "beta=true")}
    assert f"I read {TOOL_FILE}." in run.stdout, run.describe()


def test_claude_code_without_gateway_sends_the_file_contents_to_the_provider(direct_claude):
    run, requests, canaries = direct_claude
    last = [r for r in requests if r.method == "POST"][-1].json
    results = [
        block
        for message in last["messages"]
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert results and canaries.aws_key_id in json.dumps(results)
    assert {line.rsplit(": ", 1)[1] for line in upstream_leaks(requests, canaries)} == set(canaries.values())


def test_codex_builtin_provider_falls_back_to_https_when_the_websocket_upgrade_gets_426(tmp_path: Path):
    canaries = Canaries.generate()
    repo = make_client_repo(tmp_path, canaries)
    with RecordingUpstream(tool_file=TOOL_FILE, tool_calls=False) as up:
        run = run_codex(repo, tmp_path / "home", "Say hello.", builtin_base_url=f"{up.url}/v1")
        requests = up.requests
    assert run.returncode == 0, run.describe()
    upgrades = [r for r in requests if r.method == "GET" and r.headers.get("upgrade", "").lower() == "websocket"]
    posts = [r for r in requests if r.method == "POST" and r.path == "/v1/responses"]
    assert upgrades, "Codex's built-in provider did not try a WebSocket first"
    assert len(posts) == 1
    # A 426 makes Codex fall back at once; retrying the upgrade costs about 6 s.
    assert run.seconds < 5, run.describe()
