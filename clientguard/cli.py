"""The `clientguard` command line: one typer app, each area registers its commands."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from clientguard import __version__
from clientguard.errors import ClientguardError

app = typer.Typer(
    name="clientguard",
    help="Use AI coding agents on a client's code without breaking the contract or leaking its secrets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module exposes register(app) and owns its commands.
COMMAND_MODULES = [
    "clientguard.detect.commands",      # scan
    "clientguard.policy.commands",      # init, check, providers, schema
    "clientguard.gateway.commands",     # serve
    "clientguard.posture.commands",     # audit, run
    "clientguard.ledger.commands",      # ledger verify/show, report
    "clientguard.demo",                 # demo
]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # An area not written yet is skipped; any other missing module is a real error.
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


_register_all()


def main() -> None:
    """Entry point: run the app, turning clientguard errors into a message and exit code."""
    err = Console(stderr=True)
    try:
        rc = app(standalone_mode=False)
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising it.
        if isinstance(rc, int) and rc != 0:
            sys.exit(rc)
    except ClientguardError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"  [dim]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(2 if exc.exit_code not in (0, 1) else exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if os.environ.get("CLIENTGUARD_DEBUG"):
            raise
        # A bug, not bad input: say so in one line; CLIENTGUARD_DEBUG=1 shows the traceback.
        err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False, markup=True)
        err.print("  [dim]hint:[/] rerun with CLIENTGUARD_DEBUG=1 for the traceback, and report it", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
