"""What the audit finds about one agent: findings, the agent's posture and its verdict."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
VerdictName = Literal["ok", "caution", "do_not_use"]

SEVERITY_ORDER: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# Agents in the order the audit reports them.
AGENT_NAMES = ("codex", "claude-code", "aider", "continue", "cursor", "ollama", "environment")


@dataclass(frozen=True)
class PostureFinding:
    """One observation about an agent's setup, with the exact fix."""

    id: str
    severity: Severity
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "severity": self.severity, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class ModelRoute:
    """Where one configured model sends its requests (an agent can have several: chat, autocomplete...)."""

    name: str
    provider: str | None
    plan: str | None
    base_url: str | None
    destination: Literal["clientguard", "local_model", "provider", "unknown"]


@dataclass
class AgentPosture:
    """Everything the audit read about one agent, before and after the verdict."""

    agent: str
    found: bool = False
    config_paths: list[str] = field(default_factory=list)
    provider: str | None = None
    plan: str | None = None
    # True when the agent's model traffic goes to a loopback gateway (clientguard), None when it
    # cannot be routed at all (Cursor) or the question does not apply (Ollama, environment).
    routed_through_clientguard: bool | None = None
    findings: list[PostureFinding] = field(default_factory=list)
    verdict: VerdictName = "ok"
    # Where the plan came from, for humans ("auth.json id_token", "ANTHROPIC_API_KEY"...); not in JSON.
    plan_source: str | None = None
    # The models this agent talks to; most agents have one, Continue has one per model entry.
    routes: list[ModelRoute] = field(default_factory=list)
    # True when the agent talks only to a local model (nothing leaves the machine).
    local_only: bool = False
    # Account settings read locally that the policy decision needs (Cursor's privacy mode).
    account_facts: dict[str, Any] = field(default_factory=dict)
    # Extra facts for the table (sizes, counts); not part of the JSON contract.
    notes: list[str] = field(default_factory=list)

    def add(self, id: str, severity: Severity, message: str, fix: str = "") -> None:
        """Record a finding (ids are unique per agent; a repeated id is ignored)."""
        if any(f.id == id for f in self.findings):
            return
        self.findings.append(PostureFinding(id, severity, message, fix))

    def note_route(self, model: str, base_url: str | None, destination: str) -> bool:
        """Record where a model's traffic goes; True when it goes straight to a remote provider."""
        self.routes.append(ModelRoute(model, self.provider, self.plan, base_url, destination))
        self.routed_through_clientguard = destination == "clientguard"
        if destination == "local_model":
            self.local_only = True
            self.provider, self.plan = "ollama", "local"
        return destination not in ("clientguard", "local_model")

    def add_config_path(self, path: Path) -> None:
        text = str(path)
        if text not in self.config_paths:
            self.config_paths.append(text)

    def worst_severity(self) -> str:
        return max((f.severity for f in self.findings), key=SEVERITY_ORDER.__getitem__, default="info")

    def to_json(self) -> dict[str, Any]:
        """The agent entry of `clientguard audit --format json`, exactly as the issue specifies."""
        return {
            "agent": self.agent,
            "found": self.found,
            "config_paths": list(self.config_paths),
            "provider": self.provider,
            "plan": self.plan,
            "routed_through_clientguard": self.routed_through_clientguard,
            "verdict": self.verdict,
            "findings": [f.to_json() for f in self.findings],
        }


def verdict_for(findings: list[PostureFinding]) -> VerdictName:
    """critical -> do_not_use; low, medium or high -> caution; only info (or nothing) -> ok."""
    worst = max((SEVERITY_ORDER[f.severity] for f in findings), default=0)
    if worst >= SEVERITY_ORDER["critical"]:
        return "do_not_use"
    if worst >= SEVERITY_ORDER["low"]:
        return "caution"
    return "ok"


@dataclass(frozen=True)
class AuditContext:
    """Where the audit looks: a home directory, the client repository, the environment agents inherit."""

    home: Path
    repo: Path | None
    cwd: Path
    env: Mapping[str, str]
    # CODEX_HOME / CLAUDE_CONFIG_DIR from the environment relocate the agents' directories; when the
    # audit is pointed at another home (--home) those variables describe the real home, so they are ignored.
    honour_env_dirs: bool = True
    # System-wide Claude Code managed settings (files or drop-in directories).
    managed_settings: tuple[Path, ...] = ()
    # Look agents up on PATH to decide whether they are installed.
    search_path: bool = True
    # The client's protected path globs (from clientguard.toml): files there are withheld by the gateway.
    protected_paths: tuple[str, ...] = ()

    @classmethod
    def for_machine(
        cls,
        *,
        home: Path | None = None,
        repo: Path | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        protected_paths: tuple[str, ...] = (),
    ) -> "AuditContext":
        """The context for auditing this machine, or another home when `home` is given."""
        environ = dict(os.environ if env is None else env)
        return cls(
            home=(home or Path.home()).expanduser(),
            repo=repo,
            cwd=cwd or Path.cwd(),
            env=environ,
            honour_env_dirs=home is None,
            managed_settings=default_managed_settings(),
            # Another home is audited by its files alone: this machine's PATH says nothing about it.
            search_path=home is None,
            protected_paths=protected_paths,
        )


def default_managed_settings() -> tuple[Path, ...]:
    """Claude Code's managed (policy) settings locations on this platform."""
    if sys.platform == "darwin":
        base = Path("/Library/Application Support/ClaudeCode")
    elif sys.platform.startswith("win"):
        base = Path(r"C:\Program Files\ClaudeCode")
    else:
        base = Path("/etc/claude-code")
    return (base / "managed-settings.json", base / "managed-settings.d")
