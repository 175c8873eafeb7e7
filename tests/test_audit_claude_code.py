"""The Claude Code reader: settings layers, sign-in terms, base URL, telemetry, guards, transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _audit_support import audit, finding_ids, fixture_home


def _claude(home: Path, **kwargs):
    return audit(home, **kwargs).agent("claude-code")


@pytest.mark.parametrize("subscription, consumer", [("pro", True), ("max", True), ("team", False), ("enterprise", False)])
def test_subscription_type_decides_consumer_or_commercial_terms(tmp_path: Path, subscription: str, consumer: bool) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text(json.dumps(
        {"claudeAiOauth": {"accessToken": "FAKE-0000", "subscriptionType": subscription}}))
    claude = _claude(home)
    assert (claude.provider, claude.plan) == ("anthropic", subscription)
    assert ("plan.consumer_terms" in {f.id for f in claude.findings}) is consumer


def test_sign_in_without_subscription_is_the_free_plan(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text(json.dumps({"claudeAiOauth": {"subscriptionType": None}}))
    assert _claude(home).plan == "free"


def test_api_key_in_environment_means_api_terms(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-pro", tmp_path), env={"ANTHROPIC_API_KEY": "FAKE-0000"})
    assert claude.plan == "api" and "ANTHROPIC_API_KEY" in (claude.plan_source or "")


@pytest.mark.parametrize("variable, provider", [("CLAUDE_CODE_USE_BEDROCK", "aws-bedrock"), ("CLAUDE_CODE_USE_VERTEX", "google-vertex")])
def test_bedrock_and_vertex_are_api_terms_with_telemetry_off_by_default(tmp_path: Path, variable: str, provider: str) -> None:
    claude = _claude(fixture_home("claude-pro", tmp_path), env={variable: "1"})
    assert (claude.provider, claude.plan) == (provider, "api")
    assert "claude.telemetry_on" not in {f.id for f in claude.findings}


def test_keychain_sign_in_uses_the_seat_heuristic_and_says_so(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-keychain-seat", tmp_path))
    assert claude.plan == "team"
    finding = next(f for f in claude.findings if f.id == "claude.plan_heuristic")
    assert "j***@example.com" in finding.message and "jane.fake" not in finding.message


def test_default_install_sends_telemetry_around_the_gateway(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-pro", tmp_path))
    finding = next(f for f in claude.findings if f.id == "claude.telemetry_on")
    assert "not through ANTHROPIC_BASE_URL" in finding.message
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" in finding.fix


def test_telemetry_and_error_switches_alone_are_not_enough(tmp_path: Path) -> None:
    """Measured: with these two set, Claude Code 2.1.197 and 2.1.332 still opened api.anthropic.com around the gateway."""
    claude = _claude(fixture_home("claude-pro", tmp_path), env={"DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1"})
    finding = next(f for f in claude.findings if f.id == "claude.telemetry_on")
    assert "only CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 stopped it" in finding.message


def test_telemetry_switches_in_the_shell_environment_count(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-pro", tmp_path), env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    assert "claude.telemetry_on" not in {f.id for f in claude.findings}
    assert "claude.feedback_uploads_transcript" not in {f.id for f in claude.findings}


def test_base_url_on_loopback_in_settings_env_routes_through_clientguard(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-team-routed", tmp_path))
    assert claude.routed_through_clientguard is True
    assert claude.verdict == "ok", [f.id for f in claude.findings]


def test_default_base_url_is_direct_to_anthropic(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-pro", tmp_path))
    assert claude.routed_through_clientguard is False
    assert "ANTHROPIC_BASE_URL" in next(f for f in claude.findings if f.id == "claude.direct_to_provider").fix


def test_secrets_in_a_settings_env_block_are_named_not_shown(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-apikey-inline", tmp_path))
    finding = next(f for f in claude.findings if f.id == "claude.inline_secret.user")
    assert "ANTHROPIC_API_KEY" in finding.message
    assert "sk-ant-FAKE" not in json.dumps(claude.to_json())


def test_inline_mcp_secret_in_claude_json_is_flagged(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-apikey-inline", tmp_path))
    finding = next(f for f in claude.findings if f.id == "claude.mcp_inline_secret.tickets")
    assert "TICKETS_TOKEN" in finding.message and "FAKE-tickets" not in finding.message


def test_otel_prompt_logging_is_high_severity(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-apikey-inline", tmp_path))
    by_id = {f.id: f for f in claude.findings}
    assert by_id["claude.otel_logs_prompts"].severity == "high"
    assert "otel.example.net" in by_id["claude.otel_export_off_machine"].message


def test_project_settings_with_secrets_warn_that_they_are_committed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".claude").mkdir(parents=True)
    (repo / ".claude" / "settings.json").write_text(json.dumps({"env": {"DEPLOY_TOKEN": "FAKE-0000"}}))
    claude = _claude(fixture_home("claude-pro", tmp_path), repo=repo)
    finding = next(f for f in claude.findings if f.id == "claude.inline_secret.project")
    assert "committed" in finding.message and "DEPLOY_TOKEN" in finding.message


def test_managed_settings_win_over_user_settings(tmp_path: Path) -> None:
    managed_dir = tmp_path / "etc" / "claude-code"
    (managed_dir / "managed-settings.d").mkdir(parents=True)
    (managed_dir / "managed-settings.d" / "10-quiet.json").write_text(json.dumps(
        {"env": {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8787"}}))
    claude = _claude(fixture_home("claude-pro", tmp_path),
                     managed=(managed_dir / "managed-settings.json", managed_dir / "managed-settings.d"))
    assert claude.routed_through_clientguard is True
    assert "claude.telemetry_on" not in {f.id for f in claude.findings}
    assert any(p.endswith("10-quiet.json") for p in claude.config_paths)


def test_env_files_without_a_deny_rule_get_the_permission_lines(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".env").write_text("DB_PASSWORD=FAKE\n")
    (repo / ".env.example").write_text("DB_PASSWORD=\n")
    finding = next(f for f in _claude(fixture_home("claude-pro", tmp_path), repo=repo).findings
                   if f.id == "claude.env_files_unguarded")
    assert ".env.example" not in finding.message
    assert '"Read(./.env)"' in finding.fix


def test_deny_rule_for_env_files_counts_as_a_guard(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".env").write_text("DB_PASSWORD=FAKE\n")
    claude = _claude(fixture_home("claude-team-routed", tmp_path), repo=repo)
    assert "claude.env_files_unguarded" not in {f.id for f in claude.findings}


def test_transcripts_are_reported_with_their_retention(tmp_path: Path) -> None:
    finding = next(f for f in _claude(fixture_home("claude-pro", tmp_path)).findings if f.id == "claude.session_transcripts")
    assert "30 days" in finding.message and "cleanupPeriodDays" in finding.fix


def test_broken_settings_and_credentials_are_findings_not_crashes(tmp_path: Path) -> None:
    ids = finding_ids(audit(fixture_home("claude-broken", tmp_path)), "claude-code")
    assert {"claude.settings_unreadable.user", "claude.credentials_unreadable"} <= ids


def test_broken_settings_message_names_the_line(tmp_path: Path) -> None:
    claude = _claude(fixture_home("claude-broken", tmp_path))
    finding = next(f for f in claude.findings if f.id == "claude.settings_unreadable.user")
    assert "settings.json" in finding.message and "line 4" in finding.message


def test_settings_that_are_not_an_object_are_reported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text("[1, 2]")
    finding = next(f for f in _claude(home).findings if f.id == "claude.settings_unreadable.user")
    assert "expected a JSON object" in finding.message
