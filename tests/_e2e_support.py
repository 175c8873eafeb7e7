"""Shared pieces of the end-to-end tests: canaries, a throwaway client repository, and the real agents.

The agents are the real npm packages pinned in tests/agents/package.json (scripts/test.sh installs
them). Every run gets its own HOME (and CODEX_HOME), a minimal environment with no inherited keys,
stdin closed and a timeout, so a run never reads the user's ~/.codex or ~/.claude and never hangs.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
AGENT_BIN = ROOT / "tests" / "agents" / "node_modules" / ".bin"
AGENT_TIMEOUT = 180.0

CLIENT_NAME = "Acme Health"
CLIENT_DOMAIN = "acme-health.de"
TOOL_FILE = "notes.txt"
# Harmless text in the planted file: it must reach the upstream, proving the tool output was sent
# (redacted) rather than dropped.
FILE_MARKER = "ticket-4711 rollout checklist"
FAKE_OPENAI_KEY = "sk-test-FAKE0000clientguard"
FAKE_ANTHROPIC_KEY = "sk-ant-test-FAKE0000clientguard"


def agent_binary(name: str) -> Path:
    """Path of a real agent CLI; fails the test (never skips) when the npm install is missing."""
    path = AGENT_BIN / name
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"the real {name} CLI is not installed at {path}; run scripts/test.sh "
            "(or `npm install` in tests/agents) to install the pinned agents"
        )
    return path


@dataclass(frozen=True)
class Canaries:
    """Values that must never reach the provider; generated per test run so no fixture holds a token."""

    aws_key_id: str
    aws_secret_key: str
    email: str
    client_name: str = CLIENT_NAME

    @classmethod
    def generate(cls) -> Canaries:
        """Fresh random canaries shaped like an AWS key pair and a customer's e-mail address."""
        upper = string.ascii_uppercase + "234567"  # AWS key ids are base32
        key_id = "AKIA" + "".join(secrets.choice(upper) for _ in range(16))
        b64ish = string.ascii_letters + string.digits + "+/"
        secret = "".join(secrets.choice(b64ish) for _ in range(40))
        email = f"lena.hoffmann.{secrets.token_hex(3)}@posteo.de"
        return cls(aws_key_id=key_id, aws_secret_key=secret, email=email)

    def values(self) -> dict[str, str]:
        """Each canary by a readable name."""
        return {
            "aws_key_id": self.aws_key_id,
            "aws_secret_key": self.aws_secret_key,
            "email": self.email,
            "client_name": self.client_name,
        }

    def file_text(self) -> str:
        """The contents of the planted file the agent is asked to show."""
        return (
            f"# {FILE_MARKER} for {self.client_name}\n"
            f"AWS_ACCESS_KEY_ID={self.aws_key_id}\n"
            f"AWS_SECRET_ACCESS_KEY={self.aws_secret_key}\n"
            f"escalation contact: {self.email}\n"
        )


def make_client_repo(parent: Path, canaries: Canaries, dirname: str = "project") -> Path:
    """A git repository with one commit holding the planted file; returns its path."""
    repo = parent / dirname
    repo.mkdir(parents=True)
    (repo / TOOL_FILE).write_text(canaries.file_text(), encoding="utf-8")
    (repo / "README.md").write_text("Internal tooling.\n", encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Freelancer",
        "GIT_AUTHOR_EMAIL": "dev@freelancer.invalid",
        "GIT_COMMITTER_NAME": "Freelancer",
        "GIT_COMMITTER_EMAIL": "dev@freelancer.invalid",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "Add rollout notes"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, timeout=30)
    # Work in progress, as on any working copy: Codex then lists the workspace path in a header.
    with (repo / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("Work in progress.\n")
    return repo


def hermetic_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: PATH, a throwaway HOME, no inherited keys or proxies."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    env.update(extra)
    return env


@dataclass
class AgentRun:
    """What a finished agent run printed and how it exited."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything the user saw: stdout and stderr together."""
        return self.stdout + "\n" + self.stderr

    def agent_messages(self) -> list[str]:
        """Codex --json: the text of each completed agent message."""
        return [
            e["item"]["text"]
            for e in self.events
            if e.get("type") == "item.completed" and e.get("item", {}).get("type") == "agent_message"
        ]

    def command_outputs(self) -> list[str]:
        """Codex --json: the output of each command the agent ran."""
        return [
            e["item"].get("aggregated_output", "")
            for e in self.events
            if e.get("type") == "item.completed" and e.get("item", {}).get("type") == "command_execution"
        ]

    def describe(self) -> str:
        """A short dump for assertion messages."""
        return f"exit {self.returncode} after {self.seconds:.1f}s\n--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> AgentRun:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        pytest.fail(f"{argv[0]} did not finish within {timeout:.0f}s\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}")
    run = AgentRun(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                run.events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return run


def codex_provider_args(base_url: str) -> list[str]:
    """`-c` overrides selecting a custom Responses provider at `base_url` (no WebSocket attempts)."""
    provider = (
        f'{{name="clientguard",base_url="{base_url}",env_key="OPENAI_API_KEY",'
        'wire_api="responses",supports_websockets=false}'
    )
    return ["-c", "model_provider=cg", "-c", f"model_providers.cg={provider}"]


def run_codex(
    repo: Path,
    home: Path,
    prompt: str,
    *,
    base_url: str | None = None,
    builtin_base_url: str | None = None,
    sandbox: str | None = None,
    timeout: float = AGENT_TIMEOUT,
) -> AgentRun:
    """`codex exec --json` in `repo`, against a custom provider (`base_url`) or the built-in one."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    argv = [str(agent_binary("codex")), "exec", "--skip-git-repo-check", "--ephemeral", "--json"]
    if base_url is not None:
        argv += codex_provider_args(base_url)
        env = hermetic_env(home, CODEX_HOME=str(codex_home), OPENAI_API_KEY=FAKE_OPENAI_KEY)
    elif builtin_base_url is not None:
        # The built-in provider reads its key from CODEX_API_KEY and its URL from openai_base_url.
        argv += ["-c", f'openai_base_url="{builtin_base_url}"']
        env = hermetic_env(home, CODEX_HOME=str(codex_home), CODEX_API_KEY=FAKE_OPENAI_KEY)
    else:
        raise ValueError("run_codex needs base_url or builtin_base_url")
    if sandbox is not None:
        argv += ["--sandbox", sandbox]
    argv += ["-c", "analytics.enabled=false", "-c", "feedback.enabled=false", "-m", "gpt-5.1", prompt]
    return _run(argv, repo, env, timeout)


def run_claude(
    repo: Path,
    home: Path,
    prompt: str,
    *,
    base_url: str,
    allowed_tools: tuple[str, ...] = ("Bash(cat:*)",),
    timeout: float = AGENT_TIMEOUT,
) -> AgentRun:
    """`claude -p` in `repo` with ANTHROPIC_BASE_URL at `base_url`, allowed `cat` (and `allowed_tools`)."""
    env = hermetic_env(
        home,
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
        # A 4xx/5xx from the gateway must reach the user, not be retried for minutes.
        CLAUDE_CODE_MAX_RETRIES="0",
    )
    # The prompt goes first: --allowedTools is variadic and would swallow it.
    argv = [str(agent_binary("claude")), "-p", prompt, "--allowedTools", *allowed_tools]
    return _run(argv, repo, env, timeout)


def upstream_leaks(requests: list[Any], canaries: Canaries) -> list[str]:
    """Every (request, canary) pair where a canary reached the upstream, body or headers, as readable lines."""
    leaks = []
    for index, request in enumerate(requests):
        for name, value in canaries.values().items():
            if request.contains(value):
                leaks.append(f"request {index} {request.method} {request.path}: {name}")
    return leaks


POLICY_TEMPLATE = """\
[client]
name = "{client}"
identifiers = ["{client}", "{domain}", "acme-health"]

[contract]
nda = true
audit_log_required = true

[[accounts]]
name = "openai-api"
provider = "openai"
plan = "api"

[[accounts]]
name = "anthropic-api"
provider = "anthropic"
plan = "api"

# Consumer plans with training on: an NDA forbids sending the client's code there.
[[accounts]]
name = "chatgpt-plus"
provider = "openai"
plan = "plus"

[[accounts]]
name = "claude-pro"
provider = "anthropic"
plan = "pro"
"""


def write_policy(directory: Path) -> Path:
    """A clientguard.toml for the test client (outside the repository, as a freelancer keeps it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "clientguard.toml"
    path.write_text(POLICY_TEMPLATE.format(client=CLIENT_NAME, domain=CLIENT_DOMAIN), encoding="utf-8")
    return path


@contextmanager
def running_gateway(policy: Path, upstream_url: str, account: str, state: Path) -> Iterator[Any]:
    """The real gateway in a background thread, forwarding to `upstream_url`; yields its handle."""
    from clientguard.gateway.server import GatewayConfig, run_in_thread

    state.mkdir(parents=True, exist_ok=True)
    config = GatewayConfig(
        policy=policy,
        account=account,
        port=0,
        upstreams={"openai": f"{upstream_url}/v1", "anthropic": upstream_url},
        ledger_path=state / "ledger.sqlite",
        vault_dir=state / "vaults",
    )
    with pytest.MonkeyPatch.context() as env:
        # Keys (fingerprints, vaults) go under the test's state directory, never the user's data dir.
        env.setenv("CLIENTGUARD_HOME", str(state / "home"))
        handle = run_in_thread(config)
        try:
            yield handle
        finally:
            handle.stop()
