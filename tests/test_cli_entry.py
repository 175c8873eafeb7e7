"""The `clientguard` entry point: usage errors read as usage errors, --version works, and a command
imports only its own area (start-up time is most of what a scan of a small repository costs)."""

from __future__ import annotations

import subprocess
import sys

from clientguard import __version__

CLI = [sys.executable, "-m", "clientguard.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env={"COLUMNS": "200",
                                                                                          "PATH": "/usr/bin:/bin"})


def test_version_prints_the_version_and_exits_zero():
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == __version__


def test_an_unknown_option_is_a_usage_error_not_an_internal_error():
    result = run("scan", "--no-such-option")
    assert result.returncode == 2
    assert "No such option: --no-such-option" in result.stderr
    assert "internal error" not in result.stderr


def test_an_unknown_command_is_a_usage_error_not_an_internal_error():
    result = run("scna")
    assert result.returncode == 2
    assert "No such command 'scna'" in result.stderr
    assert "internal error" not in result.stderr


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for command in ("scan", "init", "check", "providers", "schema", "serve", "audit", "run", "report", "demo", "ledger"):
        assert command in result.stdout


def test_a_command_imports_only_the_area_that_owns_it():
    probe = (
        "import sys\n"
        "import clientguard.cli as cli\n"
        "cli._register_for(['scan', '--format', 'json', '.'])\n"
        "names = [c.name for c in cli._app.registered_commands]\n"
        "others = [m for m in ('clientguard.posture.audit', 'clientguard.policy.commands', 'clientguard.ledger.store',"
        " 'clientguard.gateway.app', 'clientguard.demo') if m in sys.modules]\n"
        "print(names, others)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['scan'] []"


def test_the_importable_app_has_every_command():
    from clientguard.cli import app

    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"scan", "init", "check", "providers", "schema", "serve", "audit", "run", "report", "demo",
            "ledger"} <= names
