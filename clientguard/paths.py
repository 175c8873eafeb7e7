"""Path globs as the user writes them in clientguard.toml (gitignore syntax: `secrets/**`, `*.pem`)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterable

import pathspec


class PathGlobs:
    """A set of gitignore-style globs matched against repository-relative POSIX paths."""

    def __init__(self, globs: Iterable[str]):
        self.globs = [g for g in globs if g and g.strip()]
        # The plain-regex backend: with hyperscan installed pathspec would compile a hyperscan database
        # per set of globs (~80 ms for the agent-read list, at every start), to save ~1 µs per path.
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.globs, backend="simple")

    def __bool__(self) -> bool:
        return bool(self.globs)

    def matches(self, relpath: str | PurePosixPath) -> bool:
        return bool(self.globs) and self._spec.match_file(str(relpath))
