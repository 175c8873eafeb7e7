"""Local transcripts agents keep at rest: how many, how big, how old (never their content)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

# Bound the walk: a huge transcript directory is reported from the first files seen.
MAX_FILES = 20000


@dataclass(frozen=True)
class TranscriptSummary:
    directory: Path
    files: int
    total_bytes: int
    oldest_age_days: float | None
    truncated: bool = False

    def describe(self) -> str:
        age = f", oldest {self.oldest_age_days:.0f} days old" if self.oldest_age_days is not None else ""
        more = "+" if self.truncated else ""
        return f"{self.files}{more} file(s), {human_bytes(self.total_bytes)}{age}"


def summarize(directory: Path, suffixes: tuple[str, ...], *, now: float | None = None) -> TranscriptSummary | None:
    """Count files ending in one of `suffixes` under `directory`; None when there are none."""
    if not directory.is_dir():
        return None
    now = time.time() if now is None else now
    count = total = 0
    oldest: float | None = None
    truncated = False
    for root, _dirs, names in os.walk(directory):
        for name in names:
            if not name.endswith(suffixes):
                continue
            try:
                stat = (Path(root) / name).stat()
            except OSError:
                continue
            count += 1
            total += stat.st_size
            oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
            if count >= MAX_FILES:
                truncated = True
                break
        if truncated:
            break
    if count == 0:
        return None
    age = None if oldest is None else max(0.0, (now - oldest) / 86400)
    return TranscriptSummary(directory, count, total, age, truncated)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
