"""Claude Code: managed, user, project and local settings, ~/.claude.json, the sign-in, transcripts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from clientguard.posture.config_files import as_table, load_json
from clientguard.posture.destinations import classify, host_of, is_loopback_host
from clientguard.posture.identity import mask_email
from clientguard.posture.model import AgentPosture, AuditContext
from clientguard.posture.secret_env import looks_secret_name
from clientguard.posture.transcripts import summarize

AGENT = "claude-code"
ANTHROPIC_DEFAULT_BASE = "https://api.anthropic.com"

TELEMETRY_FIX = (
    'add to ~/.claude/settings.json (or let `clientguard run -- claude` set them):\n'
    '{\n  "env": {\n    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",\n'
    '    "DISABLE_TELEMETRY": "1",\n    "DISABLE_ERROR_REPORTING": "1",\n    "DISABLE_BUG_COMMAND": "1"\n  }\n}'
)
ROUTE_FIX = (
    "run Claude Code through clientguard: `clientguard run -- claude`, or add to ~/.claude/settings.json:\n"
    '{ "env": { "ANTHROPIC_BASE_URL": "http://127.0.0.1:8787" } }'
)
ENV_GUARD_FIX = (
    "add to .claude/settings.json in the repository:\n"
    '{\n  "permissions": {\n    "deny": ["Read(./.env)", "Read(./.env.*)", "Read(./secrets/**)", "Bash(cat .env*)"]\n  }\n}'
)


def claude_dirs(ctx: AuditContext) -> tuple[Path, Path]:
    """(config dir, global state file): $CLAUDE_CONFIG_DIR or ~/.claude, and ~/.claude.json."""
    override = ctx.env.get("CLAUDE_CONFIG_DIR") if ctx.honour_env_dirs else None
    if override:
        directory = Path(override).expanduser()
        return directory, directory / ".claude.json"
    return ctx.home / ".claude", ctx.home / ".claude.json"


def audit_claude_code(ctx: AuditContext) -> AgentPosture:
    """Read Claude Code's settings layers, sign-in and local state."""
    posture = AgentPosture(AGENT)
    config_dir, state_file = claude_dirs(ctx)
    installed = bool(ctx.search_path and shutil.which("claude", path=ctx.env.get("PATH", "")))
    posture.found = config_dir.is_dir() or state_file.is_file() or installed
    if not posture.found:
        return posture

    # Lowest precedence first, so later layers win key by key (managed settings win over everything).
    layers: list[tuple[str, Path, dict[str, Any]]] = []
    user_settings = config_dir / "settings.json"
    layers += _read_layer(posture, "user", user_settings)
    if ctx.repo is not None:
        layers += _read_layer(posture, "project", ctx.repo / ".claude" / "settings.json")
        layers += _read_layer(posture, "local", ctx.repo / ".claude" / "settings.local.json")
    for managed in ctx.managed_settings:
        if managed.is_dir():
            for path in sorted(managed.glob("*.json")):
                layers += _read_layer(posture, "managed", path)
        else:
            layers += _read_layer(posture, "managed", managed)

    env: dict[str, str] = {k: v for k, v in ctx.env.items()}
    for _kind, _path, settings in layers:
        env.update({str(k): str(v) for k, v in as_table(settings.get("env")).items() if v is not None})
    merged: dict[str, Any] = {}
    for _kind, _path, settings in layers:
        merged.update(settings)

    state = _read_state(posture, state_file)
    for kind, path, settings in layers:
        _check_inline_secrets(posture, kind, path, settings)
    _check_mcp_secrets(posture, state_file, state)
    _sign_in(posture, config_dir, state_file, state, env, merged)
    _route(posture, env)
    _check_telemetry(posture, env, layers)
    _check_guards(posture, ctx, layers)
    _check_transcripts(posture, config_dir, merged)
    return posture


def _read_layer(posture: AgentPosture, kind: str, path: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    if not path.is_file():
        return []
    posture.add_config_path(path)
    loaded = load_json(path)
    if not loaded.ok:
        posture.add(f"claude.settings_unreadable.{kind}", "high",
                    f"{loaded.error}. Claude Code ignores or rejects this {kind} settings file, so the "
                    "protections in it are not in force.",
                    f"fix the JSON in {path} (`python -m json.tool {path}` shows where)")
        return []
    if not isinstance(loaded.data, dict):
        posture.add(f"claude.settings_unreadable.{kind}", "high",
                    f"{path}: expected a JSON object, found {type(loaded.data).__name__}.",
                    f"make {path} a JSON object: {{ }}")
        return []
    return [(kind, path, loaded.data)]


def _read_state(posture: AgentPosture, path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    posture.add_config_path(path)
    loaded = load_json(path)
    if not loaded.ok:
        posture.add("claude.state_unreadable", "low", f"{loaded.error}; account details there cannot be read.",
                    "Claude Code rewrites this file on the next start; if it stays broken, move it aside")
        return {}
    return as_table(loaded.data)


def _sign_in(posture: AgentPosture, config_dir: Path, state_file: Path, state: dict[str, Any], env: dict[str, str],
             settings: dict[str, Any]) -> None:
    """Which terms the requests go under: Bedrock/Vertex, an API key, or a claude.ai subscription."""
    posture.provider = "anthropic"
    if env.get("CLAUDE_CODE_USE_BEDROCK") not in (None, "", "0"):
        posture.provider, posture.plan, posture.plan_source = "aws-bedrock", "api", "CLAUDE_CODE_USE_BEDROCK"
        return
    if env.get("CLAUDE_CODE_USE_VERTEX") not in (None, "", "0"):
        posture.provider, posture.plan, posture.plan_source = "google-vertex", "api", "CLAUDE_CODE_USE_VERTEX"
        return
    if env.get("CLAUDE_CODE_USE_FOUNDRY") not in (None, "", "0"):
        posture.provider, posture.plan, posture.plan_source = "azure-foundry", "api", "CLAUDE_CODE_USE_FOUNDRY"
        return
    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"):
        if env.get(name):
            posture.plan, posture.plan_source = "api", f"{name} (API terms)"
            return
    if settings.get("apiKeyHelper"):
        posture.plan, posture.plan_source = "api", "apiKeyHelper in settings (API terms)"
        return

    account = as_table(state.get("oauthAccount"))
    who = mask_email(account.get("emailAddress")) or "unknown e-mail"
    credentials = config_dir / ".credentials.json"
    if credentials.is_file():
        posture.add_config_path(credentials)
        loaded = load_json(credentials)
        if not loaded.ok:
            posture.add("claude.credentials_unreadable", "medium", f"{loaded.error}; the subscription is unknown.",
                        "sign in again: `claude /login`")
            return
        oauth = as_table(as_table(loaded.data).get("claudeAiOauth"))
        if oauth:
            subscription = oauth.get("subscriptionType")
            posture.plan = subscription.lower() if isinstance(subscription, str) and subscription else "free"
            posture.plan_source = f"{credentials} (claude.ai sign-in {who}, subscriptionType)"
            posture.notes.append(f"signed in to claude.ai as {who}, plan {posture.plan}")
            return
    if account:
        # No credentials file (macOS keeps it in the Keychain, which the audit does not open): a seat
        # or workspace role means a Team/Enterprise seat. A heuristic, and the message says so.
        seat = account.get("seatTier") or account.get("workspaceRole")
        posture.plan = "team" if seat else "pro"
        posture.plan_source = f"{state_file} oauthAccount (heuristic)"
        posture.add("claude.plan_heuristic", "low",
                    f"claude.ai sign-in ({who}) whose subscription is kept in the OS keychain; "
                    f"plan guessed as {posture.plan!r} from ~/.claude.json ({'seat' if seat else 'no seat'} information).",
                    "check the plan at claude.ai › Settings › Billing and name it in clientguard.toml [[accounts]]")
        return
    posture.plan = None
    posture.add("claude.not_signed_in", "info", "no Claude Code sign-in or API key found.",
                "nothing to do if you start it with `clientguard run -- claude`")


def _route(posture: AgentPosture, env: dict[str, str]) -> None:
    base_url = env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT_BASE
    if posture.provider in ("aws-bedrock", "google-vertex", "azure-foundry"):
        var = {"aws-bedrock": "ANTHROPIC_BEDROCK_BASE_URL", "google-vertex": "ANTHROPIC_VERTEX_BASE_URL",
               "azure-foundry": "ANTHROPIC_FOUNDRY_BASE_URL"}[posture.provider]
        base_url = env.get(var) or f"{posture.provider} endpoint"
    destination = classify(base_url) if "://" in base_url else "provider"
    if posture.note_route(env.get("ANTHROPIC_MODEL", "default"), base_url, destination):
        posture.add("claude.direct_to_provider", "medium",
                    f"Claude Code sends prompts and tool results straight to {host_of(base_url) or base_url}: "
                    "secrets and client identifiers in them are not redacted and no egress is recorded.",
                    ROUTE_FIX)


def _check_telemetry(posture: AgentPosture, env: dict[str, str], layers: list[tuple[str, Path, dict[str, Any]]]) -> None:
    off_by_provider = posture.provider in ("aws-bedrock", "google-vertex")
    # Only this switch stops all of it: Claude Code 2.1.197 and 2.1.332 behind a recording proxy still opened
    # api.anthropic.com itself with DISABLE_TELEMETRY and DISABLE_ERROR_REPORTING (and the autoupdater
    # and /bug switches) set, and nothing with CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 alone.
    switched_off = env.get("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC") not in (None, "", "0")
    if not off_by_provider and not switched_off:
        quieter = all(env.get(name) not in (None, "", "0") for name in ("DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING"))
        posture.add("claude.telemetry_on", "medium",
                    "Claude Code's own telemetry and error reports (Statsig, Sentry, Datadog) go to its vendors "
                    "directly, not through ANTHROPIC_BASE_URL, so the gateway cannot see or redact them."
                    + (" DISABLE_TELEMETRY and DISABLE_ERROR_REPORTING are set, but Claude Code (2.1.197, 2.1.332) still "
                       "opened api.anthropic.com on its own with them (measured); only "
                       "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 stopped it." if quieter else ""),
                    TELEMETRY_FIX)
    if not off_by_provider and env.get("DISABLE_BUG_COMMAND") in (None, "", "0") and \
            env.get("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC") in (None, "", "0"):
        posture.add("claude.feedback_uploads_transcript", "low",
                    "/bug (/feedback) uploads the whole session transcript to Anthropic, kept for 5 years.",
                    '{ "env": { "DISABLE_BUG_COMMAND": "1" } }  # in ~/.claude/settings.json')
    if env.get("CLAUDE_CODE_ENABLE_TELEMETRY") not in (None, "", "0"):
        endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        if not endpoint or not is_loopback_host(host_of(endpoint)):
            posture.add("claude.otel_export_off_machine", "medium",
                        f"OpenTelemetry export is on (CLAUDE_CODE_ENABLE_TELEMETRY) to "
                        f"{host_of(endpoint or '') or 'an unspecified collector'}: tool events leave the machine outside the gateway.",
                        "remove CLAUDE_CODE_ENABLE_TELEMETRY, or point OTEL_EXPORTER_OTLP_ENDPOINT at a collector the client approved")
        if env.get("OTEL_LOG_USER_PROMPTS") not in (None, "", "0"):
            posture.add("claude.otel_logs_prompts", "high",
                        "OTEL_LOG_USER_PROMPTS is on: prompt text is written into telemetry events.",
                        "remove OTEL_LOG_USER_PROMPTS from the environment and every settings.json env block")


def _check_inline_secrets(posture: AgentPosture, kind: str, path: Path, settings: dict[str, Any]) -> None:
    names = sorted(str(k) for k, v in as_table(settings.get("env")).items() if v and looks_secret_name(str(k)))
    if not names:
        return
    committed = " This file is usually committed with the repository." if kind == "project" else ""
    posture.add(f"claude.inline_secret.{kind}", "high",
                f"{path} stores secrets in its env block ({', '.join(names)}).{committed}",
                f"remove {', '.join(names)} from the env block of {path}; use \"apiKeyHelper\" "
                "or export them in the shell that starts the agent")


def _check_mcp_secrets(posture: AgentPosture, state_file: Path, state: dict[str, Any]) -> None:
    servers: dict[str, Any] = dict(as_table(state.get("mcpServers")))
    for project in as_table(state.get("projects")).values():
        servers.update(as_table(as_table(project).get("mcpServers")))
    for name, server in sorted(servers.items()):
        server = as_table(server)
        secret_vars = sorted(str(k) for k, v in as_table(server.get("env")).items() if v and looks_secret_name(str(k)))
        secret_headers = sorted(str(k) for k, v in as_table(server.get("headers")).items()
                                if v and (str(k).lower() == "authorization" or looks_secret_name(str(k))))
        if secret_vars or secret_headers:
            posture.add(f"claude.mcp_inline_secret.{name}", "high",
                        f"MCP server {name!r} in {state_file} has secrets written inline ({', '.join(secret_vars + secret_headers)}).",
                        f'reference them from the environment instead: "env": {{"{(secret_vars or secret_headers)[0]}": "${{{(secret_vars or secret_headers)[0]}}}"}}')


def _guard_text(layers: list[tuple[str, Path, dict[str, Any]]]) -> tuple[list[str], bool]:
    deny: list[str] = []
    has_hook = False
    for _kind, _path, settings in layers:
        rules = as_table(settings.get("permissions")).get("deny")
        if isinstance(rules, list):
            deny += [str(r) for r in rules]
        hooks = as_table(settings.get("hooks"))
        if hooks.get("PreToolUse") or hooks.get("UserPromptSubmit"):
            has_hook = True
    return deny, has_hook


def _check_guards(posture: AgentPosture, ctx: AuditContext, layers: list[tuple[str, Path, dict[str, Any]]]) -> None:
    if ctx.repo is None or not ctx.repo.is_dir():
        return
    env_files = sorted(p.name for p in ctx.repo.glob(".env*") if p.is_file() and not p.name.endswith((".example", ".sample", ".template")))
    if not env_files:
        return
    deny, has_hook = _guard_text(layers)
    guarded = has_hook or any(".env" in rule for rule in deny)
    if guarded:
        posture.notes.append("permission rules or hooks guard .env files")
        return
    posture.add("claude.env_files_unguarded", "low",
                f"the repository has {', '.join(env_files)} and no permission rule or hook keeps Claude Code "
                "from reading them (the gateway still redacts what it recognises).",
                ENV_GUARD_FIX)


def _check_transcripts(posture: AgentPosture, config_dir: Path, settings: dict[str, Any]) -> None:
    summary = summarize(config_dir / "projects", (".jsonl",))
    if not summary:
        return
    period = settings.get("cleanupPeriodDays", 30)
    posture.add("claude.session_transcripts", "medium",
                f"{summary.directory} holds full session transcripts ({summary.describe()}), kept "
                f"{period} days (cleanupPeriodDays): client secrets that a tool printed are stored there.",
                '{ "cleanupPeriodDays": 7 }  # in ~/.claude/settings.json; and delete old client sessions')
