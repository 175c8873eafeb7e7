"""Where clientguard keeps its own files: keys, vault keys, caches (the user's data directory)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path


def data_dir() -> Path:
    """``$CLIENTGUARD_HOME`` if set, else the platform's user data directory for clientguard."""
    override = os.environ.get("CLIENTGUARD_HOME")
    return Path(override) if override else user_data_path("clientguard", appauthor=False)


def write_cache_file(path: Path, data: bytes) -> None:
    """Write a cache file whole or not at all (a temporary file renamed over it, so a reader never sees
    half of one). OSError when the cache directory cannot be written; callers then only lose the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def touch(path: Path) -> None:
    """Mark a cache file as just used, so that `prune` keeps it (mtime is the use time; atime is often off)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune(directory: Path, pattern: str, keep: int) -> int:
    """Delete all but the `keep` most recently used files matching `pattern` in `directory`; how many went.

    Caches are written per exact input (a rule set): without a bound they would grow with every upgrade
    and every file of one's own rules. (Earlier builds also wrote a database per client, holding its
    names; the bound sweeps those out as new caches are written.)
    """
    try:
        entries = [(p.stat().st_mtime, p) for p in directory.glob(pattern)]
    except OSError:
        return 0
    entries.sort(key=lambda e: e[0], reverse=True)
    removed = 0
    for _mtime, old in entries[keep:]:
        try:
            old.unlink()
            removed += 1
        except OSError:
            pass
    return removed
