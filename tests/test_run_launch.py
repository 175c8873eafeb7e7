"""How `clientguard run` wires each agent: command line, environment, secrets removed, telemetry off."""

from __future__ import annotations

import pytest

from clientguard.errors import ClientguardError
from clientguard.posture.launch import agent_kind, plan_launch, strip_secrets
from clientguard.posture.run import session_summary

GATEWAY = "http://127.0.0.1:40001"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/dev", "OPENAI_API_KEY": "FAKE-openai-0000",
            "ANTHROPIC_API_KEY": "FAKE-anthropic-0000", "AWS_SECRET_ACCESS_KEY": "FAKE-aws-0000",
            "DATABASE_URL": "postgres://u:FAKE@db/x", "GITHUB_TOKEN": "FAKE-gh-0000", "EDITOR": "vim"}


@pytest.mark.parametrize("command, kind", [("codex", "codex"), ("/opt/bin/codex", "codex"), ("claude", "claude"),
                                           ("aider", "aider"), ("llm", "openai-compatible")])
def test_agent_kind_comes_from_the_executable_name(command: str, kind: str) -> None:
    assert agent_kind(command) == kind


@pytest.mark.parametrize("command", ["cursor", "/usr/bin/cursor-agent", "copilot"])
def test_agents_that_cannot_be_routed_are_refused_with_the_reason(command: str) -> None:
    with pytest.raises(ClientguardError, match="cannot put a gateway in its path"):
        agent_kind(command)


def test_codex_gets_a_custom_responses_provider_before_its_own_arguments() -> None:
    plan = plan_launch(["codex", "exec", "--json", "hello"], GATEWAY, BASE_ENV)
    assert plan.argv[0] == "codex" and plan.argv[-3:] == ["exec", "--json", "hello"]
    overrides = [plan.argv[i + 1] for i, arg in enumerate(plan.argv) if arg == "-c"]
    assert overrides[0] == "model_provider=clientguard"
    provider = overrides[1]
    for part in ('base_url="http://127.0.0.1:40001/v1"', 'env_key="OPENAI_API_KEY"', 'wire_api="responses"',
                 "supports_websockets=false"):
        assert part in provider
    assert "analytics.enabled=false" in overrides and "feedback.enabled=false" in overrides
    assert "features.plugins=false" in overrides  # plugin marketplaces and catalogs sync from the internet


def test_codex_uses_codex_api_key_when_that_is_the_only_key() -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != "OPENAI_API_KEY"} | {"CODEX_API_KEY": "FAKE-0000"}
    plan = plan_launch(["codex"], GATEWAY, env)
    assert any('env_key="CODEX_API_KEY"' in arg for arg in plan.argv)


def test_codex_without_any_key_gets_a_note() -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != "OPENAI_API_KEY"}
    assert any("OPENAI_API_KEY is not set" in n for n in plan_launch(["codex"], GATEWAY, env).notes)


def test_claude_gets_the_base_url_and_every_telemetry_switch() -> None:
    plan = plan_launch(["claude", "-p", "hi"], GATEWAY, BASE_ENV | {"ANTHROPIC_BASE_URL": "https://api.anthropic.com"})
    assert plan.argv == ["claude", "-p", "hi"]
    assert plan.env["ANTHROPIC_BASE_URL"] == GATEWAY
    for switch in ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING",
                   "DISABLE_BUG_COMMAND"):
        assert plan.env[switch] == "1" and switch in plan.telemetry_off


def test_claude_bedrock_and_vertex_switches_are_removed_so_traffic_reaches_the_gateway() -> None:
    plan = plan_launch(["claude"], GATEWAY, BASE_ENV | {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_VERTEX": "1"})
    assert "CLAUDE_CODE_USE_BEDROCK" not in plan.env and "CLAUDE_CODE_USE_VERTEX" not in plan.env
    assert {"CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"} <= set(plan.removed)


def test_claude_keeps_its_own_key_and_loses_the_openai_one() -> None:
    plan = plan_launch(["claude"], GATEWAY, BASE_ENV)
    assert plan.env["ANTHROPIC_API_KEY"] == "FAKE-anthropic-0000"
    assert "OPENAI_API_KEY" not in plan.env and "OPENAI_API_KEY" in plan.removed


def test_aider_gets_base_urls_and_no_analytics() -> None:
    plan = plan_launch(["aider", "src/app.py"], GATEWAY, BASE_ENV)
    assert plan.env["OPENAI_API_BASE"] == f"{GATEWAY}/v1"
    assert plan.argv == ["aider", "--no-analytics", "src/app.py"]


def test_other_tools_get_the_openai_base_url_variables() -> None:
    plan = plan_launch(["llm", "prompt"], GATEWAY, BASE_ENV)
    assert plan.env["OPENAI_BASE_URL"] == plan.env["OPENAI_API_BASE"] == f"{GATEWAY}/v1"
    assert plan.env["DO_NOT_TRACK"] == "1"


def test_cloud_database_and_ci_secrets_are_removed_and_listed_by_name() -> None:
    plan = plan_launch(["codex"], GATEWAY, BASE_ENV)
    assert plan.removed == ["ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "GITHUB_TOKEN"]
    assert plan.env["EDITOR"] == "vim" and plan.env["OPENAI_API_KEY"] == "FAKE-openai-0000"
    for name in plan.removed:
        assert name not in plan.env


def test_keep_env_leaves_a_named_secret_in_place() -> None:
    env, removed = strip_secrets(BASE_ENV, "codex", keep=["GITHUB_TOKEN"])
    assert env["GITHUB_TOKEN"] == "FAKE-gh-0000" and "GITHUB_TOKEN" not in removed


def test_local_model_is_passed_in_each_agents_own_way() -> None:
    assert plan_launch(["codex"], GATEWAY, BASE_ENV, model="qwen2.5-coder:14b").argv[-2:] == ["-m", "qwen2.5-coder:14b"]
    assert plan_launch(["claude"], GATEWAY, BASE_ENV, model="qwen2.5-coder:14b").env["ANTHROPIC_MODEL"] == "qwen2.5-coder:14b"
    assert "openai/qwen2.5-coder:14b" in plan_launch(["aider"], GATEWAY, BASE_ENV, model="qwen2.5-coder:14b").argv


def test_no_agent_is_an_error() -> None:
    with pytest.raises(ClientguardError, match="no agent given"):
        plan_launch([], GATEWAY, BASE_ENV)


def test_session_summary_counts_only_what_this_session_added() -> None:
    before = {"requests": 5, "blocked": 1, "redactions": {"by_kind": {"secret": 2}, "by_rule": {"aws-access-key-id": 2}},
              "files": ["a.txt"]}
    after = {"requests": 9, "blocked": 2, "redactions": {"by_kind": {"secret": 5, "pii": 1},
                                                         "by_rule": {"aws-access-key-id": 4, "email": 1, "x": 1}},
             "files": ["a.txt", "notes.txt"]}
    assert session_summary(before, after) == {
        "requests": 4, "blocked": 1,
        "redactions": {"by_kind": {"pii": 1, "secret": 3}, "by_rule": {"aws-access-key-id": 2, "email": 1, "x": 1}},
        "files": ["notes.txt"]}


def test_the_gateway_is_put_in_no_proxy_and_earlier_entries_stay() -> None:
    env = {"OPENAI_API_KEY": "sk-test", "HTTPS_PROXY": "http://user:pw@proxy.corp.test:3128",
           "NO_PROXY": "corp.internal, .svc", "no_proxy": "*"}
    plan = plan_launch(["codex", "exec", "hi"], "http://127.0.0.1:8787", env)
    assert plan.env["NO_PROXY"] == "corp.internal,.svc,127.0.0.1,localhost,::1"
    assert plan.env["no_proxy"] == "*"  # already everything
    assert plan.env["HTTPS_PROXY"] == env["HTTPS_PROXY"]  # the agent keeps its proxy for everything else
    assert any("HTTPS_PROXY is set" in note for note in plan.notes)
    assert not any("pw" in note or "proxy.corp.test" in note for note in plan.notes)
    bare = plan_launch(["claude", "-p", "hi"], "http://[::1]:9000", {"ANTHROPIC_API_KEY": "k"})
    assert bare.env["NO_PROXY"] == bare.env["no_proxy"] == "::1,127.0.0.1,localhost"
    assert not any("NO_PROXY" in note for note in bare.notes)
