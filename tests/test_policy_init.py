"""`clientguard init`: identifiers proposed from a real git repository, the file written with flags and
with interactive prompts on a real terminal (a pty), and the written policy loading cleanly."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clientguard.policy import decide, load_policy
from clientguard.policy.init import discover, parse_remote_url

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def git(repo: Path, *args: str, author: str | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}
    if author:
        name, email = author.split("|")
        env.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=30)


@pytest.fixture()
def client_repo(tmp_path: Path) -> Path:
    """A small client repository with remotes, manifests, configs, commit authors and secrets."""
    repo = tmp_path / "billing"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "git@git.acme-health.de:acme-health/billing.git")
    git(repo, "remote", "add", "mirror", "https://github.com/acmehealth/billing-service.git")
    (repo / "package.json").write_text(json.dumps({"name": "@acmehealth/patient-portal"}), encoding="utf-8")
    (repo / "pyproject.toml").write_text('[project]\nname = "acmehealth-billing"\n', encoding="utf-8")
    (repo / "go.mod").write_text("module git.acme-health.de/acme-health/billing\n\ngo 1.22\n", encoding="utf-8")
    (repo / "config").mkdir()
    (repo / "config" / "app.yml").write_text(
        "api: https://api.acme-health.de/v2\n"
        "index: https://pypi.org/simple\n"
        "cache: redis.cache.internal\n"
        "docs: https://docs.python.org/3/\n",
        encoding="utf-8",
    )
    (repo / ".env").write_text("DATABASE_URL=postgres://db.acme-health.de/billing\n", encoding="utf-8")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "deploy.pem").write_text("FAKE KEY MATERIAL\n", encoding="utf-8")
    git(repo, "add", "package.json", "pyproject.toml", "go.mod", "config")
    git(repo, "commit", "-q", "-m", "first", author="Anna Schmidt|anna.schmidt@acme-health.de")
    (repo / "README.md").write_text("Billing\n", encoding="utf-8")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "docs", author="Bob Example|bob.example@gmail.com")
    return repo


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clientguard.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"},
    )


# ------------------------------------------------------------------------------------------ discovery

def test_remote_urls_of_every_form_parse_to_host_and_path() -> None:
    assert parse_remote_url("git@git.acme-health.de:acme-health/billing.git") == ("git.acme-health.de", ["acme-health", "billing"])
    assert parse_remote_url("https://github.com/acmehealth/billing.git") == ("github.com", ["acmehealth", "billing"])
    assert parse_remote_url("ssh://git@gitlab.acme.io:2222/team/app") == ("gitlab.acme.io", ["team", "app"])
    assert parse_remote_url("") == (None, [])


def test_discovery_proposes_remote_organisations_and_private_git_host(client_repo: Path) -> None:
    found = {p.value: p for p in discover(client_repo).identifiers}
    assert found["git.acme-health.de"].kind == "host"
    assert "acme-health" in found and "acmehealth" in found
    assert "github.com" not in found


def test_discovery_proposes_package_names_and_npm_scope(client_repo: Path) -> None:
    values = {p.value for p in discover(client_repo).identifiers}
    assert {"acmehealth-billing", "patient-portal", "billing"} <= values


def test_discovery_proposes_author_mail_domains_but_not_public_mail(client_repo: Path) -> None:
    found = {p.value: p for p in discover(client_repo).identifiers}
    assert found["acme-health.de"].kind == "mail-domain"
    assert "gmail.com" not in found


def test_discovery_proposes_client_hostnames_from_config_files_only(client_repo: Path) -> None:
    found = {p.value: p for p in discover(client_repo).identifiers}
    assert found["api.acme-health.de"].origins == ["config/app.yml:1"]
    assert "redis.cache.internal" in found  # internal TLD
    assert "db.acme-health.de" in found  # from .env
    assert not {"pypi.org", "docs.python.org"} & set(found)


def test_discovery_proposes_protected_paths_for_env_and_secrets(client_repo: Path) -> None:
    paths = [p.value for p in discover(client_repo).protected_paths]
    assert ".env" in paths and "secrets/**" in paths and "**/*.pem" in paths


def test_discovery_in_a_directory_without_git_finds_no_git_facts(tmp_path: Path) -> None:
    found = discover(tmp_path)
    assert found.identifiers == [] and found.protected_paths == []


# ------------------------------------------------------------------------------------- non-interactive

def test_init_with_flags_writes_a_policy_that_loads_and_decides(client_repo: Path) -> None:
    done = run(
        "init", "--repo", str(client_repo), "--name", "Acme Health GmbH",
        "--identifier", "Acme Health", "--account", "work=openai:team",
        "--account", "personal=anthropic:pro:opted-out", "--gdpr-controller", "--subprocessor", "openai",
        "--audit-log-required",
    )
    assert done.returncode == 0, done.stderr
    policy = load_policy(client_repo / "clientguard.toml")
    assert policy.client.name == "Acme Health GmbH"
    assert policy.client.identifiers == ["Acme Health"]
    assert policy.contract.gdpr.authorized_subprocessors == ["openai"]
    assert policy.contract.audit_log_required is True
    assert policy.account("personal").training_opt_out is True
    assert policy.gateway.account == "work"
    assert ".env" in policy.client.protected_paths and "secrets/**" in policy.client.protected_paths
    assert decide(policy, "work", "local").action == "allow"
    assert decide(policy, "personal", "local").action == "block"  # anthropic is not an approved sub-processor


def test_init_without_prompts_lists_found_identifiers_as_comments_to_confirm(client_repo: Path) -> None:
    run("init", "--repo", str(client_repo), "--name", "Acme Health GmbH")
    text = (client_repo / "clientguard.toml").read_text(encoding="utf-8")
    assert '  # "git.acme-health.de",  # git remote \'origin\' host' in text
    assert load_policy(client_repo / "clientguard.toml").client.identifiers == []


def test_init_accept_proposed_uses_every_found_identifier(client_repo: Path) -> None:
    run("init", "--repo", str(client_repo), "--name", "Acme Health GmbH", "--accept-proposed")
    idents = load_policy(client_repo / "clientguard.toml").client.identifiers
    assert {"git.acme-health.de", "acme-health.de", "api.acme-health.de", "acmehealth-billing"} <= set(idents)


def test_init_without_accounts_writes_a_local_ollama_account(client_repo: Path) -> None:
    run("init", "--repo", str(client_repo), "--name", "Acme Health GmbH")
    policy = load_policy(client_repo / "clientguard.toml")
    assert [(a.name, a.provider, a.plan, a.base_url) for a in policy.accounts] == [
        ("local", "ollama", "local", "http://127.0.0.1:11434")
    ]


def test_init_writes_comments_explaining_the_keys(client_repo: Path) -> None:
    run("init", "--repo", str(client_repo), "--name", "Acme Health GmbH")
    text = (client_repo / "clientguard.toml").read_text(encoding="utf-8")
    assert "# code and data are confidential" in text
    assert "# no third party may process the source code at all" in text


def test_init_refuses_to_overwrite_without_force(client_repo: Path) -> None:
    assert run("init", "--repo", str(client_repo), "--name", "A GmbH").returncode == 0
    again = run("init", "--repo", str(client_repo), "--name", "B GmbH")
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert run("init", "--repo", str(client_repo), "--name", "B GmbH", "--force").returncode == 0
    assert load_policy(client_repo / "clientguard.toml").client.name == "B GmbH"


def test_init_with_a_bad_account_spec_exits_2_explaining_the_form(client_repo: Path) -> None:
    done = run("init", "--repo", str(client_repo), "--account", "work=openai")
    assert done.returncode == 2 and "NAME=PROVIDER:PLAN" in done.stderr


def test_init_with_an_unknown_plan_lists_known_plans(client_repo: Path) -> None:
    done = run("init", "--repo", str(client_repo), "--account", "work=openai:platinum")
    assert done.returncode == 2 and "team (or business)" in done.stderr


def test_init_with_a_missing_repo_exits_2(tmp_path: Path) -> None:
    done = run("init", "--repo", str(tmp_path / "nope"))
    assert done.returncode == 2 and "not a directory" in done.stderr


# ---------------------------------------------------------------------------------------- interactive

class Terminal:
    """The CLI on a pseudo-terminal: wait for a prompt, type an answer."""

    def __init__(self, args: list[str], cwd: Path):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True,
            env={**os.environ, "COLUMNS": "200", "TERM": "xterm", "NO_COLOR": "1"},
        )
        os.close(slave)
        self.seen = ""
        self.pos = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        self.seen += ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r", "")
        return True

    def expect(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.pos:]:
            if time.monotonic() > deadline or (not self._read(0.5) and self.proc.poll() is not None):
                raise AssertionError(f"never saw {text!r}; output was:\n{self.seen[-3000:]}")
        self.pos = self.seen.index(text, self.pos) + len(text)

    def answer(self, prompt: str, reply: str) -> None:
        self.expect(prompt)
        os.write(self.master, reply.encode() + b"\n")

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.1):
            pass
        os.close(self.master)
        return self.proc.wait(timeout=5)


def test_init_on_a_terminal_asks_and_writes_the_confirmed_answers(client_repo: Path) -> None:
    proposals = [p.value for p in discover(client_repo).identifiers]
    paths = [p.value for p in discover(client_repo).protected_paths]
    term = Terminal([sys.executable, "-m", "clientguard.cli", "init", "--repo", str(client_repo)], ROOT)
    term.answer("Client name", "Acme Health GmbH")
    for value in proposals:
        term.answer(value, "n" if value == "billing" else "y")
    term.answer("More identifiers", "Anna Schmidt")
    term.answer("Pseudonymize the client name", "y")
    for value in paths:
        term.answer(f"Never send {value}", "y")
    term.answer("More protected paths", "")
    term.answer("NDA", "y")
    term.answer("forbid any third party", "n")
    term.answer("audit log", "y")
    term.answer("GDPR controller", "y")
    term.answer("sub-processors", "openai")
    term.answer("HIPAA", "n")
    term.answer("provider", "openai")
    term.answer("plan", "plus")
    term.answer("short name", "personal")
    term.answer("switched training off", "n")
    term.answer("Add another account", "y")
    term.answer("provider", "ollama")
    term.answer("plan", "local")
    term.answer("short name", "local")
    term.answer("server URL", "")
    term.answer("Add another account", "n")
    term.answer("gateway forwards under", "personal")
    assert term.finish() == 0, term.seen[-3000:]

    policy = load_policy(client_repo / "clientguard.toml")
    assert policy.client.name == "Acme Health GmbH"
    assert policy.client.identifiers[0] == "Acme Health GmbH"
    assert "Anna Schmidt" in policy.client.identifiers
    assert "billing" not in policy.client.identifiers
    assert set(proposals) - {"billing"} <= set(policy.client.identifiers)
    assert policy.contract.audit_log_required and policy.contract.gdpr.controller
    assert [(a.name, a.provider, a.plan) for a in policy.accounts] == [
        ("personal", "openai", "plus"), ("local", "ollama", "local"),
    ]
    assert policy.gateway.account == "personal"
    assert decide(policy, "personal", "local").action == "block"
