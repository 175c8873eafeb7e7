"""Errors of the policy area: a bad clientguard.toml, a bad provider catalog."""

from __future__ import annotations

from clientguard.errors import ClientguardError


class PolicyError(ClientguardError):
    """clientguard.toml is missing, not valid TOML, or fails validation (message names line and key)."""


class CatalogError(PolicyError):
    """The provider catalog is malformed, or a provider/plan is not in it."""
