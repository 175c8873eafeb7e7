"""Find which ledger a command means: --ledger, --client, or the policy of the repo we are in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from clientguard.errors import InputError
from clientguard.ledger.store import default_ledger_path


def load_policy_for(policy_file: Path | None, *, required: bool = False) -> Any | None:
    """Load `--policy FILE`, or the clientguard.toml found walking up from the current directory.

    Returns None when no policy is given or found and `required` is False.
    """
    try:
        from clientguard.policy import find_policy, load_policy
    except ImportError as exc:  # the policy area is part of the package; missing means a broken install
        raise InputError(f"the policy module cannot be imported ({exc}); reinstall clientguard") from exc
    if policy_file is not None:
        if not policy_file.exists():
            raise InputError(f"policy file {policy_file} does not exist")
        return load_policy(policy_file)
    found = find_policy(Path.cwd())
    if found is None:
        if required:
            raise InputError("no clientguard.toml here or in any parent directory", hint="pass --policy FILE")
        return None
    return load_policy(found)


def policy_ledger_path(policy: Any) -> Path:
    """The ledger a policy's client writes to: `[ledger] path` if the policy sets one, else the default."""
    ledger_cfg = getattr(policy, "ledger", None)
    configured = getattr(ledger_cfg, "path", None) if ledger_cfg is not None else None
    if configured:
        p = Path(configured).expanduser()
        return p if p.is_absolute() else Path(policy.path).parent / p
    return default_ledger_path(policy.client.name)


def resolve_ledger_path(ledger: Path | None, client: str | None, policy: Any | None) -> Path:
    """--ledger wins, then --client NAME, then the policy's client."""
    if ledger is not None:
        return ledger
    if client:
        return default_ledger_path(client)
    if policy is not None:
        return policy_ledger_path(policy)
    raise InputError(
        "which ledger? none given and no clientguard.toml found",
        hint="pass --ledger FILE or --client NAME, or run inside the client's repository",
    )


def parse_when(value: str | None, option: str, *, whole_day: bool = False) -> datetime | None:
    """Parse a --since/--until value: a date (YYYY-MM-DD, UTC) or an ISO 8601 time.

    With `whole_day` (for --until) a bare date means the end of that day, so
    `--since 2026-11-01 --until 2026-11-30` covers all of November.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {value!r} is not a date", hint="use YYYY-MM-DD or an ISO 8601 time such as 2026-11-26T09:30:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    if whole_day and len(text) == 10:
        parsed += timedelta(days=1)
    return parsed.astimezone(timezone.utc)
