"""The `clientguard` command line: one typer app, each area registers its commands."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from clientguard import __version__
from clientguard.errors import ClientguardError

# The app is built once; command modules register onto it only when needed (see `app` below and main()).
_app = typer.Typer(
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
#: Which module owns each top-level command: `clientguard scan` imports the scanner and nothing else
#: (the other areas' imports cost about a third of a second at every start, measured).
COMMAND_OWNERS = {
    "scan": "clientguard.detect.commands",
    "init": "clientguard.policy.commands", "check": "clientguard.policy.commands",
    "providers": "clientguard.policy.commands", "schema": "clientguard.policy.commands",
    "serve": "clientguard.gateway.commands",
    "audit": "clientguard.posture.commands", "run": "clientguard.posture.commands",
    "ledger": "clientguard.ledger.commands", "report": "clientguard.ledger.commands",
    "demo": "clientguard.demo",
}
_registered: list[str] = []


def _register(names: list[str]) -> None:
    for name in names:
        if name in _registered:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # An area not written yet is skipped; any other missing module is a real error.
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(_app)
        _registered.append(name)


def _register_all() -> None:
    _register(COMMAND_MODULES)


def _register_for(argv: list[str]) -> None:
    """Register the module that owns the command in argv, or every module (help, --version, typos)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None and "--version" in argv:
        return  # answered by the root option alone
    owner = COMMAND_OWNERS.get(command or "")
    _register([owner] if owner else COMMAND_MODULES)


def __getattr__(name: str) -> typer.Typer:
    # `from clientguard.cli import app` (tests, embedding) gets the app with every command.
    if name == "app":
        _register_all()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _print_version(value: bool) -> None:
    # An eager option's callback runs while the arguments are parsed, before a command is required.
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@_app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
) -> None:
    """Use AI coding agents on a client's code without breaking the contract or leaking its secrets."""


def _click_exception_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Usage-error and exit exception classes of the click typer runs on: recent typer releases carry
    their own copy (typer._click), older ones use the click package; either may be installed."""
    usage: list[type] = []
    exits: list[type] = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage.append(module.ClickException)
        if hasattr(module, "Exit"):
            exits.append(module.Exit)
    return tuple(usage), tuple(exits)


def _stderr():
    """rich's console on stderr, for the messages of a command that failed (rich is imported only then: a
    scan with a JSON report never needs it)."""
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True)


def main() -> None:
    """Entry point: run the app, turning clientguard errors into a message and exit code."""
    try:
        _register_for(sys.argv[1:])
        rc = _app(standalone_mode=False)
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising it.
        if isinstance(rc, int) and rc != 0:
            sys.exit(rc)
    except ClientguardError as exc:
        from rich.markup import escape  # noqa: PLC0415

        err = _stderr()
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"  [dim]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _stderr().print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        usage_errors, exits = _click_exception_types()
        if isinstance(exc, usage_errors):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(2 if exc.exit_code not in (0, 1) else exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, exits):
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("CLIENTGUARD_DEBUG"):
            raise
        # A bug, not bad input: say so in one line; CLIENTGUARD_DEBUG=1 shows the traceback.
        err = _stderr()
        err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False, markup=True)
        err.print("  [dim]hint:[/] rerun with CLIENTGUARD_DEBUG=1 for the traceback, and report it", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
