"""Where a client's clientguard.toml is: the standard library only, so commands that merely look for one
(`clientguard scan` in a repository without a policy) do not load the policy machinery."""

from __future__ import annotations

from pathlib import Path

POLICY_FILENAME = "clientguard.toml"


def find_policy(start: Path) -> Path | None:
    """Walk up from `start` (a directory or a file in it) to the root; the first clientguard.toml found."""
    here = Path(start).expanduser().resolve()
    if here.is_file():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / POLICY_FILENAME
        if candidate.is_file():
            return candidate
    return None
