"""`clientguard run -- AGENT [ARGS...]`: decide, start (or reuse) the gateway, launch the agent wired to it,
and report what the session redacted or blocked."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from clientguard.errors import ClientguardError, InputError
from clientguard.posture.launch import LaunchPlan, agent_kind, plan_launch
from clientguard.posture.ollama import installed_models, is_cloud_model

if TYPE_CHECKING:
    from clientguard.gateway.server import GatewayHandle
    from clientguard.policy import Account, Policy, Verdict

DEFAULT_GATEWAY = "http://127.0.0.1:8787"
EXIT_REFUSED = 3


class RunRefused(ClientguardError):
    """The client's policy does not allow this agent to run (verdict block)."""

    exit_code = EXIT_REFUSED


@dataclass
class Gateway:
    """A gateway `run` talks to: one it started (handle) or one already running (url only)."""

    url: str
    client: str
    account: str | None
    handle: "GatewayHandle | None" = None

    def stats(self) -> dict[str, Any]:
        import httpx  # imported where used: every clientguard command would pay ~60 ms for it at start

        if self.handle is not None:
            self.handle.drain()
        response = httpx.get(f"{self.url}/_clientguard/stats", timeout=5, trust_env=False)  # loopback: never a proxy
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()


def pick_account(policy: "Policy", name: str | None) -> "Account":
    """--account, else the policy's [gateway] account, else its only account (as the gateway chooses)."""
    wanted = name or policy.gateway.account
    if wanted:
        return policy.account(wanted)
    if len(policy.accounts) == 1:
        return policy.accounts[0]
    raise InputError(f"{policy.path}: several accounts and none chosen",
                     hint="pass --account NAME or set account = \"NAME\" in the policy's [gateway] table; accounts: "
                          + ", ".join(a.name for a in policy.accounts))


def refusal_text(policy: "Policy", account: "Account", verdict: "Verdict") -> str:
    lines = [f"clientguard will not start the agent for {policy.client.name} on account {account.name!r} "
             f"({account.provider} {account.plan}): the policy blocks it."]
    lines += [f"  - {r.clause}: {r.fact} [{r.source}]" for r in verdict.reasons]
    if verdict.fixes:
        lines.append("fix:")
        lines += [f"  - {fix}" for fix in verdict.fixes]
    return "\n".join(lines)


def local_model(home: Path, wanted: str | None) -> str:
    """The model for a route_local session: --model, else an installed local Ollama model (coders first)."""
    if wanted:
        return wanted
    models = [m for m in installed_models(home / ".ollama" / "models") if not is_cloud_model(m)]
    models.sort(key=lambda m: (0 if "coder" in m or "code" in m else 1, m))
    if not models:
        raise InputError("the policy routes this client to a local model, but no local Ollama model is installed",
                         hint="ollama pull qwen2.5-coder:14b   (or pass --model NAME)")
    return models[0]


def find_running_gateway(url: str, client: str) -> Gateway | None:
    """A gateway already serving this client at `url`, or None (nothing there, or another client's)."""
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/_clientguard/health", timeout=0.5, trust_env=False)  # loopback: never a proxy
        health = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code != 200 or not isinstance(health, dict) or health.get("client") != client:
        return None
    return Gateway(url=url.rstrip("/"), client=client, account=health.get("account"))


def start_gateway(policy: "Policy", account: str, upstreams: dict[str, str], ledger: Path | None,
                  otel_endpoint: str | None) -> Gateway:
    from clientguard.gateway.server import GatewayConfig, run_in_thread

    handle = run_in_thread(GatewayConfig(policy=policy, account=account, host="127.0.0.1", port=0,
                                         upstreams=upstreams, ledger_path=ledger, otel_endpoint=otel_endpoint))
    return Gateway(url=handle.url, client=policy.client.name, account=account, handle=handle)


def session_summary(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What this session added to the gateway's counters (a reused gateway has earlier traffic too)."""
    def delta(key: str) -> int:
        return int(after.get(key, 0)) - int(before.get(key, 0))

    def counter_delta(kind: str) -> dict[str, int]:
        now = Counter(after.get("redactions", {}).get(kind, {}))
        now.subtract(Counter(before.get("redactions", {}).get(kind, {})))
        return {k: v for k, v in sorted(now.items()) if v > 0}

    earlier = set(before.get("files", []))
    return {
        "requests": delta("requests"),
        "blocked": delta("blocked"),
        "redactions": {"by_kind": counter_delta("by_kind"), "by_rule": counter_delta("by_rule")},
        "files": [f for f in after.get("files", []) if f not in earlier],
    }


def print_summary(summary: dict[str, Any], err: Console) -> None:
    redactions = summary["redactions"]
    total = sum(redactions["by_kind"].values())
    err.print(f"[bold]clientguard session:[/] {summary['requests']} request(s), {summary['blocked']} blocked, "
              f"{total} redaction(s)")
    if redactions["by_kind"]:
        err.print("  by kind: " + ", ".join(f"{k} {v}" for k, v in redactions["by_kind"].items()), highlight=False)
    if redactions["by_rule"]:
        err.print("  by rule: " + ", ".join(f"{k} {v}" for k, v in redactions["by_rule"].items()), highlight=False)
    if summary["files"]:
        err.print("  files involved: " + escape(", ".join(summary["files"])), highlight=False)


def resolve_executable(command: str, env: dict[str, str] | os._Environ[str]) -> str:
    """The agent's executable, checked before any gateway is started."""
    executable = shutil.which(command, path=env.get("PATH", os.defpath))
    if executable is None:
        raise InputError(f"{command}: not found on PATH", hint="install the agent, or give its full path")
    return executable


def launch(plan: LaunchPlan) -> int:
    """Run the agent in the foreground; Ctrl-C goes to the agent (same terminal), not to clientguard."""
    executable = resolve_executable(plan.argv[0], plan.env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = subprocess.Popen([executable, *plan.argv[1:]], env=plan.env)
        forward = lambda signum, _frame: process.send_signal(signum)  # noqa: E731
        previous_term = signal.signal(signal.SIGTERM, forward)
        try:
            code = process.wait()
            # A signal death is reported the way a shell does it: 128 + the signal number.
            return 128 - code if code < 0 else code
        finally:
            signal.signal(signal.SIGTERM, previous_term)
    finally:
        signal.signal(signal.SIGINT, previous)


def parse_upstreams(values: list[str]) -> dict[str, str]:
    upstreams: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise InputError(f"--upstream {value!r}: expected NAME=URL, e.g. openai=https://api.openai.com/v1")
        upstreams[name.strip()] = url.strip()
    return upstreams


def run_command(
    agent: list[str] = typer.Argument(..., metavar="-- AGENT [ARGS]...", help="The agent command, after --."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="The client's clientguard.toml (default: found from here)."),
    account: Optional[str] = typer.Option(None, "--account", help="The account to forward under (default: the policy's gateway account)."),
    gateway: Optional[str] = typer.Option(None, "--gateway", help="Use the gateway already running at this URL."),
    new_gateway: bool = typer.Option(False, "--new-gateway", help=f"Start a gateway of its own even if one serves this client at {DEFAULT_GATEWAY}."),
    upstream: list[str] = typer.Option([], "--upstream", help="NAME=URL for a gateway started by run (repeatable)."),
    ledger: Optional[Path] = typer.Option(None, "--ledger", help="Ledger file for a gateway started by run."),
    otel_endpoint: Optional[str] = typer.Option(None, "--otel-endpoint", help="OTLP endpoint for a gateway started by run."),
    model: Optional[str] = typer.Option(None, "--model", help="Model to use (for route_local: a local model)."),
    keep_env: list[str] = typer.Option([], "--keep-env", help="A secret variable to leave in the agent's environment (repeatable)."),
    summary_file: Optional[Path] = typer.Option(None, "--summary", help="Also write the session summary as JSON here."),
) -> None:
    """Launch AGENT through this client's gateway, with unneeded secrets and the agent's telemetry removed.

    Exit code: the agent's; 2 on a clientguard error; 3 when the client's policy blocks the account.
    """
    from clientguard.policy import decide
    from clientguard.posture.commands import resolve_policy

    err = Console(stderr=True, soft_wrap=True)
    loaded = resolve_policy(policy, Path.cwd())
    if loaded is None:
        raise InputError("no clientguard.toml found here or above", hint="pass --policy FILE, or run `clientguard init`")
    if not agent:
        raise InputError("no agent given", hint="clientguard run -- codex   (or claude, aider, ...)")
    agent_kind(agent[0])  # refuses agents that cannot be routed before anything starts
    resolve_executable(agent[0], os.environ)
    running: Gateway | None = None
    if gateway:
        running = find_running_gateway(gateway, loaded.client.name)
        if running is None:
            raise InputError(f"--gateway {gateway}: no clientguard gateway for {loaded.client.name} answers there",
                             hint=f"start one with `clientguard serve --policy {loaded.path}`, or leave out --gateway")
    elif not (new_gateway or upstream or ledger is not None or otel_endpoint):
        running = find_running_gateway(DEFAULT_GATEWAY, loaded.client.name)
    if running is not None and account and running.account and account != running.account:
        raise InputError(f"the gateway at {running.url} forwards under account {running.account!r}, not {account!r}",
                         hint="leave out --account, or let run start its own gateway (--new-gateway)")
    # A running gateway forwards under its own account, so that is the one to decide for.
    chosen = pick_account(loaded, account or (running.account if running is not None else None))
    verdict = decide(loaded, chosen, "local")
    if verdict.action == "block":
        raise RunRefused(refusal_text(loaded, chosen, verdict))
    use_model = model
    if verdict.action == "route_local":
        use_model = local_model(Path.home(), model)
        local = verdict.local_account.name if verdict.local_account is not None else "local"
        err.print(f"clientguard: {loaded.client.name}'s contract allows only a local model: the gateway forwards to "
                  f"account {local!r}, model {use_model!r}", highlight=False)

    upstreams = parse_upstreams(upstream)
    started = running is None
    active = running or start_gateway(loaded, chosen.name, upstreams, ledger, otel_endpoint)
    try:
        plan = plan_launch(agent, active.url, os.environ, keep=keep_env, model=use_model)
        origin = "started" if started else "reusing"
        err.print(f"clientguard: {origin} gateway {active.url} for {loaded.client.name} "
                  f"(account {active.account or chosen.name}, verdict {verdict.action})", highlight=False)
        if plan.removed:
            err.print("clientguard: removed from the agent's environment: " + ", ".join(plan.removed), highlight=False)
        if plan.telemetry_off:
            err.print("clientguard: agent traffic of its own off (telemetry, plugin catalogs): "
                      + ", ".join(plan.telemetry_off), highlight=False)
        for note in [*plan.notes, *verdict.cautions]:
            err.print(f"clientguard: note: {escape(note)}", highlight=False)
        before = read_stats(active, err) or {}
        code = launch(plan)
        after = read_stats(active, err)
    finally:
        active.stop()
    summary = session_summary(before, after) if after is not None else None
    if summary is not None:
        print_summary(summary, err)
    if summary_file is not None:
        document = {"client": loaded.client.name, "gateway": active.url, "exit_code": code, **(summary or {})}
        try:
            summary_file.write_text(json.dumps(document, indent=2))
        except OSError as exc:
            raise InputError(f"--summary {summary_file}: cannot write ({exc.strerror})") from None
    raise typer.Exit(code)


def read_stats(active: Gateway, err: Console) -> dict[str, Any] | None:
    """The gateway's counters, or None (with a message) when it cannot be asked."""
    import httpx

    try:
        return active.stats()
    except (httpx.HTTPError, ValueError) as exc:
        err.print(f"clientguard: could not read the gateway's statistics at {active.url} ({type(exc).__name__}); "
                  "the session summary is missing", highlight=False)
        return None
