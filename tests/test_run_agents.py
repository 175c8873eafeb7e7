"""`clientguard run` with the real Codex CLI and Claude Code (npm), through the real gateway, to a recording upstream."""

from __future__ import annotations

import json
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

from _e2e_support import (
    FAKE_ANTHROPIC_KEY,
    FAKE_OPENAI_KEY,
    TOOL_FILE,
    Canaries,
    agent_binary,
    hermetic_env,
    make_client_repo,
    upstream_leaks,
    write_policy,
)
from clientguard.gateway.recording import RecordingUpstream

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240


def canaries() -> Canaries:
    """Fresh canaries; the key id uses the base32 alphabet real AWS key ids have."""
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    return Canaries(aws_key_id=key_id, aws_secret_key=secret, email=f"lena.hoffmann.{secrets.token_hex(3)}@posteo.de")


def run_agent_through_clientguard(tmp_path: Path, upstream: RecordingUpstream, account: str, agent: list[str],
                                  env: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict]:
    """`clientguard run` in a fresh client repository with a throwaway HOME; returns the run and its summary."""
    policy = write_policy(tmp_path / "policy")
    summary = tmp_path / "summary.json"
    argv = [sys.executable, "-m", "clientguard.cli", "run", "--policy", str(policy), "--account", account,
            "--upstream", f"openai={upstream.url}/v1", "--upstream", f"anthropic={upstream.url}",
            "--ledger", str(tmp_path / "ledger.sqlite"), "--summary", str(summary), "--", *agent]
    result = subprocess.run(argv, cwd=env["CG_TEST_REPO"], env={**env, "PYTHONPATH": str(REPO_ROOT)},
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    assert summary.exists(), f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return result, json.loads(summary.read_text())


@pytest.fixture
def client_repo(tmp_path: Path) -> tuple[Path, Canaries]:
    planted = canaries()
    return make_client_repo(tmp_path, planted), planted


def test_codex_through_run_reaches_the_provider_only_via_the_gateway_with_secrets_redacted(
        tmp_path: Path, client_repo: tuple[Path, Canaries]) -> None:
    repo, planted = client_repo
    home = tmp_path / "home"
    env = hermetic_env(home, CODEX_HOME=str(home / ".codex"), OPENAI_API_KEY=FAKE_OPENAI_KEY,
                       AWS_SECRET_ACCESS_KEY="FAKE-env-aws-0000", CG_TEST_REPO=str(repo))
    (home / ".codex").mkdir(parents=True)
    with RecordingUpstream(tool_file=TOOL_FILE) as upstream:
        result, summary = run_agent_through_clientguard(
            tmp_path, upstream, "openai-api",
            [str(agent_binary("codex")), "exec", "--skip-git-repo-check", "--ephemeral", "--json", "-m", "gpt-5.1",
             f"Show me {TOOL_FILE}"], env)
        requests = upstream.requests
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r.path for r in requests] == ["/v1/responses", "/v1/responses"]  # model turn, then the tool result
    assert upstream_leaks(requests, planted) == []
    # The real values come back to the agent: the restored answer names them.
    assert planted.aws_secret_key in result.stdout
    metadata = json.loads(requests[0].headers["x-codex-turn-metadata"])
    assert metadata["analytics_enabled"] is False
    assert summary["requests"] == 2 and summary["blocked"] == 0
    assert summary["redactions"]["by_kind"].get("secret", 0) >= 2  # key id and secret key
    assert "removed from the agent's environment: AWS_SECRET_ACCESS_KEY" in result.stderr
    assert "clientguard session: 2 request(s)" in result.stderr


def test_claude_code_through_run_reaches_the_provider_only_via_the_gateway_with_secrets_redacted(
        tmp_path: Path, client_repo: tuple[Path, Canaries]) -> None:
    repo, planted = client_repo
    home = tmp_path / "home"
    env = hermetic_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, OPENAI_API_KEY=FAKE_OPENAI_KEY,
                       CLAUDE_CODE_MAX_RETRIES="0", CG_TEST_REPO=str(repo))
    with RecordingUpstream(tool_file=TOOL_FILE) as upstream:
        result, summary = run_agent_through_clientguard(
            tmp_path, upstream, "anthropic-api",
            [str(agent_binary("claude")), "-p", f"Show me {TOOL_FILE}", "--allowedTools", "Bash(cat:*)"], env)
        requests = upstream.requests
    assert result.returncode == 0, result.stderr[-3000:]
    messages = [r for r in requests if r.method == "POST"]
    # Claude Code also probes the base URL (HEAD /v1/); every model call is a Messages request.
    assert messages and all(r.path == "/v1/messages" for r in messages)
    assert upstream_leaks(requests, planted) == []
    assert summary["requests"] >= len(messages) and summary["blocked"] == 0
    assert summary["redactions"]["by_kind"].get("secret", 0) >= 2
    assert "OPENAI_API_KEY" in result.stderr.split("removed from the agent's environment:")[1].splitlines()[0]
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" in result.stderr


def test_codex_on_a_blocked_account_never_starts_and_nothing_is_sent(
        tmp_path: Path, client_repo: tuple[Path, Canaries]) -> None:
    repo, _planted = client_repo
    home = tmp_path / "home"
    env = hermetic_env(home, CODEX_HOME=str(home / ".codex"), OPENAI_API_KEY=FAKE_OPENAI_KEY, CG_TEST_REPO=str(repo))
    policy = write_policy(tmp_path / "policy")
    with RecordingUpstream() as upstream:
        result = subprocess.run(
            [sys.executable, "-m", "clientguard.cli", "run", "--policy", str(policy), "--account", "chatgpt-plus",
             "--upstream", f"openai={upstream.url}/v1", "--", str(agent_binary("codex")), "exec",
             "--skip-git-repo-check", "--ephemeral", "hello"],
            cwd=repo, env={**env, "PYTHONPATH": str(REPO_ROOT)}, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=TIMEOUT)
        assert upstream.requests == []
    assert result.returncode == 3
    assert "chatgpt-plus" in result.stderr and "fix:" in result.stderr


class _RecordingProxy:
    """A proxy on 127.0.0.1 that forwards nothing: it keeps every byte sent to it and answers 502."""

    def __init__(self) -> None:
        import socketserver
        import threading

        received = self.received = bytearray()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(2)
                try:
                    received.extend(self.request.recv(1 << 20))
                except OSError:
                    pass
                self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("agent", ["codex", "claude"])
def test_agents_under_run_reach_the_gateway_directly_when_a_proxy_is_set(
        tmp_path: Path, client_repo: tuple[Path, Canaries], agent: str) -> None:
    """With HTTP(S)_PROXY set and no NO_PROXY, an agent would send its unredacted requests for the gateway
    to the proxy; `run` puts the gateway's address in NO_PROXY so they go straight to it. The proxy also
    sees every connection the agent opens on its own: under `run` there must be none."""
    repo, planted = client_repo
    home = tmp_path / "home"
    proxy = _RecordingProxy()
    try:
        env = hermetic_env(home, OPENAI_API_KEY=FAKE_OPENAI_KEY, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                           CODEX_HOME=str(home / ".codex"), CLAUDE_CODE_MAX_RETRIES="0", CG_TEST_REPO=str(repo),
                           HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, http_proxy=proxy.url, https_proxy=proxy.url)
        for name in ("NO_PROXY", "no_proxy"):
            env.pop(name)
        (home / ".codex").mkdir(parents=True)
        argv = ([str(agent_binary("codex")), "exec", "--skip-git-repo-check", "--ephemeral", "--json", "-m", "gpt-5.1",
                 f"Show me {TOOL_FILE}"] if agent == "codex" else
                [str(agent_binary("claude")), "-p", f"Show me {TOOL_FILE}", "--allowedTools", "Bash(cat:*)"])
        with RecordingUpstream(tool_file=TOOL_FILE) as upstream:
            result, summary = run_agent_through_clientguard(
                tmp_path, upstream, "openai-api" if agent == "codex" else "anthropic-api", argv, env)
            requests = upstream.requests
    finally:
        proxy.close()
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary["requests"] >= 2 and upstream_leaks(requests, planted) == []
    # Nothing at all went to the proxy: no request for the gateway, and no connection of the agent's own
    # (Codex's plugin system had opened chatgpt.com, api.github.com and github.com at every start).
    assert bytes(proxy.received) == b"", bytes(proxy.received[:300])
