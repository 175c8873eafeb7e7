"""Helpers for the audit tests: fixture homes, hermetic contexts, fake sign-ins made at test time."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from clientguard.posture import AuditContext, AuditReport, run_audit

FIXTURE_HOMES = Path(__file__).parent / "fixtures" / "homes"


def fixture_home(name: str, tmp_path: Path) -> Path:
    """A private copy of a fixture home (so file modes and timestamps are the test's own)."""
    target = tmp_path / "home"
    shutil.copytree(FIXTURE_HOMES / name, target)
    for auth in target.rglob("auth.json"):
        auth.chmod(0o600)
    return target


def context(home: Path, *, repo: Path | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None, managed: tuple[Path, ...] = (), protected: tuple[str, ...] = ()) -> AuditContext:
    """A hermetic audit context: only the given environment, no PATH lookups, no system settings."""
    return AuditContext(home=home, repo=repo, cwd=cwd or (repo or home), env=dict(env or {}),
                        honour_env_dirs=False, managed_settings=managed, search_path=False,
                        protected_paths=protected)


def audit(home: Path, **kwargs) -> AuditReport:
    return run_audit(context(home, **kwargs))


def finding_ids(report: AuditReport, agent: str) -> set[str]:
    return {f.id for f in report.agent(agent).findings}


def fake_id_token(claims: dict) -> str:
    """An unsigned JWT with the given payload; the signature part is obviously fake."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part(claims)}.FAKE-SIGNATURE"


def write_codex_sign_in(home: Path, plan: str | None, email: str = "test.user@example.com") -> Path:
    """Write ~/.codex/auth.json for a ChatGPT sign-in with this plan claim (None: no plan claim)."""
    auth_claims = {"chatgpt_account_id": "00000000-FAKE"}
    if plan is not None:
        auth_claims["chatgpt_plan_type"] = plan
    token = fake_id_token({"email": email, "https://api.openai.com/auth": auth_claims})
    path = home / ".codex" / "auth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auth_mode": "chatgpt", "tokens": {
        "id_token": token, "access_token": "FAKE-ACCESS-0000", "refresh_token": "FAKE-REFRESH-0000"}}))
    path.chmod(0o600)
    return path


def write_policy(directory: Path, body: str) -> Path:
    path = directory / "clientguard.toml"
    path.write_text(body)
    return path


NDA_POLICY = """\
[client]
name = "Acme Health GmbH"
identifiers = ["Acme Health", "acme-health.de"]

[contract]
nda = true
audit_log_required = true

[[accounts]]
name = "work"
provider = "openai"
plan = "team"

[[accounts]]
name = "personal"
provider = "openai"
plan = "plus"
"""
