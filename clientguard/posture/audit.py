"""The machine audit: run every agent reader, then judge each agent against the client's policy."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clientguard.posture.aider import audit_aider
from clientguard.posture.claude_code import audit_claude_code
from clientguard.posture.codex import audit_codex
from clientguard.posture.continue_dev import audit_continue
from clientguard.posture.cursor import audit_cursor
from clientguard.posture.environment import audit_environment
from clientguard.posture.model import AgentPosture, AuditContext, verdict_for
from clientguard.posture.ollama import audit_ollama
from clientguard.posture.verdict import apply_policy, apply_without_policy

if TYPE_CHECKING:
    from clientguard.policy import Policy

Reader = Callable[[AuditContext], AgentPosture]
READERS: tuple[tuple[str, Reader], ...] = (
    ("codex", audit_codex),
    ("claude-code", audit_claude_code),
    ("aider", audit_aider),
    ("continue", audit_continue),
    ("cursor", audit_cursor),
    ("ollama", audit_ollama),
    ("environment", audit_environment),
)


@dataclass
class AuditReport:
    """The result of `clientguard audit`: one posture per known agent."""

    agents: list[AgentPosture]
    client: str | None = None
    policy_path: Path | None = None
    home: Path | None = None
    repo: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of `clientguard audit --format json`."""
        return {"agents": [agent.to_json() for agent in self.agents]}

    @property
    def exit_code(self) -> int:
        """0 when every agent is ok, 1 otherwise."""
        return 0 if all(agent.verdict == "ok" for agent in self.agents) else 1

    def agent(self, name: str) -> AgentPosture:
        return next(a for a in self.agents if a.agent == name)


def read_agent(name: str, reader: Reader, ctx: AuditContext) -> AgentPosture:
    """Run one reader; an unexpected failure becomes a finding so the rest of the audit still runs."""
    try:
        return reader(ctx)
    except Exception as exc:  # a reader bug must not hide the other agents' results
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        posture = AgentPosture(name, found=True)
        # The exception text could quote file content, so only its type and location are shown.
        posture.add("audit.reader_failed", "medium",
                    f"clientguard could not finish reading the {name} configuration "
                    f"({type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}); its posture is unknown.",
                    "report this to the clientguard maintainers with the config file layout (not its secrets)")
        return posture


def run_audit(ctx: AuditContext, policy: "Policy | None" = None) -> AuditReport:
    """Audit every known agent under `ctx` and set each one's verdict (with the policy when given)."""
    agents: list[AgentPosture] = []
    for name, reader in READERS:
        posture = read_agent(name, reader, ctx)
        if policy is not None:
            try:
                apply_policy(posture, policy)
            except Exception as exc:  # the decision failing is reported, never silently "ok"
                posture.add("policy.failed", "high",
                            f"the client policy could not be applied ({type(exc).__name__}): the verdict is unknown.",
                            "run `clientguard check` to see the policy error")
                posture.verdict = verdict_for(posture.findings)
        else:
            apply_without_policy(posture)
        agents.append(posture)
    return AuditReport(
        agents=agents,
        client=policy.client.name if policy is not None else None,
        policy_path=policy.path if policy is not None else None,
        home=ctx.home,
        repo=ctx.repo,
    )


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` with a .git entry."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None
