"""The real Codex CLI and Claude Code, run in a throwaway client repository with planted canaries.

Each agent is asked to show a file that holds an AWS-style key pair, a customer's e-mail address and
the client's name. The recording upstream answers with a tool call that `cat`s the file, then with
text that repeats every placeholder it saw. Without the gateway the canaries reach the provider (the
leak these tests exist for); through the gateway none does, while the user still sees the originals.

Agent runs are module-scoped fixtures (one run, several behaviours checked) and bounded by timeouts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _e2e_support import (
    FAKE_ANTHROPIC_KEY,
    FAKE_OPENAI_KEY,
    FILE_MARKER,
    TOOL_FILE,
    AgentRun,
    Canaries,
    make_client_repo,
    run_claude,
    run_codex,
    running_gateway,
    upstream_leaks,
    write_policy,
)
from clientguard.ledger import EgressRecord, Ledger
from clientguard.gateway.recording import (
    PLACEHOLDER_RE,
    MessagesFormat,
    RecordedRequest,
    RecordingUpstream,
    has_tool_result,
)

PROMPT = f"Show me the contents of {TOOL_FILE}."

# The repository directory carries the client's name, as it does on a freelancer's disk: the agents put
# the working directory into prompts (Codex <environment_context>, Claude Code's system prompt) and
# Codex also into its x-codex-turn-metadata header.
REPO_DIR = "acme-health-portal"


# -- without the gateway: the harness works and the leak is real ------------------------------------


@pytest.fixture(scope="module")
def direct_codex(tmp_path_factory: pytest.TempPathFactory):
    canaries = Canaries.generate()
    base = tmp_path_factory.mktemp("codex-direct")
    repo = make_client_repo(base, canaries, dirname=REPO_DIR)
    with RecordingUpstream(tool_file=TOOL_FILE) as up:
        run = run_codex(repo, base / "home", PROMPT, base_url=f"{up.url}/v1")
        yield run, up.requests, canaries


@pytest.fixture(scope="module")
def direct_claude(tmp_path_factory: pytest.TempPathFactory):
    canaries = Canaries.generate()
    base = tmp_path_factory.mktemp("claude-direct")
    repo = make_client_repo(base, canaries, dirname=REPO_DIR)
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


def test_codex_without_gateway_sends_the_workspace_path_in_its_prompt(direct_codex):
    run, requests, canaries = direct_codex
    # <environment_context> always carries it; the x-codex-turn-metadata header does when git status
    # found changes in time, which is not deterministic.
    assert REPO_DIR in requests[0].text


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


# -- through the gateway: nothing leaks, the user still sees the real values ------------------------



@dataclass
class GatewayRun:
    """One agent run through the gateway: what the user saw and what the upstream received."""

    run: AgentRun
    requests: list[RecordedRequest]
    canaries: Canaries
    state: Path  # the gateway's ledger, vault and keys

    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]


def _through_gateway(tmp: Path, agent: str, account: str) -> GatewayRun:
    canaries = Canaries.generate()
    repo = make_client_repo(tmp, canaries, dirname=REPO_DIR)
    policy = write_policy(tmp / "policy")
    state = tmp / "state"
    with RecordingUpstream(tool_file=TOOL_FILE) as up:
        with running_gateway(policy, up.url, account, state) as gateway:
            if agent == "codex":
                run = run_codex(repo, tmp / "home", PROMPT, base_url=f"{gateway.url}/v1")
            else:
                run = run_claude(repo, tmp / "home", PROMPT, base_url=gateway.url)
        return GatewayRun(run, up.requests, canaries, state)


@pytest.fixture(scope="module")
def codex_via_gateway(tmp_path_factory: pytest.TempPathFactory) -> GatewayRun:
    return _through_gateway(tmp_path_factory.mktemp("codex-gw"), "codex", "openai-api")


@pytest.fixture(scope="module")
def claude_via_gateway(tmp_path_factory: pytest.TempPathFactory) -> GatewayRun:
    return _through_gateway(tmp_path_factory.mktemp("claude-gw"), "claude", "anthropic-api")


def _placeholders_in_tool_results(request: RecordedRequest) -> list[str]:
    """Placeholders inside the tool results of one recorded request (Responses or Messages)."""
    body = request.json or {}
    texts = [json.dumps(i.get("output")) for i in body.get("input", []) if isinstance(i, dict) and i.get("type") == "function_call_output"]
    for message in body.get("messages", []):
        if isinstance(message.get("content"), list):
            texts += [json.dumps(b.get("content")) for b in message["content"] if b.get("type") == "tool_result"]
    return sorted(set(PLACEHOLDER_RE.findall("\n".join(texts))))


def test_codex_through_gateway_completes_the_tool_round_trip(codex_via_gateway: GatewayRun):
    run = codex_via_gateway.run
    assert run.returncode == 0, run.describe()
    assert [r.path for r in codex_via_gateway.posts()] == ["/v1/responses", "/v1/responses"]
    assert any(FILE_MARKER in out for out in run.command_outputs()), run.describe()


def test_codex_through_gateway_sends_no_canary_upstream(codex_via_gateway: GatewayRun):
    assert upstream_leaks(codex_via_gateway.requests, codex_via_gateway.canaries) == []


def test_codex_through_gateway_sends_the_file_with_placeholders(codex_via_gateway: GatewayRun):
    last = codex_via_gateway.posts()[-1]
    assert FILE_MARKER in last.text, "the tool output should reach the model, redacted, not be dropped"
    # The key id, the secret key, the e-mail and the client's name each get their own placeholder.
    assert len(_placeholders_in_tool_results(last)) >= 4, _placeholders_in_tool_results(last)


def test_codex_through_gateway_shows_the_user_the_original_values(codex_via_gateway: GatewayRun):
    run, canaries = codex_via_gateway.run, codex_via_gateway.canaries
    (answer,) = [m for m in run.agent_messages() if m.startswith(f"I read {TOOL_FILE}.")] or [run.describe()]
    for name, value in canaries.values().items():
        assert value in answer, f"{name} not restored in the answer: {answer}"
    assert not PLACEHOLDER_RE.search(answer), answer


def test_codex_through_gateway_keeps_the_workspace_path_from_the_upstream(codex_via_gateway: GatewayRun):
    leaks = [f"{r.path}: {k}" for r in codex_via_gateway.requests for k, v in [("body", r.text), *r.headers.items()]
             if "acme-health" in v.lower()]
    assert leaks == []


def test_claude_code_through_gateway_completes_the_tool_round_trip(claude_via_gateway: GatewayRun):
    run = claude_via_gateway.run
    assert run.returncode == 0, run.describe()
    posts = claude_via_gateway.posts()
    assert len(posts) >= 2 and {r.path for r in posts} == {"/v1/messages"}
    assert has_tool_result("messages", posts[-1].json)


def test_claude_code_through_gateway_sends_no_canary_upstream(claude_via_gateway: GatewayRun):
    assert upstream_leaks(claude_via_gateway.requests, claude_via_gateway.canaries) == []


def test_claude_code_through_gateway_sends_the_file_with_placeholders(claude_via_gateway: GatewayRun):
    last = claude_via_gateway.posts()[-1]
    assert FILE_MARKER in last.text, "the tool output should reach the model, redacted, not be dropped"
    assert len(_placeholders_in_tool_results(last)) >= 4, _placeholders_in_tool_results(last)


def test_claude_code_through_gateway_shows_the_user_the_original_values(claude_via_gateway: GatewayRun):
    run, canaries = claude_via_gateway.run, claude_via_gateway.canaries
    for name, value in canaries.values().items():
        assert value in run.stdout, f"{name} not restored: {run.describe()}"
    assert not PLACEHOLDER_RE.search(run.stdout), run.describe()


def test_claude_code_through_gateway_replays_the_thinking_signature_unchanged(claude_via_gateway: GatewayRun):
    replayed = [
        block
        for message in claude_via_gateway.posts()[-1].json["messages"]
        if message.get("role") == "assistant" and isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "thinking"
    ]
    assert [b["signature"] for b in replayed] == [MessagesFormat.SIGNATURE]
    assert [b["thinking"] for b in replayed] == [MessagesFormat.THINKING]


def test_claude_code_through_gateway_keeps_the_workspace_path_from_the_upstream(claude_via_gateway: GatewayRun):
    leaks = [f"{r.path}: {k}" for r in claude_via_gateway.requests for k, v in [("body", r.text), *r.headers.items()]
             if "acme-health" in v.lower()]
    assert leaks == []


def _ledger_records(state: Path) -> list[EgressRecord]:
    ledger = Ledger.open(state / "ledger.sqlite", create=False)
    try:
        return ledger.records()
    finally:
        ledger.close()


def _files_holding_secrets(state: Path, canaries: Canaries) -> list[str]:
    """Files under `state` (ledger, its WAL, keys, vaults) holding a planted secret or e-mail address.

    The client's name is left out: the ledger names its client by design.
    """
    found = []
    secrets = {"aws_key_id": canaries.aws_key_id, "aws_secret_key": canaries.aws_secret_key, "email": canaries.email}
    for path in sorted(p for p in state.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for name, value in secrets.items():
            if value.encode() in data or json.dumps(value)[1:-1].encode() in data:
                found.append(f"{path.relative_to(state)}: {name}")
    return found


@pytest.mark.parametrize("agent", ["codex", "claude"])
def test_gateway_ledger_records_each_agent_request_with_its_redactions(agent, codex_via_gateway, claude_via_gateway):
    ran = codex_via_gateway if agent == "codex" else claude_via_gateway
    records = _ledger_records(ran.state)
    # Every forwarded request is recorded, Claude Code's HEAD / probe included.
    assert len(records) == len(ran.requests)
    assert {r.verdict for r in records} == {"allow"}
    kinds = {item["kind"] for item in records[-1].redactions}
    assert {"secret", "pii", "identifier"} <= kinds, records[-1].redactions


@pytest.mark.parametrize("agent", ["codex", "claude"])
def test_gateway_writes_no_secret_or_email_to_disk(agent, codex_via_gateway, claude_via_gateway):
    ran = codex_via_gateway if agent == "codex" else claude_via_gateway
    assert _files_holding_secrets(ran.state, ran.canaries) == []


# -- a blocked request: the user reads why, the provider receives nothing ---------------------------


def _assert_block_explained(blocked: GatewayRun) -> None:
    run = blocked.run
    assert run.returncode != 0, run.describe()
    shown = run.output.lower()
    assert "nda" in shown, run.describe()  # the clause that forbids it
    assert "training" in shown, run.describe()  # why: this plan trains on prompts by default
    assert [r for r in blocked.requests if r.method == "POST"] == []
    assert upstream_leaks(blocked.requests, blocked.canaries) == []
    assert "block" in {r.verdict for r in _ledger_records(blocked.state)}


def test_codex_blocked_by_the_policy_shows_the_reason_and_sends_nothing(tmp_path: Path):
    _assert_block_explained(_through_gateway(tmp_path, "codex", "chatgpt-plus"))


def test_claude_code_blocked_by_the_policy_shows_the_reason_and_sends_nothing(tmp_path: Path):
    _assert_block_explained(_through_gateway(tmp_path, "claude", "claude-pro"))


# -- Codex's built-in provider and its WebSocket attempt ---------------------------------------------


def test_gateway_answers_a_websocket_upgrade_on_responses_with_426(tmp_path: Path):
    with RecordingUpstream() as up, running_gateway(write_policy(tmp_path), up.url, "openai-api", tmp_path / "state") as gw:
        response = httpx.get(
            f"{gw.url}/v1/responses",
            headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "OpenAI-Beta": "responses_websockets=2026-02-06"},
        )
    assert response.status_code == 426
    assert "error" in response.json()


def test_codex_builtin_provider_through_gateway_falls_back_to_https_at_once(tmp_path: Path):
    canaries = Canaries.generate()
    repo = make_client_repo(tmp_path, canaries)
    with RecordingUpstream(tool_file=TOOL_FILE) as up:
        with running_gateway(write_policy(tmp_path / "policy"), up.url, "openai-api", tmp_path / "state") as gw:
            run = run_codex(repo, tmp_path / "home", PROMPT, builtin_base_url=f"{gw.url}/v1")
        requests = up.requests
    assert run.returncode == 0, run.describe()
    assert run.seconds < 10, f"Codex retried the WebSocket instead of falling back: {run.describe()}"
    # The gateway answers the upgrade itself; only the HTTPS turns reach the provider.
    assert [(r.method, r.path) for r in requests] == [("POST", "/v1/responses")] * 2
    assert upstream_leaks(requests, canaries) == []


# -- one port for several providers: a path prefix per provider ---------------------------------------


@pytest.mark.parametrize(
    ("agent", "account", "prefix", "upstream_path"),
    [("codex", "openai-api", "/openai/v1", "/v1/responses"), ("claude", "anthropic-api", "/anthropic", "/v1/messages")],
)
def test_agent_reaches_its_provider_through_a_provider_prefix(tmp_path: Path, agent, account, prefix, upstream_path):
    canaries = Canaries.generate()
    repo = make_client_repo(tmp_path, canaries)
    with RecordingUpstream(tool_file=TOOL_FILE) as up:
        with running_gateway(write_policy(tmp_path / "policy"), up.url, account, tmp_path / "state") as gw:
            if agent == "codex":
                run = run_codex(repo, tmp_path / "home", PROMPT, base_url=f"{gw.url}{prefix}")
            else:
                run = run_claude(repo, tmp_path / "home", PROMPT, base_url=f"{gw.url}{prefix}")
        requests = up.requests
    assert run.returncode == 0, run.describe()
    assert {r.path for r in requests if r.method == "POST"} == {upstream_path}
    assert upstream_leaks(requests, canaries) == []
    answer = "\n".join(run.agent_messages()) if agent == "codex" else run.stdout
    assert canaries.aws_key_id in answer, run.describe()  # restored in the model's answer


# -- placeholders are stable across turns, so provider prompt caches keep hitting ---------------------


def test_codex_through_gateway_replays_a_byte_identical_redacted_history(codex_via_gateway: GatewayRun):
    first, second = codex_via_gateway.posts()
    earlier = first.json["input"]
    # Codex resends the whole history each turn (store: false); redacted again, it must not change.
    assert second.json["input"][: len(earlier)] == earlier
    assert second.json.get("instructions") == first.json.get("instructions")


def _without_cache_control(node: Any) -> Any:
    """`node` minus what Claude Code itself changes in the history from one turn to the next: it moves the
    cache_control marker to the newest block, and (2.1.332) sends a message whose content is one plain text
    block as that block while the marker sits on it, as a bare string after. Both spell the same text."""
    if isinstance(node, dict):
        out = {k: _without_cache_control(v) for k, v in node.items() if k != "cache_control"}
        content = out.get("content")
        if "role" in out and isinstance(content, list) and len(content) == 1 and content[0].keys() == {"type", "text"} \
                and content[0]["type"] == "text":
            out["content"] = content[0]["text"]
        return out
    if isinstance(node, list):
        return [_without_cache_control(v) for v in node]
    return node


def test_claude_code_through_gateway_replays_a_byte_identical_redacted_prefix(claude_via_gateway: GatewayRun):
    first, second = claude_via_gateway.posts()[-2:]
    assert second.json["system"] == first.json["system"]
    earlier = _without_cache_control(first.json["messages"])
    assert _without_cache_control(second.json["messages"])[: len(earlier)] == earlier


def test_claude_code_through_gateway_tool_input_round_trips_to_the_same_placeholders(
    claude_via_gateway: GatewayRun,
):
    first, second = claude_via_gateway.posts()[-2:]
    # The upstream put every placeholder of the first request into the Bash description; the gateway
    # restored them for Claude Code, which replays the call; redacted again they must read the same.
    (tool_use,) = [
        block
        for message in second.json["messages"]
        if message.get("role") == "assistant" and isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_use"
    ]
    expected = " ".join(first.placeholders())
    assert expected, "the first request carried no placeholder to echo"
    assert tool_use["input"]["description"] == f"Show {TOOL_FILE} ({expected})"


# -- what the model writes lands on the freelancer's disk with the real values -----------------------

WRITTEN_FILE = "summary.txt"


@pytest.fixture(scope="module", params=["codex", "claude"])
def writing_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, GatewayRun, Path]:
    """The upstream reads the file, then has the agent write every placeholder it saw into summary.txt:
    Codex with `printf ... > summary.txt`, Claude Code with its Write tool and an absolute path that is
    itself partly a placeholder (the directory name holds the client's name)."""
    agent = request.param
    tmp = tmp_path_factory.mktemp(f"{agent}-write")
    canaries = Canaries.generate()
    repo = make_client_repo(tmp, canaries, dirname=REPO_DIR)
    account = "openai-api" if agent == "codex" else "anthropic-api"
    with RecordingUpstream(tool_file=TOOL_FILE, write_file=WRITTEN_FILE) as up:
        with running_gateway(write_policy(tmp / "policy"), up.url, account, tmp / "state") as gw:
            if agent == "codex":
                run = run_codex(repo, tmp / "home", PROMPT, base_url=f"{gw.url}/v1", sandbox="workspace-write")
            else:
                run = run_claude(repo, tmp / "home", PROMPT, base_url=gw.url, allowed_tools=("Bash(cat:*)", "Write"))
        return agent, GatewayRun(run, up.requests, canaries, tmp / "state"), repo


def test_file_the_agent_writes_from_the_models_answer_holds_the_original_values(writing_run):
    agent, ran, repo = writing_run
    assert ran.run.returncode == 0, ran.run.describe()
    written = repo / WRITTEN_FILE
    assert written.is_file(), ran.run.describe()
    content = written.read_text(encoding="utf-8")
    for name, value in ran.canaries.values().items():
        assert value in content, f"{name} missing from {WRITTEN_FILE}: {content}"
    assert not PLACEHOLDER_RE.search(content), content


def test_values_restored_into_a_tool_call_are_redacted_again_when_the_agent_replays_it(writing_run):
    # The write call carries the restored values; the agent sends that call back in its history on the
    # next turn, where a bare secret has none of the context ("AWS_SECRET_ACCESS_KEY=") that found it
    # in the file. The gateway must still recognise the value it restored itself.
    agent, ran, repo = writing_run
    assert len(ran.posts()) == 3, ran.run.describe()
    assert upstream_leaks(ran.requests, ran.canaries) == []


# -- credentials are the agent's own and pass through untouched ---------------------------------------


def test_codex_through_gateway_passes_its_api_key_through_untouched(codex_via_gateway: GatewayRun):
    assert {r.headers.get("authorization") for r in codex_via_gateway.posts()} == {f"Bearer {FAKE_OPENAI_KEY}"}


def test_claude_code_through_gateway_passes_its_api_key_through_untouched(claude_via_gateway: GatewayRun):
    assert {r.headers.get("x-api-key") for r in claude_via_gateway.posts()} == {FAKE_ANTHROPIC_KEY}
