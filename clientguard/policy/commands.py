"""Policy commands: `init`, `check`, `providers`, `schema`."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, Prompt
from rich.table import Table

from clientguard.errors import InputError
from clientguard.policy.catalog import FACT_NAMES, Catalog, Fact, catalog_json_schema, load_catalog
from clientguard.policy.decision import CLAUSE_WORDS, Verdict, decide
from clientguard.policy.errors import PolicyError
from clientguard.policy.init import Discovery, InitAnswers, discover, render_policy
from clientguard.policy.load import POLICY_FILENAME, find_policy, load_policy
from clientguard.policy.model import Policy, policy_json_schema


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class ModeChoice(str, Enum):
    local = "local"
    cloud = "cloud"


# Column titles of the compact catalog table (FACT_TITLES has the long forms).
FACT_SHORT = {
    "trains_by_default": "trains by default",
    "training_opt_out": "opt-out",
    "retention": "retention",
    "dpa": "DPA",
    "baa": "BAA",
    "zdr": "ZDR",
    "cloud_stages_repo": "cloud task stages repo",
}

ACTION_STYLE = {"allow": "bold green", "route_local": "bold yellow", "block": "bold red"}
ACTION_LABEL = {"allow": "ALLOW", "route_local": "LOCAL ONLY", "block": "BLOCK"}


def _stdout() -> Console:
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)  # a pipe or a file: wide enough that reasons stay readable
    return console


def resolve_policy(policy: Path | None) -> Policy:
    """The policy named by --policy, or the clientguard.toml found from the current directory upwards."""
    path = policy if policy is not None else find_policy(Path.cwd())
    if path is None:
        raise PolicyError(
            f"no {POLICY_FILENAME} in {Path.cwd()} or any parent directory",
            hint="run `clientguard init` in the client repository, or pass --policy FILE",
        )
    return load_policy(path)


# ------------------------------------------------------------------------------------------ check

def check_command(
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help=f"The {POLICY_FILENAME} (default: found from the current directory up)."),
    account: Optional[str] = typer.Option(None, "--account", "-a", help="Only this account (default: every account)."),
    mode: ModeChoice = typer.Option(ModeChoice.local, "--mode", "-m", help="local: the agent runs here and sends excerpts; cloud: a cloud task stages the whole repository."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Say, per account, whether the client's contract lets it process this code. Exit 0: all allow, 1: any block or local-only, 2: error."""
    pol = resolve_policy(policy)
    catalog = load_catalog()
    accounts = [pol.account(account)] if account else list(pol.accounts)
    verdicts = [decide(pol, acc, mode.value, catalog, today=date.today()) for acc in accounts]
    if fmt is OutputFormat.json:
        doc = {"client": pol.client.name, "verdicts": [v.to_dict() for v in verdicts]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_verdicts(_stdout(), pol, verdicts, catalog, mode.value)
    raise typer.Exit(0 if all(v.action == "allow" for v in verdicts) else 1)


def _print_verdicts(console: Console, pol: Policy, verdicts: list[Verdict], catalog: Catalog, mode: str) -> None:
    console.print(
        f"[bold]{escape(pol.client.name)}[/] — policy {escape(str(pol.path))}, mode [bold]{mode}[/]",
        highlight=False,
    )
    table = Table(show_lines=True, expand=False)
    table.add_column("account", no_wrap=True)
    table.add_column("provider / plan")
    table.add_column("verdict", no_wrap=True)
    table.add_column("why (contract clause — provider fact — source)", ratio=1, overflow="fold")
    for v in verdicts:
        posture = catalog.posture(v.provider, v.plan)
        reasons = "\n".join(
            f"[bold]{escape(CLAUSE_WORDS.get(r.clause, r.clause))}[/] ({escape(r.clause)})\n"
            f"{escape(r.fact)}\n[dim]{escape(r.source)}[/]"
            for r in v.reasons
        )
        label = ACTION_LABEL[v.action]
        if v.action == "route_local" and v.local_account is not None:
            label += f"\n→ {v.local_account.name}"
        table.add_row(
            escape(v.account),
            f"{escape(posture.provider_name)}\n{escape(posture.plan_name)}",
            f"[{ACTION_STYLE[v.action]}]{escape(label)}[/]",
            reasons,
        )
    console.print(table)
    counts = {a: sum(1 for v in verdicts if v.action == a) for a in ("allow", "route_local", "block")}
    console.print(
        f"{len(verdicts)} account(s): [green]{counts['allow']} allow[/], "
        f"[yellow]{counts['route_local']} local only[/], [red]{counts['block']} block[/]",
        highlight=False,
    )
    for v in verdicts:
        if not v.fixes and not v.cautions:
            continue
        console.print(f"\n[bold]{escape(v.account)}[/] ({ACTION_LABEL[v.action].lower()}):", highlight=False)
        # A grid keeps wrapped lines indented under their text, not under the label.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, justify="right")
        grid.add_column(ratio=1)
        for i, fix in enumerate(v.fixes, 1):
            grid.add_row(f"  fix {i}.", escape(fix))
        for caution in v.cautions:
            grid.add_row("  [yellow]caution:[/]", escape(caution))
        console.print(grid)
    if any(v.requires_ledger for v in verdicts):
        console.print(
            "\n[bold]audit_log_required[/]: the gateway keeps the egress ledger on for this client.",
            highlight=False,
        )
    console.print(
        "\n[dim]allow = may go to this provider; secrets, personal data and client identifiers are still "
        "redacted and protected paths withheld by the gateway.[/]",
        highlight=False,
    )
    stale = _stale_sources(catalog, [catalog.posture(v.provider, v.plan) for v in verdicts], date.today())
    if stale:
        console.print(
            f"[yellow]warning:[/] {len(stale)} source(s) behind these verdicts were read more than "
            f"{catalog.stale_after_days} days ago; `clientguard providers` lists them.",
            highlight=False,
        )


def _stale_sources(catalog: Catalog, postures: list[Any], today: date) -> list[str]:
    seen: dict[str, None] = {}
    for posture in postures:
        for fact in posture.facts.values():
            if fact.age_days(today) > catalog.stale_after_days:
                seen[fact.source.url] = None
    return list(seen)


# -------------------------------------------------------------------------------------- providers

def providers_command(
    provider: Optional[str] = typer.Option(None, "--provider", help="Only this provider (id or alias)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Compute fact ages as of this date (YYYY-MM-DD; default today)."),
    catalog_path: Optional[Path] = typer.Option(None, "--catalog", help="A provider catalog file to show instead of the bundled one."),
    details: bool = typer.Option(False, "--details", help="One row per fact, with its note and source."),
) -> None:
    """Print the provider posture catalog: each plan's facts with their source and age; warn about stale facts."""
    catalog = load_catalog(catalog_path)
    today = _parse_day(as_of) if as_of else date.today()
    postures = catalog.postures()
    if provider is not None:
        pid = catalog.canonical_provider(provider)
        if pid is None:
            raise PolicyError(f"unknown provider {provider!r}", hint=f"known providers: {', '.join(catalog.provider_ids)}")
        postures = [p for p in postures if p.provider == pid]
    groups: dict[tuple[str, str], list[Any]] = {}
    for p in postures:
        groups.setdefault((p.provider, p.posture_id), []).append(p)
    stale_facts = [
        (p, f) for group in groups.values() for p in group[:1] for f in p.facts.values()
        if f.age_days(today) > catalog.stale_after_days
    ]
    if fmt is OutputFormat.json:
        doc = {
            "catalog": str(catalog.path),
            "as_of": today.isoformat(),
            "stale_after_days": catalog.stale_after_days,
            "stale_facts": len(stale_facts),
            "providers": [
                {
                    "id": pid,
                    "name": catalog.provider_name(pid),
                    "aliases": list(catalog.data.providers[pid].aliases),
                    "plans": [
                        {
                            "id": p.plan,
                            "name": p.plan_name,
                            "aliases": [
                                alias
                                for posture in catalog.data.providers[pid].postures.values()
                                for alias, target in posture.aliases.items() if target == p.plan
                            ],
                            "tier": p.tier,
                            "posture": p.posture_id,
                            "facts": {
                                name: {
                                    "value": f.value,
                                    "title": f.title,
                                    "note": f.note,
                                    "source": f.source.url,
                                    "source_title": f.source.title,
                                    "source_note": f.source.note,
                                    "retrieved": f.source.retrieved.isoformat(),
                                    "age_days": f.age_days(today),
                                    "stale": f.age_days(today) > catalog.stale_after_days,
                                }
                                for name, f in p.facts.items()
                            },
                        }
                        for p in postures if p.provider == pid
                    ],
                }
                for pid in dict.fromkeys(p.provider for p in postures)
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_catalog(_stdout(), catalog, groups, today, details)
    if stale_facts:
        Console(stderr=True).print(
            f"[yellow]warning:[/] {len(stale_facts)} fact(s) come from sources read more than "
            f"{catalog.stale_after_days} days before {today.isoformat()}; re-check them at their source "
            "and update providers.toml.",
            highlight=False,
        )


def _print_catalog(
    console: Console, catalog: Catalog, groups: dict[tuple[str, str], list[Any]], today: date, details: bool
) -> None:
    if details:
        _print_catalog_details(console, catalog, groups, today)
        return
    table = Table(title=f"provider posture catalog (fact ages as of {today.isoformat()})", show_lines=True)
    table.add_column("provider / plans", no_wrap=True)
    for name in FACT_NAMES:
        table.add_column(FACT_SHORT[name], min_width=24 if name == "retention" else None)
    for (_pid, _posture_id), members in groups.items():
        first = members[0]
        plans = ", ".join(p.plan for p in members)
        cells = [f"[bold]{escape(first.provider_name)}[/]\n{escape(plans)}\n[dim]{first.tier}[/]"]
        for name in FACT_NAMES:
            cells.append(_fact_cell(first.facts[name], today, catalog.stale_after_days))
        table.add_row(*cells)
    console.print(table)
    _print_sources(console, catalog, [m[0] for m in groups.values()], today)


def _fact_cell(fact: Fact, today: date, stale_after: int) -> str:
    value = fact.shown()
    style = {"yes": "green", "no": "red", "unknown": "yellow"}.get(value, "")
    if fact.name == "trains_by_default" and value in ("yes", "no"):
        style = "red" if value == "yes" else "green"
    shown = f"[{style}]{escape(value)}[/]" if style else escape(value)
    age = fact.age_days(today)
    age_text = f"[yellow]{age} d ⚠[/]" if age > stale_after else f"[dim]{age} d[/]"
    return f"{shown}\n{age_text}"


def _print_sources(console: Console, catalog: Catalog, postures: list[Any], today: date) -> None:
    used: dict[str, Any] = {}
    for posture in postures:
        for fact in posture.facts.values():
            used.setdefault(fact.source.url, fact.source)
    table = Table(title="sources", show_lines=False)
    table.add_column("source", overflow="fold")
    table.add_column("read", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    for source in used.values():
        age = (today - source.retrieved).days
        note = f"\n[dim]{escape(source.note)}[/]" if source.note else ""
        table.add_row(
            f"{escape(source.title)}\n{escape(source.url)}{note}",
            source.retrieved.isoformat(),
            f"[yellow]{age} d ⚠ stale[/]" if age > catalog.stale_after_days else f"{age} d",
        )
    console.print(table)


def _print_catalog_details(
    console: Console, catalog: Catalog, groups: dict[tuple[str, str], list[Any]], today: date
) -> None:
    table = Table(show_lines=False, title=f"provider posture catalog (ages as of {today.isoformat()})")
    table.add_column("provider / plans")
    table.add_column("fact")
    table.add_column("value")
    table.add_column("source", overflow="fold")
    table.add_column("age", justify="right", no_wrap=True)
    for (_pid, _posture_id), members in groups.items():
        first = members[0]
        plans = ", ".join(p.plan for p in members)
        header = f"[bold]{escape(first.provider_name)}[/]\n{escape(plans)}\n[dim]{first.tier}[/]"
        for i, name in enumerate(FACT_NAMES):
            fact = first.facts[name]
            note = f"\n[dim]{escape(fact.note)}[/]" if fact.note else ""
            value, age = _fact_cell(fact, today, catalog.stale_after_days).split("\n", 1)
            table.add_row(
                header if i == 0 else "",
                escape(fact.title),
                value + note,
                f"{escape(fact.source.url)}\n[dim]read {fact.source.retrieved.isoformat()}[/]",
                age,
            )
        table.add_section()
    console.print(table)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of {text!r} is not a date", hint="write it as YYYY-MM-DD, e.g. 2026-11-26") from None


# ----------------------------------------------------------------------------------------- schema

def schema_command(
    catalog: bool = typer.Option(False, "--catalog", help="The schema of the provider catalog instead of clientguard.toml."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the schema to this file."),
) -> None:
    """Print the JSON Schema of clientguard.toml (editors such as taplo complete from it)."""
    schema = catalog_json_schema() if catalog else policy_json_schema()
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
    Console(stderr=True).print(f"wrote {output}", highlight=False)


# ------------------------------------------------------------------------------------------- init

def init_command(
    repo: Path = typer.Option(Path("."), "--repo", help="The client repository to look through."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help=f"Where to write (default: REPO/{POLICY_FILENAME})."),
    name: Optional[str] = typer.Option(None, "--name", help="The client's name."),
    identifier: list[str] = typer.Option([], "--identifier", "-i", help="A client identifier (repeatable)."),
    accept_proposed: bool = typer.Option(False, "--accept-proposed", help="Without prompts: use every identifier found in the repository."),
    protected_path: list[str] = typer.Option([], "--protected-path", help="A glob that never leaves the machine (repeatable)."),
    nda: bool = typer.Option(True, "--nda/--no-nda", help="The code and data are confidential."),
    no_third_party_processing: bool = typer.Option(False, "--no-third-party-processing", help="No third party may process the code."),
    audit_log_required: bool = typer.Option(False, "--audit-log-required", help="The client wants a record of every egress."),
    gdpr_controller: bool = typer.Option(False, "--gdpr-controller", help="The client is a GDPR controller for data in the code."),
    subprocessor: list[str] = typer.Option([], "--subprocessor", help="A provider the client approved as sub-processor (repeatable)."),
    phi: bool = typer.Option(False, "--phi", help="Protected health information (HIPAA) is in scope."),
    account: list[str] = typer.Option([], "--account", help="NAME=PROVIDER:PLAN[:opted-out], e.g. work=openai:team (repeatable)."),
    gateway_account: Optional[str] = typer.Option(None, "--gateway-account", help="The account `clientguard serve` forwards under."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt, even on a terminal."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented clientguard.toml: prompts on a terminal, flags otherwise; proposes identifiers found in the repo."""
    repo = repo.expanduser()
    if not repo.is_dir():
        raise InputError(f"--repo {repo} is not a directory")
    target = (output or repo / POLICY_FILENAME).expanduser()
    if target.exists() and not force:
        raise InputError(f"{target} already exists", hint="pass --force to overwrite it, or --output FILE")
    catalog = load_catalog()
    found = discover(repo)
    interactive = not no_input and sys.stdin.isatty() and sys.stdout.isatty()
    accounts = [_parse_account_spec(spec, catalog) for spec in account]
    subprocessors = [_provider_id(p, catalog, "--subprocessor") for p in subprocessor]
    answers = InitAnswers(
        name=name or _default_name(found, repo),
        identifiers=list(dict.fromkeys(identifier)),
        proposed_unconfirmed=[],
        protected_paths=list(dict.fromkeys(protected_path)),
        nda=nda,
        no_third_party_processing=no_third_party_processing,
        audit_log_required=audit_log_required,
        gdpr_controller=gdpr_controller or bool(subprocessors),
        authorized_subprocessors=subprocessors,
        phi=phi,
        accounts=accounts,
        gateway_account=gateway_account,
    )
    if interactive:
        _ask(answers, found, catalog)
    else:
        for prop in found.identifiers:
            if any(prop.value.lower() == i.lower() for i in answers.identifiers):
                continue
            if accept_proposed:
                answers.identifiers.append(prop.value)
                answers.origins[prop.value] = prop.origin_text()
            else:
                answers.proposed_unconfirmed.append(prop)
        for prop in found.protected_paths:
            if prop.value not in answers.protected_paths:
                answers.protected_paths.append(prop.value)
        if not answers.accounts:
            answers.accounts.append({"name": "local", "provider": "ollama", "plan": "local",
                                     "base_url": "http://127.0.0.1:11434"})
    if answers.gateway_account is None:
        remote = [a for a in answers.accounts if not catalog.posture(str(a["provider"]), str(a["plan"])).is_local]
        answers.gateway_account = str((remote or answers.accounts)[0]["name"])
    text = render_policy(answers)
    # Check the file before writing it: init must never leave a policy that does not load.
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        load_policy(tmp, catalog)
        tmp.replace(target)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    err = Console(stderr=True)
    err.print(f"wrote {target}", highlight=False)
    if answers.proposed_unconfirmed:
        err.print(
            f"  {len(answers.proposed_unconfirmed)} identifier(s) found in the repository are listed as comments; "
            "uncomment the ones that identify the client (or rerun with --accept-proposed).",
            highlight=False,
        )
    err.print(f"  next: clientguard check --policy {target}", highlight=False)


def _default_name(found: Discovery, repo: Path) -> str:
    return found.suggested_name or repo.resolve().name or "client"


def _provider_id(name: str, catalog: Catalog, flag: str) -> str:
    pid = catalog.canonical_provider(name)
    if pid is None:
        raise InputError(f"{flag} {name!r}: unknown provider", hint=f"known providers: {', '.join(catalog.provider_ids)}")
    return pid


def _parse_account_spec(spec: str, catalog: Catalog) -> dict[str, object]:
    """NAME=PROVIDER:PLAN[:opted-out] -> an [[accounts]] table."""
    name, sep, rest = spec.partition("=")
    if not sep:
        name, rest = "", spec
    parts = rest.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("opted-out", "opt-out")):
        raise InputError(
            f"--account {spec!r}: expected NAME=PROVIDER:PLAN or NAME=PROVIDER:PLAN:opted-out",
            hint="e.g. --account work=openai:team --account personal=anthropic:pro:opted-out",
        )
    provider = _provider_id(parts[0], catalog, "--account")
    plan = catalog.canonical_plan(provider, parts[1])
    if plan is None:
        raise InputError(
            f"--account {spec!r}: unknown plan {parts[1]!r} for provider {provider!r}",
            hint=f"known plans: {', '.join(catalog.plan_choices(provider))}",
        )
    posture = catalog.posture(provider, plan)
    entry: dict[str, object] = {"name": name or f"{provider}-{plan}", "provider": provider, "plan": plan}
    if len(parts) == 3:
        entry["privacy_mode" if posture.opt_out_setting == "privacy_mode" else "training_opt_out"] = True
    if posture.is_local:
        entry["base_url"] = "http://127.0.0.1:11434"
    return entry


def _ask(answers: InitAnswers, found: Discovery, catalog: Catalog) -> None:
    """The interactive questions (a terminal on both ends)."""
    console = Console()
    console.print(f"[bold]clientguard init[/] for {escape(str(found.repo))}\n", highlight=False)
    answers.name = Prompt.ask("Client name", default=answers.name)
    if found.identifiers:
        console.print("\nFound in the repository — confirm the ones that identify the client:")
    for prop in found.identifiers:
        if any(prop.value.lower() == i.lower() for i in answers.identifiers):
            continue
        if Confirm.ask(f"  {escape(prop.value)} [dim]({escape(prop.origin_text())})[/]", default=True):
            answers.identifiers.append(prop.value)
            answers.origins[prop.value] = prop.origin_text()
    extra = Prompt.ask("More identifiers (people, products, hostnames; comma-separated)", default="")
    answers.identifiers += [x.strip() for x in extra.split(",") if x.strip()]
    if answers.name not in answers.identifiers and Confirm.ask(f"Pseudonymize the client name {answers.name!r} too?", default=True):
        answers.identifiers.insert(0, answers.name)
    for prop in found.protected_paths:
        if prop.value not in answers.protected_paths and Confirm.ask(
            f"Never send {escape(prop.value)}? [dim]({escape(prop.origin_text())})[/]", default=True
        ):
            answers.protected_paths.append(prop.value)
    extra = Prompt.ask("More protected paths (globs, comma-separated)", default="")
    answers.protected_paths += [x.strip() for x in extra.split(",") if x.strip()]

    console.print("\n[bold]The contract[/]")
    answers.nda = Confirm.ask("Is the code and data under an NDA (confidential)?", default=answers.nda)
    answers.no_third_party_processing = Confirm.ask(
        "Does the contract forbid any third party from processing the code?", default=answers.no_third_party_processing
    )
    answers.audit_log_required = Confirm.ask(
        "Does the client want a record of every egress (audit log)?", default=answers.audit_log_required
    )
    answers.gdpr_controller = Confirm.ask(
        "Is the client a GDPR controller for personal data in this code?", default=answers.gdpr_controller
    )
    if answers.gdpr_controller:
        approved = Prompt.ask(
            f"Providers the client approved as sub-processors ({', '.join(catalog.provider_ids)}; comma-separated)",
            default=", ".join(answers.authorized_subprocessors),
        )
        answers.authorized_subprocessors = [
            _provider_id(x.strip(), catalog, "sub-processor") for x in approved.split(",") if x.strip()
        ]
    answers.phi = Confirm.ask("Is protected health information (HIPAA PHI) in scope?", default=answers.phi)

    console.print("\n[bold]Your AI accounts[/]")
    while not answers.accounts or Confirm.ask("Add another account?", default=False):
        provider = Prompt.ask("  provider", choices=catalog.provider_ids, default="openai")
        plan = Prompt.ask("  plan", choices=catalog.plan_ids(provider))
        posture = catalog.posture(provider, plan)
        acc_name = Prompt.ask("  a short name for it", default=f"{provider}-{plan}")
        entry: dict[str, object] = {"name": acc_name, "provider": provider, "plan": plan}
        if posture.opt_out_setting == "privacy_mode":
            entry["privacy_mode"] = Confirm.ask("  is Cursor Privacy Mode on?", default=False)
        elif posture.trains_by_default() and posture.opt_out_setting:
            if Confirm.ask("  have you switched training off for this account?", default=False):
                entry["training_opt_out"] = True
                entry["opt_out_confirmed"] = date.today().isoformat()
        if posture.is_local:
            entry["base_url"] = Prompt.ask("  server URL", default="http://127.0.0.1:11434")
        if posture.says("baa") and answers.phi:
            entry["baa_signed"] = Confirm.ask("  is a BAA signed for this account?", default=False)
        answers.accounts.append(entry)
    names = [str(a["name"]) for a in answers.accounts]
    answers.gateway_account = Prompt.ask("Account the gateway forwards under", choices=names, default=names[0])


def register(app: typer.Typer) -> None:
    """Add init, check, providers and schema to the clientguard CLI."""
    app.command("init")(init_command)
    app.command("check")(check_command)
    app.command("providers")(providers_command)
    app.command("schema")(schema_command)
