"""How each agent is wired to a gateway: its command line, its environment, its telemetry switches.

Pure functions: given the agent's command and the environment, they return what to run. `run.py`
starts the gateway and the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from clientguard.errors import ClientguardError
from clientguard.posture.secret_env import secret_env_catalog

AgentKind = Literal["codex", "claude", "aider", "openai-compatible"]

# Secret families each agent needs to talk to the gateway (the gateway forwards its credentials upstream).
NEEDED_FAMILIES: dict[str, frozenset[str]] = {
    "codex": frozenset({"openai"}),
    "claude": frozenset({"anthropic"}),
    "aider": frozenset({"openai", "anthropic"}),
    "openai-compatible": frozenset({"openai"}),
}
# Variables that would send the agent around the gateway; they are removed and replaced.
ROUTE_OVERRIDES: dict[str, tuple[str, ...]] = {
    "claude": ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY",
               "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL", "ANTHROPIC_FOUNDRY_BASE_URL",
               "ANTHROPIC_UNIX_SOCKET"),
    "codex": ("CODEX_OSS_BASE_URL",),
    "aider": (),
    "openai-compatible": (),
}
CLAUDE_QUIET_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
    "DISABLE_AUTOUPDATER": "1",
}
#: Codex 0.169 and 0.171 with a custom provider and an API key still opened connections of its own at every start, to
#: chatgpt.com, api.github.com and (through git) github.com: its plugin system syncing marketplaces and
#: catalogs. features.plugins=false stops all three (measured through a recording proxy); a later
#: `-c features.plugins=true` among the agent's own arguments turns plugins back on.
CODEX_QUIET_OVERRIDES = ("analytics.enabled=false", "feedback.enabled=false", "features.plugins=false")
UNROUTABLE = {"cursor": "Cursor sends every request through Cursor's own servers, even with your own key",
              "copilot": "GitHub Copilot has no base-URL setting for its hosted models"}


@dataclass
class LaunchPlan:
    """What to execute, with which environment, and what was changed (names only) to get there."""

    argv: list[str]
    env: dict[str, str]
    removed: list[str] = field(default_factory=list)
    telemetry_off: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def agent_kind(command: str) -> AgentKind:
    """Which wiring an agent command needs, from its executable name."""
    name = os.path.basename(command).lower()
    for suffix in (".exe", ".cmd", ".js"):
        name = name.removesuffix(suffix)
    if name in UNROUTABLE or name.startswith("cursor"):
        key = "cursor" if name.startswith("cursor") else name
        raise ClientguardError(
            f"{command}: {UNROUTABLE[key]}, so clientguard cannot put a gateway in its path",
            hint="use an agent clientguard can route (codex, claude, aider, or any OpenAI-compatible tool); "
                 "`clientguard audit` shows what to check in its settings")
    if name == "codex":
        return "codex"
    if name in ("claude", "claude-code"):
        return "claude"
    if name == "aider":
        return "aider"
    return "openai-compatible"


def strip_secrets(env: Mapping[str, str], kind: AgentKind, keep: Sequence[str] = ()) -> tuple[dict[str, str], list[str]]:
    """Remove secret-bearing variables the agent does not need; returns (environment, removed names)."""
    catalog = secret_env_catalog()
    needed = NEEDED_FAMILIES[kind]
    kept: dict[str, str] = {}
    removed: list[str] = []
    for name, value in env.items():
        family = catalog.family_of(name)
        if family is not None and family not in needed and name not in keep and value:
            removed.append(name)
            continue
        if name in ROUTE_OVERRIDES[kind]:
            removed.append(name)
            continue
        kept[name] = value
    return kept, sorted(removed)


def codex_provider_override(base_url: str, env_key: str) -> str:
    """The `-c` value defining clientguard as a Codex model provider (Responses API, no WebSockets)."""
    return ("model_providers.clientguard={name=\"clientguard\",base_url=\"%s\",env_key=\"%s\","
            "wire_api=\"responses\",supports_websockets=false}" % (base_url, env_key))


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _reach_gateway_directly(child_env: dict[str, str], gateway_url: str, plan: LaunchPlan) -> None:
    """Put the gateway's host (and loopback) into NO_PROXY and no_proxy: agents honour HTTP_PROXY for an
    http:// base URL too (Codex does, measured), and would hand their requests, not yet redacted, to the
    proxy. Kept: whatever the variables held before. Set even without a proxy variable, since agents also
    take proxies from their own settings files."""
    host = urlsplit(gateway_url).hostname or "127.0.0.1"
    wanted = [host, "127.0.0.1", "localhost", "::1"]
    for name in ("NO_PROXY", "no_proxy"):
        current = [e.strip() for e in child_env.get(name, "").split(",") if e.strip()]
        if "*" in current:
            continue
        child_env[name] = ",".join(current + [h for h in dict.fromkeys(wanted) if h not in current])
    proxies = [name for name in PROXY_VARIABLES if child_env.get(name)]
    if proxies:
        plan.notes.append(f"{proxies[0]} is set: the gateway's address is in NO_PROXY, so the agent reaches it "
                          "directly (the gateway itself uses the proxy for the provider)")


def plan_launch(argv: Sequence[str], gateway_url: str, env: Mapping[str, str], *,
                keep: Sequence[str] = (), model: str | None = None) -> LaunchPlan:
    """Wire the agent command `argv` to the gateway at `gateway_url` (no path; e.g. http://127.0.0.1:8787)."""
    if not argv:
        raise ClientguardError("no agent given", hint="clientguard run -- codex   (or claude, aider, ...)")
    kind = agent_kind(argv[0])
    child_env, removed = strip_secrets(env, kind, keep)
    base = gateway_url.rstrip("/")
    plan = LaunchPlan(argv=list(argv), env=child_env, removed=removed)
    # Agents that honour DO_NOT_TRACK switch off their analytics with it; it costs nothing elsewhere.
    child_env["DO_NOT_TRACK"] = "1"
    _reach_gateway_directly(child_env, base, plan)
    if kind == "codex":
        env_key = "OPENAI_API_KEY" if child_env.get("OPENAI_API_KEY") or not child_env.get("CODEX_API_KEY") else "CODEX_API_KEY"
        if not child_env.get(env_key):
            plan.notes.append(f"{env_key} is not set: Codex needs an API key for the gateway's account in it")
        overrides = ["model_provider=clientguard", codex_provider_override(f"{base}/v1", env_key), *CODEX_QUIET_OVERRIDES]
        extra: list[str] = []
        for override in overrides:
            extra += ["-c", override]
        if model:
            extra += ["-m", model]
        plan.argv = [argv[0], *extra, *argv[1:]]
        plan.telemetry_off = [f"-c {o}" for o in CODEX_QUIET_OVERRIDES]
    elif kind == "claude":
        child_env["ANTHROPIC_BASE_URL"] = base
        child_env.update(CLAUDE_QUIET_ENV)
        if model:
            child_env["ANTHROPIC_MODEL"] = model
        if not (child_env.get("ANTHROPIC_API_KEY") or child_env.get("ANTHROPIC_AUTH_TOKEN")):
            plan.notes.append("no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN: a claude.ai sign-in is used, "
                              "and its OAuth calls go to Anthropic directly")
        plan.telemetry_off = sorted(CLAUDE_QUIET_ENV)
    elif kind == "aider":
        child_env["OPENAI_API_BASE"] = f"{base}/v1"
        child_env["ANTHROPIC_API_BASE"] = base
        child_env["AIDER_ANALYTICS"] = "false"
        extra = ["--no-analytics"]
        if model:
            extra += ["--model", model if "/" in model else f"openai/{model}"]
        plan.argv = [argv[0], *extra, *argv[1:]]
        plan.telemetry_off = ["--no-analytics"]
    else:
        child_env["OPENAI_BASE_URL"] = f"{base}/v1"
        child_env["OPENAI_API_BASE"] = f"{base}/v1"
        plan.telemetry_off = []
        if model:
            plan.notes.append(f"pass the model {model!r} to {argv[0]} yourself; clientguard does not know its flag")
    plan.telemetry_off.append("DO_NOT_TRACK=1")
    return plan
