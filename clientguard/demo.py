"""`clientguard demo`: the whole job on the bundled demo client (examples/acme-client), step by step.

Each step runs the real command (in a subprocess, exactly as a user would type it) or, for the gateway,
the real gateway on loopback in front of a recording upstream that plays the model provider. Nothing
leaves this machine. Everything the demo writes goes into one output directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from clientguard.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "acme-client"
HOMES = REPO_ROOT / "examples" / "homes"

# What a developer pastes into an aider / Continue chat: a file with a key in it, a customer row, a name.
DEMO_PROMPT = (
    "Why does the billing config fail on the staging box? Here is src/acmehealth_billing/config.py:\n\n{config}\n"
    "And the customer row that triggers it: {row}\nThanks, Anna Schmidt"
)


def _run(console: Console, title: str, args: list[str], env: dict[str, str], expect: set[int]) -> int:
    console.print(Rule(f"[bold]{title}"))
    console.print(f"[dim]$ clientguard {' '.join(args)}[/]")
    proc = subprocess.run([sys.executable, "-m", "clientguard.cli", *args], env=env, text=True,
                          capture_output=True, timeout=600)
    # The command already laid out its own output for this width: pass it through as it is.
    console.file.write(proc.stdout.rstrip() + ("\n" if proc.stdout.strip() else ""))
    console.file.write(proc.stderr.rstrip() + ("\n" if proc.stderr.strip() else ""))
    console.file.flush()
    if proc.returncode not in expect:
        raise InputError(f"demo step '{title}' exited {proc.returncode}, expected {sorted(expect)}")
    console.print(f"[dim]exit code {proc.returncode}[/]\n")
    return proc.returncode


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Anna Schmidt", "GIT_AUTHOR_EMAIL": "anna.schmidt@acme-health.de",
           "GIT_COMMITTER_NAME": "Anna Schmidt", "GIT_COMMITTER_EMAIL": "anna.schmidt@acme-health.de"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=60)


def prepare_workspace(out: Path) -> Path:
    """A fresh git copy of the demo client: its .gitignore'd files (.env, secrets/) stay untracked."""
    work = out / "acme-client"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(EXAMPLE, work)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "Acme Health billing service")
    return work


def _sse_text(raw: str) -> str:
    """The assistant text a Chat Completions client assembles from the stream's deltas."""
    parts = []
    for line in raw.splitlines():
        if line.startswith("data: ") and line[6:].strip() != "[DONE]":
            for choice in json.loads(line[6:]).get("choices", []):
                parts.append(choice.get("delta", {}).get("content") or "")
    return "".join(parts)


def gateway_step(console: Console, work: Path, out: Path) -> None:
    """One request through the real gateway to a recording upstream: found, sent, returned; then a block."""
    import httpx  # imported where used, not at every clientguard start

    from clientguard.gateway.config import GatewayConfig
    from clientguard.gateway.recording import RecordingUpstream
    from clientguard.gateway.server import run_in_thread

    console.print(Rule("[bold]4. gateway: one agent request, pseudonymized on the way out, restored on the way back"))
    policy = work / "clientguard.toml"
    config_py = (work / "src" / "acmehealth_billing" / "config.py").read_text(encoding="utf-8")
    row = (work / "tests" / "fixtures" / "customers.csv").read_text(encoding="utf-8").splitlines()[1]
    prompt = DEMO_PROMPT.format(config=config_py, row=row)
    body = {"model": "gpt-4.1", "stream": True, "messages": [
        {"role": "system", "content": "You are a coding assistant."},
        {"role": "user", "content": prompt}]}
    ledger = out / "ledger.sqlite"
    with RecordingUpstream(tool_calls=False) as upstream:
        cfg = GatewayConfig(policy=policy, account="work", port=0, upstreams={"openai": upstream.url},
                            ledger_path=ledger, vault_dir=out / "vault")
        with run_in_thread(cfg) as gw:
            console.print(f"[dim]gateway {gw.url} (account 'work', ChatGPT Business) -> recording upstream {upstream.url}[/]")
            with httpx.Client(timeout=60, trust_env=False) as client:  # the gateway is on loopback: never a proxy
                resp = client.post(f"{gw.url}/v1/chat/completions", json=body,
                                   headers={"authorization": "Bearer sk-demo-not-a-real-key"})
                resp.raise_for_status()
                reply = _sse_text(resp.text)
                stats = client.get(f"{gw.url}/_clientguard/stats").json()
        sent = upstream.requests[-1].json["messages"][1]["content"]

    found = Table(title="found and replaced before forwarding", header_style="bold")
    found.add_column("rule")
    found.add_column("count", justify="right")
    for rule, n in sorted(stats["redactions"]["by_rule"].items()):
        found.add_row(rule, str(n))
    console.print(found)
    console.print(Panel(sent, title="what the provider received", border_style="yellow"))
    console.print(Panel(reply, title="what the agent got back (streamed, placeholders restored)", border_style="green"))
    leaked = [v for v in ("AKIAIOSFODNN7EXAMPLE", "max.mustermann@gmail.com", "Anna Schmidt") if v in sent]
    if leaked:
        raise InputError(f"demo: the upstream received {len(leaked)} value(s) it must not see")

    with RecordingUpstream(tool_calls=False) as upstream:
        cfg = GatewayConfig(policy=policy, account="personal", port=0, upstreams={"openai": upstream.url},
                            ledger_path=ledger, vault_dir=out / "vault")
        with run_in_thread(cfg) as gw, httpx.Client(timeout=60, trust_env=False) as client:
            resp = client.post(f"{gw.url}/v1/chat/completions", json={**body, "stream": False},
                               headers={"authorization": "Bearer sk-demo-not-a-real-key"})
        reached = len(upstream.requests)
    message = resp.json().get("error", {}).get("message", resp.text)
    console.print(Panel(message, title=f"account 'personal' (ChatGPT Plus): HTTP {resp.status_code}, "
                                       f"{reached} request(s) reached the provider", border_style="red"))
    console.print()


def seed_caches(home: Path) -> int:
    """Copy the user's prepared caches into the demo's own data directory (which keeps the demo's keys, vaults and
    ledger apart from the user's): the set-up scripts prepared them already, and compiling them again cost the
    demo's first step ~9 s. What is missing or unreadable is only compiled again. How many files were copied."""
    from clientguard.datadir import data_dir  # noqa: PLC0415
    from clientguard.detect import engine, keystores, rules  # noqa: PLC0415

    # What depends only on the rules and this Python: validated rules, their compiled patterns and hyperscan
    # databases, the key-store kinds' marker. A database with a client's names is never written to the cache.
    shared = (rules.RULES_CACHE_GLOB, rules.PROGRAMS_CACHE_GLOB, engine.HS_CACHE_GLOB, keystores.MARKER_GLOB)
    copied = 0
    try:
        source = data_dir() / "cache"
        if source.resolve() == (home / "cache").resolve():
            return 0
        (home / "cache").mkdir(parents=True, exist_ok=True)
        for pattern in shared:
            for f in source.glob(pattern):
                target = home / "cache" / f.name
                if not target.exists():
                    shutil.copy2(f, target)
                    copied += 1
    except OSError:
        pass
    return copied


def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Directory for everything the demo writes."),
) -> None:
    """Run clientguard on the bundled demo client: scan, check, audit, gateway, ledger, report."""
    console = Console()
    if not EXAMPLE.is_dir():
        raise InputError(f"{EXAMPLE}: the demo client is missing (run the demo from a clientguard checkout)")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "ledger.sqlite.key"):
        (out / stale).unlink(missing_ok=True)
    env = {**os.environ, "CLIENTGUARD_HOME": str(out / "home"), "COLUMNS": str(max(console.width, 120))}
    seed_caches(out / "home")
    work = prepare_workspace(out)
    policy = str(work / "clientguard.toml")
    console.print(Panel(
        "Acme Health GmbH hired you. Their repository is in "
        f"{work}.\nIts contract (clientguard.toml): NDA, GDPR controller with OpenAI as the only approved "
        "sub-processor, audit log required.\nYou have two OpenAI accounts: a personal ChatGPT Plus and a "
        "ChatGPT Business workspace.", title="clientguard demo", border_style="blue"))

    _run(console, "1. scan: what in this repository must not leave the machine", ["scan", "--no-progress", str(work)],
         env, {1})
    _run(console, "2. check: which of your accounts may process this client's code",
         ["check", "--policy", policy], env, {1})
    _run(console, "3a. audit: Codex signed in with ChatGPT Plus (a consumer plan)",
         ["audit", "--home", str(HOMES / "consumer-plus"), "--policy", policy, "--repo", str(work)], env, {1})
    _run(console, "3b. audit: Codex signed in with a ChatGPT Business workspace",
         ["audit", "--home", str(HOMES / "business"), "--policy", policy, "--repo", str(work)], env, {0, 1})
    gateway_step(console, work, out)
    _run(console, "5. ledger verify: the record of every egress is intact",
         ["ledger", "verify", "--ledger", str(out / "ledger.sqlite")], env, {0})
    report = out / "acme-report.html"
    _run(console, "6. report: what you hand the client",
         ["report", "--ledger", str(out / "ledger.sqlite"), "--policy", policy, "--format", "html", "-o", str(report)],
         env, {0})
    console.print(Panel(f"Report: {report}\nLedger: {out / 'ledger.sqlite'}\nWorkspace: {work}",
                        title="done", border_style="green"))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
