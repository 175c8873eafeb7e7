"""The aider, Continue, Cursor and Ollama readers, including broken and partial configurations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from _audit_support import audit, finding_ids, fixture_home


# --- aider ---------------------------------------------------------------------------------------

def test_aider_key_written_in_the_yaml_is_flagged_without_its_value(tmp_path: Path) -> None:
    aider = audit(fixture_home("aider-inline", tmp_path)).agent("aider")
    finding = next(f for f in aider.findings if f.id == "aider.inline_key.home")
    assert "openai-api-key" in finding.message
    assert "sk-FAKE" not in json.dumps(aider.to_json())


def test_aider_direct_to_openai_gets_the_base_url_fix(tmp_path: Path) -> None:
    aider = audit(fixture_home("aider-inline", tmp_path)).agent("aider")
    assert (aider.provider, aider.plan, aider.routed_through_clientguard) == ("openai", "api", False)
    assert "openai-api-base: http://127.0.0.1:8787/v1" in next(
        f for f in aider.findings if f.id == "aider.direct_to_provider").fix


def test_aider_asked_to_opt_in_without_permanent_disable_may_send_analytics(tmp_path: Path) -> None:
    assert "aider.analytics_maybe_on" in finding_ids(audit(fixture_home("aider-inline", tmp_path)), "aider")


def test_aider_routed_and_analytics_disabled_is_ok(tmp_path: Path) -> None:
    aider = audit(fixture_home("aider-routed", tmp_path)).agent("aider")
    assert aider.routed_through_clientguard is True
    assert aider.verdict == "ok", [f.id for f in aider.findings]


def test_aider_environment_variables_override_the_yaml(tmp_path: Path) -> None:
    aider = audit(fixture_home("aider-inline", tmp_path),
                  env={"AIDER_OPENAI_API_BASE": "http://127.0.0.1:8787/v1"}).agent("aider")
    assert aider.routed_through_clientguard is True


def test_aider_repo_config_wins_over_the_home_config(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".aider.conf.yml").write_text("model: ollama_chat/qwen2.5-coder:14b\n")
    aider = audit(fixture_home("aider-inline", tmp_path), repo=repo).agent("aider")
    assert aider.local_only and aider.provider == "ollama"


def test_aider_claude_model_means_anthropic_api_terms(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".aider.conf.yml").write_text("model: sonnet\n")
    aider = audit(home).agent("aider")
    assert (aider.provider, aider.plan) == ("anthropic", "api")


def test_aider_chat_history_in_a_repo_without_gitignore_is_high(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".aider.chat.history.md").write_text("# fake chat\n")
    finding = next(f for f in audit(fixture_home("aider-routed", tmp_path), repo=repo).agent("aider").findings
                   if f.id == "aider.chat_history_in_repo")
    assert finding.severity == "high" and ".gitignore" in finding.fix


def test_aider_chat_history_that_is_gitignored_is_low(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".aider.chat.history.md").write_text("# fake chat\n")
    (repo / ".gitignore").write_text(".aider*\n")
    finding = next(f for f in audit(fixture_home("aider-routed", tmp_path), repo=repo).agent("aider").findings
                   if f.id == "aider.chat_history_in_repo")
    assert finding.severity == "low"


def test_aider_broken_yaml_names_the_line(tmp_path: Path) -> None:
    finding = next(f for f in audit(fixture_home("aider-broken", tmp_path)).agent("aider").findings
                   if f.id == "aider.config_unreadable.home")
    assert ".aider.conf.yml" in finding.message and "line" in finding.message


def test_aider_yaml_that_is_a_list_is_reported(tmp_path: Path) -> None:
    finding = next(f for f in audit(fixture_home("aider-list", tmp_path)).agent("aider").findings
                   if f.id == "aider.config_unreadable.home")
    assert "found a list" in finding.message


# --- Continue ------------------------------------------------------------------------------------

def test_continue_checks_every_model_entry_including_autocomplete(tmp_path: Path) -> None:
    cont = audit(fixture_home("continue-mixed", tmp_path)).agent("continue")
    destinations = {route.name.split(" (")[0]: route.destination for route in cont.routes}
    assert destinations == {"chat via clientguard": "clientguard", "codestral autocomplete": "provider",
                            "local embeddings": "local_model"}
    finding = next(f for f in cont.findings if f.id == "continue.direct_to_provider.codestral_autocomplete")
    assert "Autocomplete sends the code around the cursor" in finding.message
    assert cont.routed_through_clientguard is False


def test_continue_plain_text_key_is_flagged_but_secret_references_are_not(tmp_path: Path) -> None:
    ids = finding_ids(audit(fixture_home("continue-mixed", tmp_path)), "continue")
    assert "continue.inline_key.codestral_autocomplete" in ids
    assert "continue.inline_key.chat_via_clientguard" not in ids


def test_continue_telemetry_is_on_unless_switched_off(tmp_path: Path) -> None:
    assert "continue.telemetry_on" in finding_ids(audit(fixture_home("continue-mixed", tmp_path / "a")), "continue")
    assert "continue.telemetry_on" not in finding_ids(audit(fixture_home("continue-json", tmp_path / "b")), "continue")


def test_continue_jsonc_config_with_comments_is_read(tmp_path: Path) -> None:
    cont = audit(fixture_home("continue-json", tmp_path)).agent("continue")
    assert cont.routed_through_clientguard is True
    assert {r.destination for r in cont.routes} == {"clientguard", "local_model"}
    assert cont.verdict == "ok", [f.id for f in cont.findings]


def test_continue_broken_yaml_is_a_finding(tmp_path: Path) -> None:
    ids = finding_ids(audit(fixture_home("continue-broken", tmp_path)), "continue")
    assert "continue.config_unreadable.config.yaml" in ids


# --- Cursor --------------------------------------------------------------------------------------

def _cursor_db(home: Path, values: dict[str, str]) -> Path:
    path = home / ".config" / "Cursor" / "User" / "globalStorage" / "state.vscdb"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
        db.executemany("INSERT INTO ItemTable VALUES (?, ?)", list(values.items()))
    return path


@pytest.mark.parametrize("mode, on", [("PRIVACY_MODE_NO_STORAGE", True), ("PRIVACY_MODE_NO_TRAINING", True),
                                      ("PRIVACY_MODE_USAGE_DATA_TRAINING_ALLOWED", False),
                                      ("PRIVACY_MODE_USAGE_CODEBASE_TRAINING_ALLOWED", False)])
def test_cursor_privacy_mode_is_read_from_the_state_database(tmp_path: Path, mode: str, on: bool) -> None:
    _cursor_db(tmp_path, {"cursorai/donotchange/newPrivacyMode2": json.dumps({"privacyMode": mode}),
                          "cursorAuth/stripeMembershipType": "pro"})
    cursor = audit(tmp_path).agent("cursor")
    assert cursor.plan == "pro"
    assert cursor.account_facts["privacy_mode"] is on
    assert ("cursor.privacy_mode_off" in {f.id for f in cursor.findings}) is (not on)


def test_cursor_legacy_privacy_flag_is_understood(tmp_path: Path) -> None:
    _cursor_db(tmp_path, {"cursorai/donotchange/privacyMode": "false"})
    assert "cursor.privacy_mode_off" in finding_ids(audit(tmp_path), "cursor")


def test_cursor_tokens_in_the_database_are_never_read(tmp_path: Path) -> None:
    _cursor_db(tmp_path, {"cursorAuth/accessToken": "FAKE-CURSOR-ACCESS-0000", "cursorAuth/cachedEmail": "jane.fake@example.com",
                          "cursorAuth/stripeMembershipType": "pro"})
    cursor = audit(tmp_path).agent("cursor")
    text = json.dumps(cursor.to_json()) + " ".join(cursor.notes)
    assert "FAKE-CURSOR-ACCESS" not in text and "jane.fake@example.com" not in text
    assert "j***@example.com" in text


def test_cursor_cannot_be_routed_and_the_audit_says_so(tmp_path: Path) -> None:
    _cursor_db(tmp_path, {})
    cursor = audit(tmp_path).agent("cursor")
    assert cursor.routed_through_clientguard is None
    assert "cursor.cannot_route" in {f.id for f in cursor.findings}


def test_cursor_without_a_database_says_where_to_check_privacy_mode(tmp_path: Path) -> None:
    cursor = audit(fixture_home("cursor-nodb", tmp_path)).agent("cursor")
    finding = next(f for f in cursor.findings if f.id == "cursor.privacy_mode_unknown")
    assert "Settings" in finding.fix and "Privacy Mode" in finding.fix


def test_cursor_corrupt_database_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / ".config" / "Cursor" / "User" / "globalStorage" / "state.vscdb"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite" * 100)
    assert "cursor.state_unreadable" in finding_ids(audit(tmp_path), "cursor")


# --- Ollama --------------------------------------------------------------------------------------

def test_ollama_models_are_listed_and_cloud_ones_flagged(tmp_path: Path) -> None:
    ollama = audit(fixture_home("ollama-mixed", tmp_path)).agent("ollama")
    assert (ollama.provider, ollama.plan, ollama.local_only) == ("ollama", "local", True)
    finding = next(f for f in ollama.findings if f.id == "ollama.cloud_models")
    assert "gpt-oss:120b-cloud" in finding.message and "qwen2.5-coder" not in finding.message


@pytest.mark.parametrize("host, flagged", [("0.0.0.0:11434", True), ("192.168.1.20", True),
                                           ("127.0.0.1:11434", False), ("localhost", False)])
def test_ollama_listening_address(tmp_path: Path, host: str, flagged: bool) -> None:
    ids = finding_ids(audit(fixture_home("ollama-mixed", tmp_path), env={"OLLAMA_HOST": host}), "ollama")
    assert ("ollama.listens_on_network" in ids) is flagged


def test_ollama_without_models_suggests_pulling_a_code_model(tmp_path: Path) -> None:
    finding = next(f for f in audit(fixture_home("ollama-empty", tmp_path)).agent("ollama").findings
                   if f.id == "ollama.no_local_models")
    assert finding.severity == "info" and finding.fix.startswith("ollama pull")


# --- nothing installed ----------------------------------------------------------------------------

def test_empty_home_finds_no_agent_and_every_verdict_is_ok(tmp_path: Path) -> None:
    report = audit(fixture_home("empty", tmp_path))
    assert [a.agent for a in report.agents if a.found] == ["environment"]
    assert report.exit_code == 0


def test_cursor_flags_env_files_missing_from_cursorignore(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".env").write_text("FAKE=1\n")
    finding = next(f for f in audit(fixture_home("cursor-nodb", tmp_path), repo=repo).agent("cursor").findings
                   if f.id == "cursor.env_files_not_ignored")
    assert ".env*" in finding.fix


def test_cursorignore_listing_env_files_clears_the_finding(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".env").write_text("FAKE=1\n")
    (repo / ".cursorignore").write_text("node_modules/\n.env*\n")
    assert "cursor.env_files_not_ignored" not in finding_ids(audit(fixture_home("cursor-nodb", tmp_path), repo=repo), "cursor")


def test_continue_telemetry_switched_off_in_vscode_settings_counts(tmp_path: Path) -> None:
    home = fixture_home("continue-mixed", tmp_path)
    settings = home / ".config" / "Code" / "User" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{\n  // VS Code allows comments\n  "continue.telemetryEnabled": false\n}\n')
    assert "continue.telemetry_on" not in finding_ids(audit(home), "continue")


def test_cursor_database_is_opened_read_only(tmp_path: Path) -> None:
    path = _cursor_db(tmp_path, {"cursorai/donotchange/privacyMode": "true"})
    before = {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()}
    audit(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()} == before
