"""Human output of the audit: a summary table, then each agent's findings with their fixes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clientguard.posture.audit import AuditReport
from clientguard.posture.model import SEVERITY_ORDER, AgentPosture

VERDICT_STYLE = {"ok": "bold green", "caution": "bold yellow", "do_not_use": "bold red"}
SEVERITY_STYLE = {"info": "dim", "low": "cyan", "medium": "yellow", "high": "red", "critical": "bold red"}


def _routed(agent: AgentPosture) -> str:
    if agent.agent == "environment" or not agent.found:
        return ""
    if agent.local_only:
        return "local model"
    if agent.routed_through_clientguard is None:
        return "cannot be routed"
    return "yes" if agent.routed_through_clientguard else "no (direct)"


def render_report(report: AuditReport, console: Console) -> None:
    """Print the audit for a person: what was found, the verdicts, and how to fix each finding."""
    scope = f"client [bold]{escape(report.client)}[/] ({escape(str(report.policy_path))})" if report.client \
        else "no client policy (setup checks only)"
    console.print(f"Agents under [bold]{escape(str(report.home))}[/] for {scope}")
    table = Table(show_lines=False)
    for column in ("agent", "found", "provider / plan", "through clientguard", "verdict", "findings"):
        table.add_column(column)
    for agent in report.agents:
        plan = " ".join(x for x in (agent.provider, agent.plan) if x) or ("-" if agent.found else "")
        verdict = f"[{VERDICT_STYLE[agent.verdict]}]{agent.verdict}[/]" if agent.found else "[dim]not found[/]"
        table.add_row(agent.agent, "yes" if agent.found else "no", escape(plan), _routed(agent), verdict,
                      str(len(agent.findings)) if agent.found else "")
    console.print(table)
    for agent in report.agents:
        if not agent.found or not agent.findings:
            continue
        console.print(f"\n[bold]{agent.agent}[/]  [{VERDICT_STYLE[agent.verdict]}]{agent.verdict}[/]")
        if agent.plan_source:
            console.print(f"  [dim]plan from {escape(agent.plan_source)}[/]")
        for note in agent.notes:
            console.print(f"  [dim]{escape(note)}[/]")
        for finding in sorted(agent.findings, key=lambda f: -SEVERITY_ORDER[f.severity]):
            style = SEVERITY_STYLE[finding.severity]
            console.print(f"  [{style}]{finding.severity:>8}[/] {escape(finding.id)}: {escape(finding.message)}")
            if finding.fix:
                for index, line in enumerate(finding.fix.splitlines()):
                    prefix = "fix: " if index == 0 else "     "
                    console.print(f"           [green]{prefix}{escape(line)}[/]", soft_wrap=True)
