"""`clientguard audit` (what the agents on this machine do with a client's code) and `clientguard run`."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from clientguard.errors import InputError
from clientguard.posture.audit import find_repo_root, run_audit
from clientguard.posture.model import AuditContext
from clientguard.posture.render import render_report

if TYPE_CHECKING:
    from clientguard.policy import Policy


class AuditFormat(str, Enum):
    table = "table"
    json = "json"


def resolve_policy(policy: Path | None, start: Path) -> "Policy | None":
    """The client policy named by --policy, or the clientguard.toml found walking up from `start`."""
    from clientguard.policy import find_policy, load_policy

    path = policy if policy is not None else find_policy(start)
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"{path}: policy file not found", hint="pass --policy FILE or run `clientguard init`")
    return load_policy(path)


def audit_command(
    home: Optional[Path] = typer.Option(None, "--home", help="Audit this home directory instead of yours (e.g. a fixture home)."),
    repo: Optional[Path] = typer.Option(None, "--repo", help="The client repository (default: the policy's repo, or the git root here)."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="The client's clientguard.toml (default: found from --repo or here)."),
    fmt: AuditFormat = typer.Option(AuditFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Read every coding agent's configuration and judge it against the client's policy.

    Reads only: nothing is sent anywhere and no token is printed. Exit 0 when every agent is ok,
    1 when any needs caution or must not be used, 2 on error.
    """
    if home is not None and not home.is_dir():
        raise InputError(f"--home {home}: not a directory")
    if repo is not None and not repo.is_dir():
        raise InputError(f"--repo {repo}: not a directory")
    cwd = Path.cwd()
    loaded = resolve_policy(policy, repo or cwd)
    if repo is None:
        repo = loaded.repo_root if loaded is not None else find_repo_root(cwd)
    protected = tuple(loaded.client.protected_paths) if loaded is not None else ()
    ctx = AuditContext.for_machine(home=home, repo=repo, cwd=cwd, protected_paths=protected)
    report = run_audit(ctx, loaded)
    if fmt is AuditFormat.json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        render_report(report, Console())
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    """Add `audit` and `run` to the clientguard command line."""
    from clientguard.posture.run import run_command

    app.command("audit")(audit_command)
    app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run_command)
