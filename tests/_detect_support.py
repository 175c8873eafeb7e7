"""Shared test marks for the detection engine."""

from __future__ import annotations

import platform

import pytest

#: pyproject installs hyperscan on Linux and macOS only. There its tests must run, so that a missing
#: module fails them instead of skipping them; elsewhere the pure-Python engine is all there is.
HYPERSCAN_EXPECTED = platform.system() in ("Linux", "Darwin")

needs_hyperscan = pytest.mark.skipif(
    not HYPERSCAN_EXPECTED, reason="pyproject installs hyperscan on Linux and macOS only"
)
