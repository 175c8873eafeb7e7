"""What every agent inherits: secret environment variables (names only) and secret files it can read."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from _audit_support import audit, context
from clientguard.errors import ClientguardError
from clientguard.posture import run_audit
from clientguard.posture.secret_env import parse_catalog, secret_env_catalog


def _env_agent(tmp_path: Path, **kwargs):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return audit(home, **kwargs).agent("environment")


def test_secret_variables_are_listed_by_name_and_never_by_value(tmp_path: Path) -> None:
    env = {"AWS_SECRET_ACCESS_KEY": "FAKEFAKEFAKE0000", "DATABASE_URL": "postgres://u:FAKEPASS@db/x",
           "STRIPE_SECRET_KEY": "FAKE-stripe-0000", "HOME": "/home/x", "EDITOR": "vim"}
    finding = next(f for f in _env_agent(tmp_path, env=env).findings if f.id == "environment.secret_variables")
    for name in ("AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "STRIPE_SECRET_KEY"):
        assert name in finding.message
    for value in env.values():
        if "FAKE" in value:
            assert value not in finding.message
    assert "EDITOR" not in finding.message
    assert "clientguard run" in finding.fix


def test_empty_secret_variables_are_ignored(tmp_path: Path) -> None:
    assert not _env_agent(tmp_path, env={"OPENAI_API_KEY": ""}).findings


def test_a_clean_environment_is_ok(tmp_path: Path) -> None:
    agent = _env_agent(tmp_path, env={"PATH": "/usr/bin", "LANG": "C.UTF-8"})
    assert agent.verdict == "ok" and agent.findings == []


def test_secret_files_in_the_repo_are_found_but_templates_are_not(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "node_modules" / "pkg").mkdir(parents=True)
    for name in (".env", ".env.production", "config/server.pem", "config/service-account-prod.json"):
        (repo / name).write_text("FAKE\n")
    for name in (".env.example", "config/app.yml", "node_modules/pkg/.env"):
        (repo / name).write_text("FAKE\n")
    finding = next(f for f in _env_agent(tmp_path, repo=repo).findings if f.id == "environment.secret_files_in_repo")
    for name in (".env", ".env.production", "config/server.pem", "config/service-account-prod.json"):
        assert name in finding.message
    assert ".env.example" not in finding.message and "node_modules" not in finding.message


def test_credential_files_in_home_are_reported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = FAKE\n")
    finding = next(f for f in audit(home).agent("environment").findings if f.id == "environment.home_credentials")
    assert "~/.aws/credentials" in finding.message


@pytest.mark.parametrize("name, family", [("OPENAI_API_KEY", "openai"), ("ANTHROPIC_API_KEY", "anthropic"),
                                          ("AWS_SESSION_TOKEN", "cloud"), ("BILLING_DATABASE_URL", "database"),
                                          ("GITHUB_TOKEN", "vcs_ci"), ("MY_SERVICE_PASSWORD", "generic"),
                                          ("PATH", None), ("TOKENIZERS_PARALLELISM", None)])
def test_secret_variable_families(name: str, family: str | None) -> None:
    assert secret_env_catalog().family_of(name) == family


def test_the_bundled_secret_variable_catalog_is_valid_and_has_no_duplicates() -> None:
    text = resources.files("clientguard.posture").joinpath("secret_env.toml").read_text("utf-8")
    catalog = parse_catalog(tomllib.loads(text))
    seen: set[str] = set()
    for family in catalog.families:
        assert not (family.names & seen), f"{family.name} repeats names"
        seen |= family.names


def test_a_malformed_secret_variable_catalog_is_rejected_with_its_location() -> None:
    with pytest.raises(ClientguardError, match="families.x.names"):
        parse_catalog({"schema": 1, "families": {"x": {"description": "d", "names": "OPENAI_API_KEY"}}})


def test_secret_files_under_protected_paths_are_information_not_a_caution(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "secrets").mkdir(parents=True)
    (repo / "secrets" / "deploy.pem").write_text("FAKE\n")
    (repo / ".env").write_text("FAKE=1\n")
    home = tmp_path / "home"
    home.mkdir()
    agent = run_audit(context(home, repo=repo, protected=("secrets/**",))).agent("environment")
    by_id = {f.id: f for f in agent.findings}
    assert "secrets/deploy.pem" in by_id["environment.secret_files_protected"].message
    assert by_id["environment.secret_files_protected"].severity == "info"
    assert ".env" in by_id["environment.secret_files_in_repo"].message
    assert "secrets/deploy.pem" not in by_id["environment.secret_files_in_repo"].message
    assert 'protected_paths = [".env"]' in by_id["environment.secret_files_in_repo"].fix


@pytest.mark.parametrize(("env", "caught"), [
    ({"HTTP_PROXY": "http://user:pw@proxy.corp.test:3128"}, True),
    ({"all_proxy": "http://proxy.corp.test:3128", "NO_PROXY": "corp.internal"}, True),
    ({"HTTP_PROXY": "http://proxy.corp.test:3128", "NO_PROXY": "corp.internal, 127.0.0.1"}, False),
    ({"http_proxy": "http://proxy.corp.test:3128", "no_proxy": "*"}, False),
    ({"HTTPS_PROXY": "http://proxy.corp.test:3128"}, False),  # applies to https:// URLs, not to the gateway's
    ({}, False),
])
def test_a_proxy_that_would_catch_requests_for_the_gateway_is_reported(tmp_path: Path, env: dict, caught: bool) -> None:
    findings = {f.id: f for f in _env_agent(tmp_path, env=env).findings}
    assert ("environment.proxy_catches_the_gateway" in findings) == caught
    if caught:
        finding = findings["environment.proxy_catches_the_gateway"]
        assert "NO_PROXY" in finding.fix and "clientguard run" in finding.fix
        assert "proxy.corp.test" not in finding.message + finding.fix and "pw" not in finding.message
