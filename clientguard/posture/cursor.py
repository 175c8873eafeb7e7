"""Cursor: privacy mode and membership from its local state database, read-only; audit only (cannot be routed)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from clientguard.posture.identity import mask_email
from clientguard.posture.model import AgentPosture, AuditContext, ModelRoute

AGENT = "cursor"
STATE_DB_LOCATIONS = (
    ".config/Cursor/User/globalStorage/state.vscdb",                   # Linux
    "Library/Application Support/Cursor/User/globalStorage/state.vscdb",  # macOS
    "AppData/Roaming/Cursor/User/globalStorage/state.vscdb",           # Windows
)
# Only these keys are ever read; the access and refresh tokens in the same table are not.
KEYS = (
    "cursorai/donotchange/newPrivacyMode2",
    "cursorai/donotchange/privacyMode",
    "cursorAuth/stripeMembershipType",
    "cursorAuth/cachedEmail",
)
PRIVACY_MODES = {
    "PRIVACY_MODE_NO_STORAGE": ("on", "Privacy Mode (legacy, no storage)"),
    "PRIVACY_MODE_NO_TRAINING": ("on", "Privacy Mode (no training; Cursor may store code for features)"),
    "PRIVACY_MODE_USAGE_DATA_TRAINING_ALLOWED": ("off", "Privacy Mode off: usage data may be used for training"),
    "PRIVACY_MODE_USAGE_CODEBASE_TRAINING_ALLOWED": ("off", "Privacy Mode off: code may be stored and used for training"),
}
CHECK_FIX = ("open Cursor › Settings › General › Privacy Mode and choose \"Privacy Mode\"; on a team plan ask the admin "
             "whether it is enforced; then record it in clientguard.toml: privacy_mode = true on the cursor account")


def audit_cursor(ctx: AuditContext) -> AgentPosture:
    """Read Cursor's cached privacy mode and plan; say where to check when they cannot be read."""
    posture = AgentPosture(AGENT, provider="cursor")
    databases = [ctx.home / rel for rel in STATE_DB_LOCATIONS if (ctx.home / rel).is_file()]
    app_dirs = [ctx.home / ".cursor", ctx.home / ".config/Cursor", ctx.home / "Library/Application Support/Cursor"]
    posture.found = bool(databases) or any(d.is_dir() for d in app_dirs)
    if not posture.found:
        posture.provider = None
        return posture
    posture.routed_through_clientguard = None
    posture.routes.append(ModelRoute("cursor", "cursor", None, "https://api2.cursor.sh", "provider"))
    posture.add("cursor.cannot_route", "medium",
                "Cursor sends every request through Cursor's own servers, even with your own API key, so "
                "clientguard cannot redact or record it; only the privacy mode protects the client's code.",
                "for work under an NDA use an agent clientguard can route (`clientguard run -- codex` or `-- claude`), "
                "or keep Cursor's Privacy Mode on")
    _check_ignore_file(posture, ctx)
    if not databases:
        posture.add("cursor.privacy_mode_unknown", "medium",
                    "Cursor's state database was not found, so its privacy mode cannot be read locally.", CHECK_FIX)
        return posture
    values = _read_keys(posture, databases[0])
    if values is None:
        return posture
    membership = values.get("cursorAuth/stripeMembershipType")
    who = mask_email(values.get("cursorAuth/cachedEmail"))
    mode, label = _privacy_mode(values)
    posture.plan = membership.lower() if membership else None
    if mode is not None:
        posture.account_facts["privacy_mode"] = mode == "on"
    posture.plan_source = f"{databases[0]} (cached by Cursor; the server's setting is authoritative)"
    if membership:
        posture.notes.append(f"Cursor plan {membership}" + (f", signed in as {who}" if who else ""))
    if mode == "on":
        posture.notes.append(label)
    elif mode == "off":
        posture.add("cursor.privacy_mode_off", "high", f"{label} (cached value in {databases[0].name}).", CHECK_FIX)
    else:
        posture.add("cursor.privacy_mode_unknown", "medium",
                    f"the privacy mode is not recorded in {databases[0]}; it cannot be read locally.", CHECK_FIX)
    return posture


def _read_keys(posture: AgentPosture, path: Path) -> dict[str, str] | None:
    posture.add_config_path(path)
    try:
        # Read-only and query-only: Cursor may hold the database open, and the audit never writes.
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            connection.execute("PRAGMA query_only = ON")
            placeholders = ",".join("?" for _ in KEYS)
            rows = connection.execute(
                f"SELECT key, value FROM ItemTable WHERE key IN ({placeholders})", KEYS).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        posture.add("cursor.state_unreadable", "medium",
                    f"{path}: cannot be read as Cursor's state database ({exc}); the privacy mode is unknown.",
                    CHECK_FIX)
        return None
    return {str(k): (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for k, v in rows}


def _privacy_mode(values: dict[str, str]) -> tuple[str | None, str]:
    raw = values.get("cursorai/donotchange/newPrivacyMode2")
    if raw:
        try:
            mode = json.loads(raw).get("privacyMode")
        except (ValueError, AttributeError):
            mode = None
        if mode in PRIVACY_MODES:
            return PRIVACY_MODES[mode]
    legacy = values.get("cursorai/donotchange/privacyMode")
    if legacy in ("true", "false"):
        return ("on", "Privacy Mode on (legacy setting)") if legacy == "true" else ("off", "Privacy Mode off (legacy setting)")
    return None, ""


def _check_ignore_file(posture: AgentPosture, ctx: AuditContext) -> None:
    """.cursorignore keeps files out of Cursor's AI features and index: the repo's .env files should be in it."""
    if ctx.repo is None or not ctx.repo.is_dir():
        return
    env_files = sorted(p.name for p in ctx.repo.glob(".env*") if p.is_file()
                       and not p.name.endswith((".example", ".sample", ".template")))
    if not env_files:
        return
    ignore = ctx.repo / ".cursorignore"
    patterns: set[str] = set()
    if ignore.is_file():
        posture.add_config_path(ignore)
        try:
            patterns = {line.strip().lstrip("/") for line in ignore.read_text("utf-8", errors="replace").splitlines()}
        except OSError:
            patterns = set()
    if patterns & {".env", ".env*", ".env.*", "*.env", "**/.env*", "**/.env"}:
        return
    posture.add("cursor.env_files_not_ignored", "medium",
                f"the repository has {', '.join(env_files)} and no .cursorignore entry keeps them out of Cursor's "
                "AI features and codebase index.",
                f"add to {ignore}:\n.env*\nsecrets/")
