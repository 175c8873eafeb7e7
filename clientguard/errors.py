"""The errors clientguard shows its users: each says what went wrong and where."""

from __future__ import annotations


class ClientguardError(Exception):
    """Base class: a failure with a message meant for the user (no traceback)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class RuleError(ClientguardError):
    """A detection rule file is malformed (bad TOML, missing field, bad pattern)."""


class InputError(ClientguardError):
    """A path, file or argument given by the user cannot be used."""
