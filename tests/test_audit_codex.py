"""The Codex reader: sign-in plan from the ID token, routing, risky switches, profiles, broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _audit_support import audit, finding_ids, fixture_home, write_codex_sign_in


@pytest.mark.parametrize("plan", ["free", "go", "plus", "pro"])
def test_consumer_chatgpt_plan_is_read_from_the_id_token_and_flagged(tmp_path: Path, plan: str) -> None:
    home = tmp_path / "home"
    write_codex_sign_in(home, plan)
    codex = audit(home).agent("codex")
    assert (codex.provider, codex.plan) == ("openai", plan)
    assert "plan.consumer_terms" in {f.id for f in codex.findings}
    assert codex.verdict == "caution"


@pytest.mark.parametrize("plan", ["team", "business", "enterprise", "edu"])
def test_workspace_chatgpt_plan_is_not_flagged_as_consumer(tmp_path: Path, plan: str) -> None:
    home = tmp_path / "home"
    write_codex_sign_in(home, plan)
    codex = audit(home).agent("codex")
    assert codex.plan == plan
    assert "plan.consumer_terms" not in {f.id for f in codex.findings}


def test_sign_in_email_is_masked_and_tokens_never_appear(tmp_path: Path) -> None:
    home = fixture_home("codex-plus", tmp_path)
    auth = json.loads((home / ".codex" / "auth.json").read_text())
    codex = audit(home).agent("codex")
    text = json.dumps(codex.to_json()) + " ".join(codex.notes) + (codex.plan_source or "")
    assert "j***@example.com" in text
    assert "jane.fake@example.com" not in text
    for token in auth["tokens"].values():
        assert token not in text


def test_api_key_in_auth_json_means_api_terms(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-apikey", tmp_path)).agent("codex")
    assert (codex.provider, codex.plan) == ("openai", "api")
    assert "sk-FAKE" not in json.dumps(codex.to_json())


def test_api_key_in_environment_means_api_terms_without_auth_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    codex = audit(home, env={"CODEX_API_KEY": "FAKE-0000"}).agent("codex")
    assert codex.plan == "api"
    assert "environment variable CODEX_API_KEY" in (codex.plan_source or "")


def test_no_sign_in_is_reported_as_information(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-empty", tmp_path)).agent("codex")
    assert codex.found and codex.plan is None
    assert "codex.not_signed_in" in {f.id for f in codex.findings}


def test_default_config_talks_to_the_provider_directly(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-plus", tmp_path)).agent("codex")
    assert codex.routed_through_clientguard is False
    direct = next(f for f in codex.findings if f.id == "codex.direct_to_provider")
    assert 'wire_api = "responses"' in direct.fix and "supports_websockets = false" in direct.fix


def test_custom_provider_on_loopback_counts_as_routed_through_clientguard(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-routed", tmp_path)).agent("codex")
    assert codex.routed_through_clientguard is True
    assert "codex.direct_to_provider" not in {f.id for f in codex.findings}


def test_well_configured_routed_business_sign_in_is_ok_without_policy(tmp_path: Path) -> None:
    report = audit(fixture_home("codex-routed", tmp_path))
    codex = report.agent("codex")
    assert codex.verdict == "ok", [f.id for f in codex.findings]


def test_openai_base_url_config_key_routes_the_builtin_provider(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_codex_sign_in(home, "team")
    (home / ".codex" / "config.toml").write_text('openai_base_url = "http://127.0.0.1:9999/v1"\n')
    assert audit(home).agent("codex").routed_through_clientguard is True


def test_openai_base_url_environment_variable_is_reported_as_ignored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_codex_sign_in(home, "team")
    codex = audit(home, env={"OPENAI_BASE_URL": "http://127.0.0.1:8787/v1"}).agent("codex")
    assert codex.routed_through_clientguard is False
    assert "codex.openai_base_url_env_ignored" in {f.id for f in codex.findings}


def test_ollama_provider_is_a_local_model(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text('model_provider = "ollama"\nmodel = "qwen2.5-coder"\n')
    codex = audit(home).agent("codex")
    assert codex.local_only and (codex.provider, codex.plan) == ("ollama", "local")


def test_risky_switches_each_get_a_finding_with_the_config_lines_to_fix_them(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-pro-risky", tmp_path)).agent("codex")
    by_id = {f.id: f for f in codex.findings}
    assert by_id["codex.sandbox_full_access"].severity == "high"
    assert 'sandbox_mode = "workspace-write"' in by_id["codex.sandbox_full_access"].fix
    assert "network_access = false" in by_id["codex.sandbox_network"].fix
    assert 'inherit = "core"' in by_id["codex.shell_env_inherits_secrets"].fix
    assert "collector.example.net" in by_id["codex.otel_export_off_machine"].message
    assert "log_user_prompt = false" in by_id["codex.otel_logs_prompts"].fix
    assert "send-to-phone" in by_id["codex.notify_program"].message


def test_inline_mcp_secret_is_named_but_its_value_is_not_shown(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-pro-risky", tmp_path)).agent("codex")
    finding = next(f for f in codex.findings if f.id == "codex.mcp_inline_secret.tracker")
    assert "TRACKER_API_TOKEN" in finding.message
    assert "TRACKER_REGION" not in finding.message
    assert "FAKE-tracker-token" not in finding.message + finding.fix


def test_session_transcripts_are_reported_with_size_and_age(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-pro-risky", tmp_path)).agent("codex")
    finding = next(f for f in codex.findings if f.id == "codex.session_transcripts")
    assert "1 file(s)" in finding.message and "days old" in finding.message
    assert "--ephemeral" in finding.fix


def test_telemetry_defaults_are_flagged_and_explicit_switches_clear_them(tmp_path: Path) -> None:
    ids_default = finding_ids(audit(fixture_home("codex-plus", tmp_path / "a")), "codex")
    ids_quiet = finding_ids(audit(fixture_home("codex-routed", tmp_path / "b")), "codex")
    for finding in ("codex.analytics_on", "codex.history_saved", "codex.feedback_uploads_transcript",
                    "codex.plugins_sync"):
        assert finding in ids_default
        assert finding not in ids_quiet


def test_profiles_report_only_what_they_change(tmp_path: Path) -> None:
    ids = finding_ids(audit(fixture_home("codex-free-profiles", tmp_path)), "codex")
    assert "codex.sandbox_full_access.profile.yolo" in ids
    assert "codex.shell_env_inherits_secrets.profile.work" in ids
    assert "codex.sandbox_full_access" not in ids
    assert not any(i.startswith("codex.analytics_on") for i in ids)


def test_profile_files_are_listed_as_config_paths(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-free-profiles", tmp_path)).agent("codex")
    assert any(p.endswith("work.config.toml") for p in codex.config_paths)


def test_broken_config_toml_is_a_finding_naming_the_line(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-broken", tmp_path)).agent("codex")
    finding = next(f for f in codex.findings if f.id == "codex.config_unreadable")
    assert "config.toml" in finding.message and "line 2" in finding.message


def test_broken_auth_json_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-broken", tmp_path)).agent("codex")
    assert "codex.auth_unreadable" in {f.id for f in codex.findings}
    assert codex.plan is None


def test_undecodable_id_token_is_a_finding(tmp_path: Path) -> None:
    codex = audit(fixture_home("codex-bad-token", tmp_path)).agent("codex")
    assert "codex.id_token_unreadable" in {f.id for f in codex.findings}


def test_id_token_without_plan_claim_leaves_plan_unknown(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_codex_sign_in(home, None)
    codex = audit(home).agent("codex")
    assert codex.plan is None and "codex.plan_unknown" in {f.id for f in codex.findings}


def test_codex_home_variable_is_honoured_when_auditing_this_machine(tmp_path: Path) -> None:
    from clientguard.posture import AuditContext, run_audit

    elsewhere = tmp_path / "elsewhere"
    write_codex_sign_in(elsewhere.parent / "x", "pro")
    (elsewhere).mkdir()
    (tmp_path / "x" / ".codex" / "auth.json").rename(elsewhere / "auth.json")
    ctx = AuditContext(home=tmp_path / "home", repo=None, cwd=tmp_path, env={"CODEX_HOME": str(elsewhere)},
                       honour_env_dirs=True, managed_settings=(), search_path=False)
    assert run_audit(ctx).agent("codex").plan == "pro"


def test_world_readable_auth_json_gets_a_chmod_fix(tmp_path: Path) -> None:
    home = fixture_home("codex-plus", tmp_path)
    (home / ".codex" / "auth.json").chmod(0o644)
    finding = next(f for f in audit(home).agent("codex").findings if f.id == "codex.auth_file_readable_by_others")
    assert finding.fix.startswith("chmod 600")


def test_keyring_credentials_leave_the_plan_unknown_and_say_why(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text('cli_auth_credentials_store = "keyring"\n')
    codex = audit(home).agent("codex")
    assert codex.plan is None and "codex.credentials_in_keyring" in {f.id for f in codex.findings}
