"""`clientguard scan`: secrets, PII and client identifiers in a repository, as an agent would read it."""

from __future__ import annotations

import contextlib
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from clientguard.detect.engine import Detector
from clientguard.detect.fingerprint import load_or_create_key
from clientguard.detect.output import dumps, print_table, read_baseline, to_json, to_sarif, write_baseline
from clientguard.detect.scanner import DEFAULT_MAX_FILE_SIZE, collect_files, scan_files
from clientguard.errors import InputError
from clientguard.paths import PathGlobs

if TYPE_CHECKING:
    from rich.console import Console


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"


class EngineChoice(str, Enum):
    auto = "auto"
    hyperscan = "hyperscan"
    python = "python"


def _policy_settings(policy: Path | None, start: Path) -> tuple[str | None, list[str], list[str], Path | None]:
    """(client name, identifiers, allowlisted path globs, the policy file) from clientguard.toml, if any."""
    from clientguard.policy.locate import find_policy

    path = policy if policy is not None else find_policy(start)
    if path is None:
        return None, [], [], None
    if not path.exists():
        raise InputError(f"{path}: policy file not found")
    from clientguard.policy.load import load_policy  # only when there is a policy to read

    pol = load_policy(path)
    return pol.client.name, list(pol.client.identifiers), list(pol.scan.allow_paths), pol.path


def scan_command(
    paths: list[Path] = typer.Argument(None, help="Files or directories to scan (default: the current directory)."),
    fmt: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="Output format."),
    identifier: list[str] = typer.Option([], "--identifier", "-i", help="A client identifier to find (repeatable)."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="clientguard.toml to read identifiers and allowlisted paths from."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Suppress findings accepted in this baseline file (clientguard's, or detect-secrets' .secrets.baseline)."),
    write_baseline_to: Optional[Path] = typer.Option(None, "--write-baseline", help="Write every finding to this baseline file."),
    max_file_size: int = typer.Option(DEFAULT_MAX_FILE_SIZE, "--max-file-size", min=1,
                                      help="Skip files larger than this (bytes)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
    engine: EngineChoice = typer.Option(EngineChoice.auto, "--engine", help="Matching engine (auto prefers hyperscan)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Threads that scan (default: one per CPU, at most 4; 1: no threads)."),
) -> None:
    """Find secrets, personal data and client identifiers. Exit 0: nothing found, 1: findings, 2: error."""
    targets = [Path(p) for p in (paths or [Path(".")])]
    start = targets[0] if targets[0].is_dir() else targets[0].parent
    client, pol_identifiers, allow_globs, policy_file = _policy_settings(policy, start)
    err = _Stderr()
    first_run_notice(err)
    try:
        detector = Detector.create(
            [*pol_identifiers, *identifier],
            fingerprint_key=load_or_create_key(client or "default"),
            engine=engine.value,
        )
    except RuntimeError as exc:
        raise InputError(str(exc)) from None
    accepted = read_baseline(baseline) if baseline else None
    for target, what in ((output, "report"), (write_baseline_to, "baseline")):
        if target is None:
            continue
        # said before the scan, not after it; a missing folder is made, as `clientguard report` does
        if target.is_dir():
            raise InputError(f"{target}: cannot write the {what}: is a directory")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{target}: cannot write the {what}: {exc.strerror or exc}") from None
    files = collect_files(targets)
    if policy_file is not None:
        # The policy lists the client's identifiers by design: reporting them there is noise.
        # (Its name first: resolving every path of a large repository costs a stat of each of its parts.)
        files = [f for f in files if not (os.path.basename(f.path) == policy_file.name
                                          and _same_file(Path(f.path), policy_file))]
    show_progress = not no_progress and err.is_terminal and len(files) > 200
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err.console, transient=True) as bar:
            task = bar.add_task("scan", total=len(files))
            result = scan_files(files, detector, max_file_size=max_file_size, allow=PathGlobs(allow_globs),
                                baseline=accepted, on_progress=lambda n: bar.advance(task, n), jobs=jobs)
    else:
        result = scan_files(files, detector, max_file_size=max_file_size, allow=PathGlobs(allow_globs),
                            baseline=accepted, jobs=jobs)
    if write_baseline_to is not None:
        write_baseline(write_baseline_to, result)
        err.print(f"wrote {len(result.findings)} finding(s) to baseline {write_baseline_to}")
    try:
        if fmt is ScanFormat.table:
            with open(output, "w", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout) as out:
                from rich.console import Console  # noqa: PLC0415

                print_table(Console(file=out, width=160 if output else None), result)
        else:
            data = to_json(result) if fmt is ScanFormat.json else to_sarif(result, detector.rules)
            text = dumps(data)
            if output:
                output.write_bytes(text)
            else:
                sys.stdout.flush()
                sys.stdout.buffer.write(text)
                sys.stdout.buffer.flush()
    except OSError as exc:  # --output names a directory, a missing folder, a file that may not be written
        raise InputError(f"{output}: cannot write the report: {exc.strerror or exc}") from None
    raise typer.Exit(1 if result.findings else 0)


class _Stderr:
    """rich's console on stderr, made on first use: a scan whose JSON or SARIF report goes to a pipe or a file
    never needs rich, whose import was ~55 ms of such a command's start."""

    def __init__(self) -> None:
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console  # noqa: PLC0415

            self._console = Console(stderr=True)
        return self._console

    @property
    def is_terminal(self) -> bool:
        # rich's answer, asked only when it could be yes: stderr is a terminal, or the environment says to
        # treat it as one (rich reads TTY_COMPATIBLE and FORCE_COLOR).
        if not (sys.stderr.isatty() or "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ):
            return False
        return self.console.is_terminal

    def print(self, *args: object, **kwargs: object) -> None:
        self.console.print(*args, **kwargs)


def first_run_notice(err: Console | _Stderr) -> None:
    """Tell a terminal that the rules are being prepared, on a machine's first run: it is silent for ~9 s
    otherwise. A pipe or a file gets nothing it did not ask for."""
    if err.is_terminal:
        from clientguard.detect.rules import builtin_rules_prepared

        if not builtin_rules_prepared():
            err.print("[dim]Preparing the detection rules for this machine: once, about 10 s.[/]")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_command)
