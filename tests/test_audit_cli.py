"""`clientguard audit` on the command line: the JSON contract, exit codes, errors, and no token in any output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from _audit_support import FIXTURE_HOMES, NDA_POLICY, fixture_home, write_policy

REPO_ROOT = Path(__file__).resolve().parent.parent

AUDIT_SCHEMA = {
    "type": "object",
    "required": ["agents"],
    "additionalProperties": False,
    "properties": {"agents": {"type": "array", "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["agent", "found", "config_paths", "provider", "plan", "routed_through_clientguard",
                     "verdict", "findings"],
        "properties": {
            "agent": {"type": "string"},
            "found": {"type": "boolean"},
            "config_paths": {"type": "array", "items": {"type": "string"}},
            "provider": {"type": ["string", "null"]},
            "plan": {"type": ["string", "null"]},
            "routed_through_clientguard": {"type": ["boolean", "null"]},
            "verdict": {"enum": ["ok", "caution", "do_not_use"]},
            "findings": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["id", "severity", "message", "fix"],
                "properties": {"id": {"type": "string"}, "severity": {"enum": ["info", "low", "medium", "high", "critical"]},
                               "message": {"type": "string", "minLength": 1}, "fix": {"type": "string"}}}},
        }}}},
}
# Values planted in the fixture homes that must never be printed.
PLANTED_SECRETS = ("FAKE-ACCESS-TOKEN-0000", "FAKE-REFRESH-TOKEN-0000", "sk-FAKE-0000000000000000000000EXAMPLE",
                   "sk-ant-FAKE-0000000000000000EXAMPLE", "FAKE-tracker-token-0000", "FAKE-tickets-0000",
                   "FAKE-mistral-key-0000", "jane.fake@example.com", "FAKE-SIGNATURE-NOT-A-REAL-TOKEN")


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd or REPO_ROOT), "COLUMNS": "200", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "clientguard.cli", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd or REPO_ROOT, timeout=60)


ALL_HOMES = sorted(p.name for p in FIXTURE_HOMES.iterdir() if p.is_dir())


def run_in_process(*args: str):
    """The real typer app in this process (fast enough to run over every fixture home)."""
    from typer.testing import CliRunner

    from clientguard.cli import app

    return CliRunner().invoke(app, list(args), env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})


@pytest.mark.parametrize("home", ALL_HOMES)
def test_json_output_matches_the_documented_shape_for_every_fixture_home(tmp_path: Path, home: str) -> None:
    result = run_in_process("audit", "--home", str(fixture_home(home, tmp_path)), "--repo", str(tmp_path), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, AUDIT_SCHEMA)
    assert [a["agent"] for a in document["agents"]] == ["codex", "claude-code", "aider", "continue", "cursor",
                                                        "ollama", "environment"]


@pytest.mark.parametrize("home", ALL_HOMES)
def test_no_planted_token_key_or_full_email_appears_in_any_output(tmp_path: Path, home: str) -> None:
    path = fixture_home(home, tmp_path)
    for fmt in ("json", "table"):
        result = run_in_process("audit", "--home", str(path), "--repo", str(tmp_path), "--format", fmt)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        for secret in PLANTED_SECRETS:
            assert secret not in result.output


def test_exit_code_is_0_when_every_agent_is_ok(tmp_path: Path) -> None:
    result = run_cli("audit", "--home", str(fixture_home("empty", tmp_path)), "--repo", str(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stdout


def test_exit_code_is_1_when_an_agent_needs_caution(tmp_path: Path) -> None:
    result = run_cli("audit", "--home", str(fixture_home("codex-plus", tmp_path)), "--repo", str(tmp_path))
    assert result.returncode == 1


def test_table_output_shows_each_verdict_and_the_fix_lines(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    policy = write_policy(repo, NDA_POLICY)
    result = run_cli("audit", "--home", str(fixture_home("codex-plus", tmp_path)), "--policy", str(policy))
    assert result.returncode == 1
    assert "do_not_use" in result.stdout and "Acme Health GmbH" in result.stdout
    assert "[analytics]" in result.stdout and "enabled = false" in result.stdout


def test_policy_is_found_from_the_repo_when_not_given(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    write_policy(repo, NDA_POLICY)
    result = run_cli("audit", "--home", str(fixture_home("codex-plus", tmp_path)), "--repo", str(repo), "--format", "json")
    codex = json.loads(result.stdout)["agents"][0]
    assert codex["verdict"] == "do_not_use"


def test_missing_home_is_an_error_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("audit", "--home", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "not a directory" in result.stderr and "Traceback" not in result.stderr


def test_malformed_policy_is_an_error_with_exit_2_naming_the_file(tmp_path: Path) -> None:
    policy = tmp_path / "clientguard.toml"
    policy.write_text("[client\nname = 'x'\n")
    result = run_cli("audit", "--home", str(fixture_home("empty", tmp_path)), "--policy", str(policy))
    assert result.returncode == 2
    assert "clientguard.toml" in result.stderr and "Traceback" not in result.stderr


def test_missing_policy_file_is_an_error_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("audit", "--home", str(fixture_home("empty", tmp_path)), "--policy", str(tmp_path / "none.toml"))
    assert result.returncode == 2 and "not found" in result.stderr


def test_codex_home_from_the_environment_is_ignored_when_auditing_another_home(tmp_path: Path) -> None:
    real = fixture_home("codex-plus", tmp_path / "real")
    result = run_cli("audit", "--home", str(fixture_home("empty", tmp_path)), "--format", "json",
                     env={"CODEX_HOME": str(real / ".codex")})
    assert json.loads(result.stdout)["agents"][0]["found"] is False


def test_audit_of_the_bundled_demo_homes_gives_different_verdicts_for_the_demo_client(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    policy = write_policy(repo, NDA_POLICY)
    verdicts = {}
    for home in ("consumer-plus", "business"):
        result = run_cli("audit", "--home", str(REPO_ROOT / "examples" / "homes" / home), "--policy", str(policy),
                         "--format", "json")
        verdicts[home] = json.loads(result.stdout)["agents"][0]["verdict"]
    assert verdicts == {"consumer-plus": "do_not_use", "business": "ok"}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("home", ["codex-pro-risky", "claude-apikey-inline", "continue-mixed", "ollama-mixed"])
def test_audit_opens_no_network_connection_and_changes_no_file(tmp_path: Path, home: str, monkeypatch) -> None:
    import socket

    from _audit_support import context
    from clientguard.posture import run_audit

    path = fixture_home(home, tmp_path)
    before = _snapshot(path)
    attempts: list[object] = []

    def refuse(self, address):  # any connection attempt is recorded and refused
        attempts.append(address)
        raise OSError("the audit must not connect anywhere")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    report = run_audit(context(path, repo=tmp_path))
    assert attempts == []
    assert not any(f.id == "audit.reader_failed" for a in report.agents for f in a.findings)
    assert _snapshot(path) == before
