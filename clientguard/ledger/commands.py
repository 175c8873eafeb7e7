"""CLI: `clientguard ledger verify`, `clientguard ledger show`, `clientguard report`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from clientguard.errors import InputError
from clientguard.ledger.locate import load_policy_for, parse_when, resolve_ledger_path
from clientguard.ledger.store import Ledger
from clientguard.ledger.verify import parse_anchor, verify_ledger

ledger_app = typer.Typer(help="The egress ledger: verify its chain, list its entries.", no_args_is_help=True)

_LEDGER_OPT = typer.Option(None, "--ledger", help="Ledger file (default: the client's ledger in the data directory).")
_CLIENT_OPT = typer.Option(None, "--client", help="Client name, to pick its default ledger.")
_POLICY_OPT = typer.Option(None, "--policy", help="clientguard.toml (default: found walking up from here).")


def _check_format(value: str, allowed: tuple[str, ...], option: str = "--format") -> str:
    if value not in allowed:
        raise InputError(f"{option} {value!r} is not one of: {', '.join(allowed)}")
    return value


def _ledger_path(ledger: Optional[Path], client: Optional[str], policy_file: Optional[Path]) -> Path:
    policy = None
    if ledger is None and not client:
        policy = load_policy_for(policy_file)
    return resolve_ledger_path(ledger, client, policy)


@ledger_app.command("verify")
def verify_cmd(
    ledger: Optional[Path] = _LEDGER_OPT,
    client: Optional[str] = _CLIENT_OPT,
    policy: Optional[Path] = _POLICY_OPT,
    anchor: list[str] = typer.Option(
        [], "--anchor", help="SEQ:HASH from an earlier report; the entry must still have that hash. Repeatable."
    ),
    without_key: bool = typer.Option(
        False, "--without-key", help="Check only the unkeyed hash chain (for a copy of the ledger without its key)."
    ),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Check the hash chain; exit 0 with the entry count, or 1 naming the first broken entry."""
    _check_format(fmt, ("text", "json"))
    path = _ledger_path(ledger, client, policy)
    anchors = [parse_anchor(a) for a in anchor]
    result = verify_ledger(path, require_key=not without_key, anchors=anchors)
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        out = Console(highlight=False, soft_wrap=True)
        if result.ok:
            auth = "MACs checked with the ledger key" if result.authenticated else "unkeyed chain only (no key)"
            out.print(f"[bold green]ledger OK[/]: {result.count} entries, chain intact ({auth})")
            out.print(f"  head: {result.head_seq}:{result.head_hash}")
            for a in result.anchors_checked:
                out.print(f"  anchor holds: {a}")
        else:
            p = result.problem
            assert p is not None
            where = f" at entry {p.seq}" if p.seq else ""
            out.print(f"[bold red]ledger BROKEN[/]{where} ({p.kind}): {p.message}")
            out.print(f"  {result.count} entries verified before it; ledger: {result.path}")
    raise typer.Exit(0 if result.ok else 1)


@ledger_app.command("show")
def show_cmd(
    since: Optional[str] = typer.Option(None, "--since", help="Only entries at or after this date/time (UTC)."),
    until: Optional[str] = typer.Option(None, "--until", help="Only entries up to this date (inclusive) or before this time (UTC)."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Show only the last N entries."),
    ledger: Optional[Path] = _LEDGER_OPT,
    client: Optional[str] = _CLIENT_OPT,
    policy: Optional[Path] = _POLICY_OPT,
) -> None:
    """List ledger entries (never raw secrets: redactions appear as counts and fingerprints)."""
    _check_format(fmt, ("table", "json"))
    path = _ledger_path(ledger, client, policy)
    start, end = parse_when(since, "--since"), parse_when(until, "--until", whole_day=True)
    with Ledger.open(path, create=False, require_key=False) as led:
        entries = led.entries(since=start, until=end)
    if limit is not None:
        entries = entries[-limit:]
    if fmt == "json":
        rows = []
        for e in entries:
            data = e.record.to_dict()
            rows.append({"seq": e.seq, "hash": e.hash, **data})
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"ledger {path} — {len(entries)} entries", title_justify="left")
    for col in ("#", "time (UTC)", "agent", "provider", "endpoint", "account / plan", "mode", "verdict", "redacted", "bytes", "status"):
        table.add_column(col, justify="right" if col in ("#", "redacted", "bytes", "status") else "left")
    styles = {"allow": "green", "block": "red", "route_local": "cyan"}
    for e in entries:
        r = e.record
        table.add_row(
            str(e.seq),
            str(r.ts)[:19].replace("T", " "),
            r.agent,
            r.provider,
            r.endpoint,
            f"{r.account} / {r.plan}",
            r.mode,
            f"[{styles.get(r.verdict, 'yellow')}]{r.verdict}[/]",
            str(r.redaction_count),
            str(r.bytes_sent),
            "" if r.status is None else str(r.status),
        )
    # Piped output has no terminal width; keep each entry on one line rather than wrap at 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def report_cmd(
    client: Optional[str] = typer.Option(None, "--client", help="Client name (default: the policy's client)."),
    since: Optional[str] = typer.Option(None, "--since", help="Report from this date/time (UTC)."),
    until: Optional[str] = typer.Option(None, "--until", help="Report up to this date (inclusive) or before this time (UTC)."),
    fmt: str = typer.Option("html", "--format", help="html, pdf or md."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file (default: <client>-report.<format>)."),
    ledger: Optional[Path] = _LEDGER_OPT,
    policy: Optional[Path] = _POLICY_OPT,
) -> None:
    """Write the client report: providers and terms, egress over time, redactions, blocks, chain check, policy."""
    from clientguard.ledger.report import build_report, write_report

    _check_format(fmt, ("html", "pdf", "md"))
    pol = load_policy_for(policy)
    if pol is not None and client and client != pol.client.name:
        # A report about client A under client B's contract would be wrong on every page.
        raise InputError(f"--client {client!r} differs from the policy's client {pol.client.name!r}",
                         hint="pass --policy with that client's clientguard.toml")
    path = resolve_ledger_path(ledger, client, pol)
    data = build_report(path, policy=pol, client=client, since=parse_when(since, "--since"), until=parse_when(until, "--until", whole_day=True))
    target = output or Path(f"{data.client_slug}-report.{fmt}")
    write_report(data, fmt, target)
    status = "chain intact" if data.verify.ok else f"CHAIN BROKEN at entry {data.verify.problem.seq}"  # type: ignore[union-attr]
    Console(stderr=True, highlight=False).print(
        f"wrote {target} ({fmt}, {data.total} requests, {status})"
    )


def register(app: typer.Typer) -> None:
    """Add `ledger verify`, `ledger show` and `report` to the clientguard CLI."""
    app.add_typer(ledger_app, name="ledger")
    app.command("report")(report_cmd)
