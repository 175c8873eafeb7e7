"""Where clientguard keeps its own files: keys, vault keys, caches (the user's data directory)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path


def data_dir() -> Path:
    """``$CLIENTGUARD_HOME`` if set, else the platform's user data directory for clientguard."""
    override = os.environ.get("CLIENTGUARD_HOME")
    return Path(override) if override else user_data_path("clientguard", appauthor=False)
