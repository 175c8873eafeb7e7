"""Verdicts that combine an agent's detected account with the client's contract (clientguard.policy.decision)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _audit_support import NDA_POLICY, context, fixture_home, write_codex_sign_in, write_policy
from clientguard.policy import load_policy
from clientguard.posture import run_audit
from clientguard.posture.verdict import catalog_account


def _audit_with(policy_text: str, home: Path, repo: Path, **kwargs):
    policy = load_policy(write_policy(repo, policy_text))
    return run_audit(context(home, repo=repo, **kwargs), policy)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def test_consumer_sign_in_under_an_nda_is_do_not_use_with_the_contract_reason(tmp_path: Path, repo: Path) -> None:
    codex = _audit_with(NDA_POLICY, fixture_home("codex-plus", tmp_path), repo).agent("codex")
    assert codex.verdict == "do_not_use"
    block = next(f for f in codex.findings if f.id == "policy.block")
    assert block.severity == "critical"
    assert "Acme Health GmbH" in block.message and "nda" in block.message.lower()
    assert "'personal'" in block.message  # the policy's own account for openai plus was used
    assert block.fix


def test_blocked_sign_in_fix_names_the_allowed_account_to_switch_to(tmp_path: Path, repo: Path) -> None:
    codex = _audit_with(NDA_POLICY, fixture_home("codex-plus", tmp_path), repo).agent("codex")
    block = next(f for f in codex.findings if f.id == "policy.block")
    assert block.fix.splitlines()[0].endswith("clientguard run --account work -- codex")


def test_business_sign_in_under_the_same_nda_is_not_blocked(tmp_path: Path, repo: Path) -> None:
    codex = _audit_with(NDA_POLICY, fixture_home("codex-business", tmp_path), repo).agent("codex")
    assert "policy.block" not in {f.id for f in codex.findings}
    assert codex.verdict == "caution"  # direct to the provider, and the contract wants an egress log


def test_audit_log_clause_flags_agents_that_bypass_the_ledger(tmp_path: Path, repo: Path) -> None:
    codex = _audit_with(NDA_POLICY, fixture_home("codex-business", tmp_path), repo).agent("codex")
    finding = next(f for f in codex.findings if f.id == "policy.audit_log_required")
    assert finding.fix == "clientguard run -- codex"


def test_business_sign_in_routed_through_clientguard_is_ok(tmp_path: Path, repo: Path) -> None:
    codex = _audit_with(NDA_POLICY, fixture_home("codex-routed", tmp_path), repo).agent("codex")
    assert codex.verdict == "ok", [(f.id, f.message) for f in codex.findings]


def test_plan_not_listed_in_the_policy_is_decided_as_detected_without_assuming_an_opt_out(tmp_path: Path, repo: Path) -> None:
    claude = _audit_with(NDA_POLICY, fixture_home("claude-pro", tmp_path), repo).agent("claude-code")
    block = next(f for f in claude.findings if f.id == "policy.block")
    assert "detected anthropic pro" in block.message and "no opt-out is assumed" in block.message
    assert claude.verdict == "do_not_use"


def test_unlisted_account_gets_the_toml_lines_to_record_it(tmp_path: Path, repo: Path) -> None:
    claude = _audit_with(NDA_POLICY, fixture_home("claude-pro", tmp_path), repo).agent("claude-code")
    finding = next(f for f in claude.findings if f.id == "policy.account_not_listed")
    assert '[[accounts]]\nname = "anthropic-pro"\nprovider = "anthropic"\nplan = "pro"' in finding.fix


def test_opted_out_consumer_account_is_allowed_with_a_caution(tmp_path: Path, repo: Path) -> None:
    policy = NDA_POLICY.replace('plan = "plus"\n', 'plan = "plus"\ntraining_opt_out = true\nopt_out_confirmed = 2026-05-01\n')
    codex = _audit_with(policy, fixture_home("codex-plus", tmp_path), repo).agent("codex")
    assert "policy.block" not in {f.id for f in codex.findings}
    assert any(f.id.startswith("policy.caution") for f in codex.findings)


NO_THIRD_PARTY = """\
[client]
name = "Bank Example AG"
[contract]
nda = true
no_third_party_processing = true
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


def test_no_third_party_processing_makes_cloud_agents_do_not_use_with_the_local_route(tmp_path: Path, repo: Path) -> None:
    home = tmp_path / "home"
    write_codex_sign_in(home, "enterprise")
    codex = _audit_with(NO_THIRD_PARTY, home, repo).agent("codex")
    finding = next(f for f in codex.findings if f.id == "policy.route_local")
    assert codex.verdict == "do_not_use"
    assert "clientguard run -- codex" in finding.fix and "'box'" in finding.fix


def test_no_third_party_processing_accepts_an_agent_on_a_local_model(tmp_path: Path, repo: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(
        'model_provider = "ollama"\n[analytics]\nenabled = false\n[history]\npersistence = "none"\n[feedback]\nenabled = false\n'
        '[features]\nplugins = false\n')
    codex = _audit_with(NO_THIRD_PARTY, home, repo).agent("codex")
    assert codex.verdict == "ok", [(f.id, f.message) for f in codex.findings]


def test_provider_outside_the_catalog_cannot_be_judged_and_says_so(tmp_path: Path, repo: Path) -> None:
    cont = _audit_with(NDA_POLICY, fixture_home("continue-mixed", tmp_path), repo).agent("continue")
    finding = next(f for f in cont.findings if f.id == "policy.plan_not_in_catalog")
    assert "mistral" in finding.message


def test_unknown_plan_with_a_policy_is_reported(tmp_path: Path, repo: Path) -> None:
    codex = _audit_with(NDA_POLICY, fixture_home("codex-empty", tmp_path), repo).agent("codex")
    assert "policy.plan_unknown" in {f.id for f in codex.findings}


@pytest.mark.parametrize("reported, catalog", [(("openai", "business"), ("openai", "team")),
                                               (("openai", "plus"), ("openai", "plus")),
                                               (("aws-bedrock", "api"), ("anthropic", "api")),
                                               (("cursor", "free"), ("cursor", "hobby")),
                                               (("mistral", "api"), None)])
def test_reported_plans_map_onto_the_provider_catalog(reported: tuple[str, str], catalog: tuple[str, str] | None) -> None:
    assert catalog_account(*reported) == catalog


def test_without_a_policy_a_consumer_plan_is_a_caution_citing_the_catalog(tmp_path: Path) -> None:
    codex = run_audit(context(fixture_home("codex-plus", tmp_path))).agent("codex")
    finding = next(f for f in codex.findings if f.id == "plan.consumer_terms")
    assert "ChatGPT Plus" in finding.message and finding.severity == "high"
    assert codex.verdict == "caution"


CURSOR_POLICY = """\
[client]
name = "Acme Health GmbH"
[contract]
nda = true
[[accounts]]
name = "cursor"
provider = "cursor"
plan = "pro"
privacy_mode = true
"""


def _cursor_home(tmp_path: Path, privacy_mode: str) -> Path:
    import json
    import sqlite3

    home = tmp_path / "home"
    db = home / ".config" / "Cursor" / "User" / "globalStorage" / "state.vscdb"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE ItemTable (key TEXT UNIQUE, value BLOB)")
        conn.executemany("INSERT INTO ItemTable VALUES (?, ?)", [
            ("cursorai/donotchange/newPrivacyMode2", json.dumps({"privacyMode": privacy_mode})),
            ("cursorAuth/stripeMembershipType", "pro")])
    return home


def test_cursor_privacy_mode_off_contradicting_the_policy_is_do_not_use(tmp_path: Path, repo: Path) -> None:
    cursor = _audit_with(CURSOR_POLICY, _cursor_home(tmp_path, "PRIVACY_MODE_USAGE_CODEBASE_TRAINING_ALLOWED"),
                         repo).agent("cursor")
    assert "policy.privacy_mode_mismatch" in {f.id for f in cursor.findings}
    assert cursor.verdict == "do_not_use"


def test_cursor_unlisted_with_privacy_mode_off_is_blocked_by_the_nda(tmp_path: Path, repo: Path) -> None:
    policy = NDA_POLICY  # lists no Cursor account: the detected one is judged with the privacy mode read locally
    cursor = _audit_with(policy, _cursor_home(tmp_path, "PRIVACY_MODE_USAGE_DATA_TRAINING_ALLOWED"), repo).agent("cursor")
    assert "policy.block" in {f.id for f in cursor.findings}
    assert "privacy_mode = false" in next(f for f in cursor.findings if f.id == "policy.account_not_listed").fix


def test_cursor_unlisted_with_privacy_mode_on_is_not_blocked(tmp_path: Path, repo: Path) -> None:
    cursor = _audit_with(NDA_POLICY, _cursor_home(tmp_path, "PRIVACY_MODE_NO_TRAINING"), repo).agent("cursor")
    assert "policy.block" not in {f.id for f in cursor.findings}
    assert cursor.verdict == "caution"  # it still cannot be routed through clientguard
    ledger = next(f for f in cursor.findings if f.id == "policy.audit_log_required")
    assert "cannot be routed" in ledger.fix
