"""`clientguard run` end to end with the real gateway and a real child process (`env` shows what it got)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

POLICY = """\
[client]
name = "Acme Health"
identifiers = ["Acme Health", "acme-health.de"]

[contract]
nda = true

[[accounts]]
name = "openai-api"
provider = "openai"
plan = "api"

[[accounts]]
name = "chatgpt-plus"
provider = "openai"
plan = "plus"
"""

LOCAL_ONLY_POLICY = """\
[client]
name = "Bank Example"

[contract]
nda = true
no_third_party_processing = true

[gateway]
account = "work"

[[accounts]]
name = "work"
provider = "openai"
plan = "enterprise"

[[accounts]]
name = "box"
provider = "ollama"
plan = "local"
base_url = "http://127.0.0.1:11434"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Path]:
    """A client directory with its policy, a throwaway HOME, and a bin dir for agent names."""
    client = tmp_path / "client"
    client.mkdir()
    (client / "clientguard.toml").write_text(POLICY)
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    return {"client": client, "home": home, "bin": bin_dir, "tmp": tmp_path}


def run_cli(ws: dict[str, Path], *args: str, extra_env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    env = {"PATH": f"{ws['bin']}:/usr/bin:/bin", "HOME": str(ws["home"]), "PYTHONPATH": str(REPO_ROOT),
           "XDG_DATA_HOME": str(ws["home"] / ".local/share"), "XDG_STATE_HOME": str(ws["home"] / ".local/state"),
           "XDG_CONFIG_HOME": str(ws["home"] / ".config"), "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1,localhost",
           **(extra_env or {})}
    # --new-gateway unless a test names one: a gateway someone runs on the default port must not be picked up.
    own = [] if "--gateway" in args else ["--new-gateway"]
    return subprocess.run([sys.executable, "-m", "clientguard.cli", "run", *own, *args], cwd=ws["client"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def env_lines(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def test_the_agent_gets_the_gateway_url_and_loses_the_secrets_it_does_not_need(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--account", "openai-api", "--ledger", str(workspace["tmp"] / "ledger.sqlite"),
                     "--summary", str(workspace["tmp"] / "summary.json"), "--", "env",
                     extra_env={"OPENAI_API_KEY": "sk-test-FAKE0000", "AWS_SECRET_ACCESS_KEY": "FAKE0000aws",
                                "DATABASE_URL": "postgres://u:FAKE@db/x", "STRIPE_SECRET_KEY": "FAKE-stripe"})
    assert result.returncode == 0, result.stderr
    child = env_lines(result.stdout)
    assert child["OPENAI_BASE_URL"].startswith("http://127.0.0.1:") and child["OPENAI_BASE_URL"].endswith("/v1")
    assert child["OPENAI_API_KEY"] == "sk-test-FAKE0000"
    for name in ("AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "STRIPE_SECRET_KEY"):
        assert name not in child
    assert "removed from the agent's environment: AWS_SECRET_ACCESS_KEY, DATABASE_URL, STRIPE_SECRET_KEY" in result.stderr
    for value in ("FAKE0000aws", "FAKE@db", "FAKE-stripe"):
        assert value not in result.stderr
    summary = json.loads((workspace["tmp"] / "summary.json").read_text())
    assert summary["client"] == "Acme Health" and summary["requests"] == 0 and summary["exit_code"] == 0


def test_the_agents_exit_code_is_passed_through(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--account", "openai-api", "--ledger", str(workspace["tmp"] / "ledger.sqlite"),
                     "--", "sh", "-c", "exit 7")
    assert result.returncode == 7, result.stderr
    assert "clientguard session: 0 request(s), 0 blocked, 0 redaction(s)" in result.stderr


def test_an_agent_killed_by_a_signal_exits_like_in_a_shell(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--account", "openai-api", "--ledger", str(workspace["tmp"] / "ledger.sqlite"),
                     "--", "sh", "-c", "kill -TERM $$")
    assert result.returncode == 128 + 15, result.stderr


def test_a_blocked_account_is_refused_with_reasons_and_fixes(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--account", "chatgpt-plus", "--", "env")
    assert result.returncode == 3
    assert "blocks it" in result.stderr and "contract.nda" in result.stderr and "fix:" in result.stderr
    assert "OPENAI_BASE_URL" not in result.stdout  # the agent never started


def test_route_local_wires_the_agent_to_an_installed_local_model(workspace: dict[str, Path]) -> None:
    (workspace["client"] / "clientguard.toml").write_text(LOCAL_ONLY_POLICY)
    manifest = workspace["home"] / ".ollama/models/manifests/registry.ollama.ai/library/qwen2.5-coder/14b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    # A program named like the agent shows the environment clientguard gives Claude Code.
    os.symlink("/usr/bin/env", workspace["bin"] / "claude")
    result = run_cli(workspace, "--ledger", str(workspace["tmp"] / "ledger.sqlite"), "--", "claude")
    assert result.returncode == 0, result.stderr
    child = env_lines(result.stdout)
    assert child["ANTHROPIC_MODEL"] == "qwen2.5-coder:14b"
    assert child["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:")
    assert child["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1" and child["DISABLE_TELEMETRY"] == "1"
    assert "allows only a local model" in result.stderr and "'box'" in result.stderr


def test_route_local_without_a_local_model_says_what_to_pull(workspace: dict[str, Path]) -> None:
    (workspace["client"] / "clientguard.toml").write_text(LOCAL_ONLY_POLICY)
    result = run_cli(workspace, "--", "env")
    assert result.returncode == 2 and "ollama pull" in result.stderr


def test_an_existing_gateway_for_the_client_is_reused(workspace: dict[str, Path]) -> None:
    from clientguard.gateway.server import GatewayConfig, run_in_thread

    handle = run_in_thread(GatewayConfig(policy=workspace["client"] / "clientguard.toml", account="openai-api", port=0,
                                         ledger_path=workspace["tmp"] / "ledger.sqlite", vault_dir=workspace["tmp"] / "v"))
    try:
        result = run_cli(workspace, "--gateway", handle.url, "--", "env")
    finally:
        handle.stop()
    assert result.returncode == 0, result.stderr
    assert f"reusing gateway {handle.url}" in result.stderr
    assert env_lines(result.stdout)["OPENAI_BASE_URL"] == f"{handle.url}/v1"


def test_a_gateway_url_that_does_not_answer_is_an_error(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--account", "openai-api", "--gateway", "http://127.0.0.1:9", "--", "env")
    assert result.returncode == 2 and "no clientguard gateway for Acme Health" in result.stderr


def test_without_a_policy_run_refuses_with_exit_2(workspace: dict[str, Path]) -> None:
    (workspace["client"] / "clientguard.toml").unlink()
    result = run_cli(workspace, "--", "env")
    assert result.returncode == 2 and "clientguard.toml" in result.stderr and "Traceback" not in result.stderr


def test_an_agent_missing_from_path_is_an_error_before_any_gateway_starts(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--account", "openai-api", "--", "no-such-agent-xyz")
    assert result.returncode == 2 and "not found on PATH" in result.stderr
    assert "gateway" not in result.stderr.split("not found")[0]


def test_cursor_is_refused_because_it_cannot_be_routed(workspace: dict[str, Path]) -> None:
    os.symlink("/usr/bin/env", workspace["bin"] / "cursor")
    result = run_cli(workspace, "--account", "openai-api", "--", "cursor")
    assert result.returncode == 2 and "Cursor's own servers" in result.stderr


def test_several_accounts_and_none_chosen_lists_them(workspace: dict[str, Path]) -> None:
    result = run_cli(workspace, "--", "env")
    assert result.returncode == 2
    assert "openai-api" in result.stderr and "chatgpt-plus" in result.stderr
