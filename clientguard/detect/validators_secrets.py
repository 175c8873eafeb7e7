"""Validators for the secrets rules (registered into clientguard.detect.validators.VALIDATORS)."""

from __future__ import annotations

from clientguard.detect.validators import shannon_entropy, validator  # noqa: F401
