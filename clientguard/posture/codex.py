"""OpenAI Codex CLI: config.toml and its profiles, auth.json (plan from the ID token), transcripts."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

from clientguard.posture.config_files import as_table, load_json, load_toml
from clientguard.posture.destinations import classify, host_of, is_loopback_host
from clientguard.posture.identity import TokenUnreadable, jwt_payload, mask_email
from clientguard.posture.model import AgentPosture, AuditContext
from clientguard.posture.secret_env import looks_secret_name
from clientguard.posture.transcripts import summarize

AGENT = "codex"
OPENAI_DEFAULT_BASE = "https://api.openai.com/v1"
CHATGPT_BACKEND = "https://chatgpt.com/backend-api/codex"
LOCAL_PROVIDERS = {"ollama": "http://localhost:11434/v1", "lmstudio": "http://localhost:1234/v1", "oss": "http://localhost:11434/v1"}

ROUTE_FIX = (
    "run Codex through clientguard: `clientguard run -- codex`, or add to config.toml:\n"
    'model_provider = "clientguard"\n'
    "[model_providers.clientguard]\n"
    'name = "clientguard"\n'
    'base_url = "http://127.0.0.1:8787/v1"\n'
    'env_key = "OPENAI_API_KEY"\n'
    'wire_api = "responses"\n'
    "supports_websockets = false"
)


def codex_home(ctx: AuditContext) -> Path:
    """$CODEX_HOME (when auditing this machine's own home) or ~/.codex."""
    override = ctx.env.get("CODEX_HOME") if ctx.honour_env_dirs else None
    return Path(override).expanduser() if override else ctx.home / ".codex"


def audit_codex(ctx: AuditContext) -> AgentPosture:
    """Read Codex's configuration, sign-in and local state under the home directory."""
    posture = AgentPosture(AGENT)
    home = codex_home(ctx)
    installed = bool(ctx.search_path and shutil.which("codex", path=ctx.env.get("PATH", "")))
    posture.found = home.is_dir() or installed
    if not posture.found:
        return posture

    base = _read_config(posture, home / "config.toml")
    layers: list[tuple[str, str, dict[str, Any]]] = []
    for name, table in sorted(as_table(base.get("profiles")).items()):
        layers.append((name, f"profile {name} [profiles.{name}]", _merge(base, as_table(table))))
    for path in sorted(home.glob("*.config.toml")):
        name = path.name.removesuffix(".config.toml")
        layers.append((name, f"profile {name} ({path.name})", _merge(base, _read_config(posture, path))))

    active_name = base.get("profile")
    effective = base
    if isinstance(active_name, str):
        active = as_table(as_table(base.get("profiles")).get(active_name))
        if active:
            effective = _merge(base, active)

    _read_auth(posture, home, ctx)
    store = base.get("cli_auth_credentials_store")
    if store in ("keyring", "auto") and posture.plan is None:
        posture.add("codex.credentials_in_keyring", "low",
                    f'cli_auth_credentials_store = "{store}": the sign-in lives in the OS keyring, which the audit does '
                    "not open, so the plan is unknown.",
                    "name the account in clientguard.toml [[accounts]] (provider and plan), and check the plan at "
                    "chatgpt.com › Settings › Account")
    _route(posture, effective, ctx)
    _check_layer(posture, base, "")
    base_ids = {f.id for f in posture.findings}
    for name, label, layer in layers:
        # A profile is reported only for what it changes: findings the base config already has are not repeated.
        scratch = AgentPosture(AGENT)
        _check_layer(scratch, layer, f" (in {label})")
        for finding in scratch.findings:
            if finding.id not in base_ids:
                posture.add(f"{finding.id}.profile.{name}", finding.severity, finding.message, finding.fix)
    _check_state(posture, home)
    return posture


def _read_config(posture: AgentPosture, path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    posture.add_config_path(path)
    loaded = load_toml(path)
    if not loaded.ok:
        posture.add(
            "codex.config_unreadable",
            "high",
            f"{loaded.error}. Codex refuses to start with it, and clientguard cannot check it.",
            f"fix the TOML syntax in {path} (`codex --strict-config exec true` shows the same error)",
        )
        return {}
    return as_table(loaded.data)


def _merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """A profile layered over the base config, tables merged key by key."""
    merged = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_auth(posture: AgentPosture, home: Path, ctx: AuditContext) -> None:
    path = home / "auth.json"
    if path.is_file():
        posture.add_config_path(path)
        _check_permissions(posture, path)
        loaded = load_json(path)
        if not loaded.ok:
            posture.add("codex.auth_unreadable", "medium", f"{loaded.error}; the sign-in and its plan are unknown.",
                        "sign in again: `codex logout && codex login`")
            return
        auth = as_table(loaded.data)
        tokens = as_table(auth.get("tokens"))
        if tokens.get("id_token"):
            _plan_from_id_token(posture, tokens["id_token"], path)
            return
        if auth.get("OPENAI_API_KEY"):
            posture.provider, posture.plan, posture.plan_source = "openai", "api", f"{path} (API key)"
            return
    for name in ("CODEX_API_KEY", "OPENAI_API_KEY"):
        if ctx.env.get(name):
            posture.provider, posture.plan, posture.plan_source = "openai", "api", f"environment variable {name}"
            return
    if ctx.env.get("CODEX_ACCESS_TOKEN"):
        posture.provider, posture.plan_source = "openai", "environment variable CODEX_ACCESS_TOKEN (agent identity)"
        return
    posture.add("codex.not_signed_in", "info", "no Codex sign-in found (no auth.json, no API key in the environment); "
                "if credentials live in the OS keyring (cli_auth_credentials_store), the plan cannot be read locally.",
                "nothing to do if you sign in through `clientguard run`")


def _plan_from_id_token(posture: AgentPosture, token: object, path: Path) -> None:
    posture.provider = "openai"
    try:
        claims = jwt_payload(token)  # type: ignore[arg-type]
    except TokenUnreadable as exc:
        posture.add("codex.id_token_unreadable", "medium",
                    f"{path}: the ChatGPT sign-in's ID token cannot be decoded ({exc}); the plan is unknown.",
                    "sign in again: `codex logout && codex login`")
        return
    auth_claims = as_table(claims.get("https://api.openai.com/auth"))
    plan = auth_claims.get("chatgpt_plan_type")
    email = claims.get("email") or as_table(claims.get("https://api.openai.com/profile")).get("email")
    who = mask_email(email) or "unknown e-mail"
    if not isinstance(plan, str) or not plan:
        posture.add("codex.plan_unknown", "medium",
                    f"ChatGPT sign-in ({who}) without a chatgpt_plan_type claim; the plan is unknown.",
                    "check the plan at chatgpt.com › Settings › Account and name it in clientguard.toml [[accounts]]")
        return
    posture.plan = plan.lower()
    posture.plan_source = f"{path} (ChatGPT sign-in {who}, chatgpt_plan_type claim)"
    posture.notes.append(f"signed in with ChatGPT as {who}, plan {posture.plan}")


def _check_permissions(posture: AgentPosture, path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        posture.add("codex.auth_file_readable_by_others", "info",
                    f"{path} holds Codex credentials and is readable by other users (mode {mode:o}).",
                    f"chmod 600 {path}")


def _route(posture: AgentPosture, config: dict[str, Any], ctx: AuditContext) -> None:
    """Work out where model requests go: the active model_provider and its base URL."""
    provider_id = config.get("model_provider", "openai")
    if not isinstance(provider_id, str):
        provider_id = "openai"
    providers = as_table(config.get("model_providers"))
    entry = as_table(providers.get(provider_id))
    base_url: str | None
    if provider_id == "openai":
        base_url = config.get("openai_base_url") or as_table(providers.get("openai")).get("base_url")
        if base_url is not None and not isinstance(base_url, str):
            posture.add("codex.bad_base_url", "medium", f"openai_base_url is {base_url!r}, not a URL; Codex rejects it.",
                        'openai_base_url = "http://127.0.0.1:8787/v1"')
            base_url = None
        if not base_url and ctx.env.get("OPENAI_BASE_URL"):
            base_url = ctx.env["OPENAI_BASE_URL"]
            posture.add("codex.openai_base_url_env_ignored", "medium",
                        "OPENAI_BASE_URL is set, but Codex (0.169, 0.171) ignores it for the built-in openai provider: "
                        "requests still go to OpenAI directly.",
                        ROUTE_FIX)
            base_url = None
        if not base_url:
            base_url = CHATGPT_BACKEND if posture.plan and posture.plan != "api" else OPENAI_DEFAULT_BASE
    elif entry:
        base_url = entry.get("base_url") if isinstance(entry.get("base_url"), str) else None
        _check_provider_entry(posture, provider_id, entry)
    else:
        base_url = LOCAL_PROVIDERS.get(provider_id) or ctx.env.get("CODEX_OSS_BASE_URL")
    destination = classify(base_url) if base_url else "unknown"
    if not posture.note_route(str(config.get("model") or "default"), base_url, destination):
        if destination == "local_model":
            posture.add("codex.local_model", "info", f"model provider {provider_id!r} is a local model server ({base_url}).")
    else:
        host = host_of(base_url or "") or "an unknown host"
        posture.add("codex.direct_to_provider", "medium",
                    f"model provider {provider_id!r} sends prompts and tool output straight to {host}: "
                    "secrets and client identifiers in them are not redacted and no egress is recorded.",
                    ROUTE_FIX)


def _check_provider_entry(posture: AgentPosture, provider_id: str, entry: dict[str, Any]) -> None:
    if entry.get("experimental_bearer_token"):
        posture.add(f"codex.inline_token.{provider_id}", "high",
                    f"[model_providers.{provider_id}] stores a bearer token in plain text (experimental_bearer_token).",
                    f"remove experimental_bearer_token and set env_key = \"OPENAI_API_KEY\" in [model_providers.{provider_id}]")
    if entry.get("wire_api") == "chat":
        posture.add(f"codex.wire_api_chat.{provider_id}", "medium",
                    f"[model_providers.{provider_id}] uses wire_api = \"chat\", which Codex (0.169, 0.171) no longer accepts.",
                    f'set wire_api = "responses" in [model_providers.{provider_id}]')


def _check_layer(posture: AgentPosture, config: dict[str, Any], where: str) -> None:
    """Findings for one configuration layer (the base config or a profile over it)."""
    sandbox = config.get("sandbox_mode")
    approval = config.get("approval_policy")
    if sandbox == "danger-full-access":
        extra = " and approval_policy = \"never\": commands run unreviewed" if approval == "never" else ""
        posture.add("codex.sandbox_full_access", "high",
                    f"sandbox_mode = \"danger-full-access\"{extra}{where}: the agent can read every file "
                    "(~/.ssh, ~/.aws, other clients' repositories) and reach the network.",
                    'sandbox_mode = "workspace-write"\napproval_policy = "on-request"')
    if as_table(config.get("sandbox_workspace_write")).get("network_access") is True:
        posture.add("codex.sandbox_network", "medium",
                    f"[sandbox_workspace_write] network_access = true{where}: commands the model runs can send "
                    "files anywhere, around the gateway.",
                    "[sandbox_workspace_write]\nnetwork_access = false")

    env_policy = as_table(config.get("shell_environment_policy"))
    if env_policy.get("inherit", "all") == "all" and env_policy.get("ignore_default_excludes") is True:
        posture.add("codex.shell_env_inherits_secrets", "high",
                    f"[shell_environment_policy] inherits every variable with the default KEY/SECRET/TOKEN "
                    f"excludes switched off{where}: secrets reach tool output, and from there the prompts.",
                    '[shell_environment_policy]\ninherit = "core"\nignore_default_excludes = false')

    _check_otel(posture, as_table(config.get("otel")), where)

    history = as_table(config.get("history"))
    if history.get("persistence", "save-all") != "none":
        posture.add("codex.history_saved", "low",
                    f"prompt history is saved to history.jsonl{where} (client data at rest).",
                    '[history]\npersistence = "none"')
    analytics = config.get("analytics")
    if not (isinstance(analytics, dict) and analytics.get("enabled") is False):
        posture.add("codex.analytics_on", "low",
                    f"Codex sends usage analytics to OpenAI{where}; this traffic does not pass through the gateway.",
                    "[analytics]\nenabled = false")
    if as_table(config.get("features")).get("plugins") is not False:
        posture.add("codex.plugins_sync", "low",
                    f"Codex's plugin system{where} syncs marketplaces and catalogs at every start: Codex (0.169, 0.171) "
                    "opened chatgpt.com, api.github.com and github.com (through git) with a custom provider and "
                    "an API key; this traffic does not pass through the gateway (clientguard run switches it off).",
                    "[features]\nplugins = false")
    if as_table(config.get("feedback")).get("enabled") is not False:
        posture.add("codex.feedback_uploads_transcript", "low",
                    "/feedback uploads the whole session transcript (tool output included) to OpenAI.",
                    "[feedback]\nenabled = false")
    notify = config.get("notify")
    if notify:
        program = notify[0] if isinstance(notify, list) and notify else notify
        posture.add("codex.notify_program", "low",
                    f"notify runs {program!s}{where} with the last assistant message and the input messages "
                    "as JSON: check that it keeps them on this machine.",
                    "remove the notify line from config.toml, or point it at a local-only program")
    for name, server in as_table(config.get("mcp_servers")).items():
        server = as_table(server)
        secret_vars = sorted(k for k, v in as_table(server.get("env")).items() if v and looks_secret_name(str(k)))
        secret_headers = sorted(k for k, v in as_table(server.get("http_headers")).items()
                                if v and (str(k).lower() == "authorization" or looks_secret_name(str(k))))
        if secret_vars or secret_headers:
            what = ", ".join(secret_vars + secret_headers)
            posture.add(f"codex.mcp_inline_secret.{name}", "high",
                        f"MCP server {name!r} has secrets written into config.toml ({what}){where}.",
                        f"[mcp_servers.{name}]\nenv_vars = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in secret_vars)}]"
                        "  # pass them from the environment (or bearer_token_env_var for HTTP servers)")


def _check_otel(posture: AgentPosture, otel: dict[str, Any], where: str) -> None:
    exporter = otel.get("exporter", "none")
    endpoint: str | None = None
    if isinstance(exporter, dict):
        for kind, settings in exporter.items():
            endpoint = as_table(settings).get("endpoint") or endpoint
            exporter = kind
    if exporter not in (None, "none"):
        off_host = endpoint is None or not is_loopback_host(host_of(str(endpoint)))
        if off_host:
            posture.add("codex.otel_export_off_machine", "medium",
                        f"[otel] exports agent events ({exporter}) to {host_of(str(endpoint or '')) or 'a remote collector'}"
                        f"{where}: tool calls, their output and user e-mail leave the machine outside the gateway.",
                        '[otel]\nexporter = "none"  # or an endpoint on 127.0.0.1 that the client approved')
    if otel.get("log_user_prompt") is True:
        posture.add("codex.otel_logs_prompts", "high",
                    f"[otel] log_user_prompt = true{where}: prompt text is written into telemetry events.",
                    "[otel]\nlog_user_prompt = false")


def _check_state(posture: AgentPosture, home: Path) -> None:
    sessions = summarize(home / "sessions", (".jsonl",))
    if sessions:
        posture.add("codex.session_transcripts", "medium",
                    f"{sessions.directory} holds full session transcripts including tool output "
                    f"({sessions.describe()}): client secrets that a command printed are stored there.",
                    f"run `codex exec --ephemeral` for client work, and delete old transcripts: rm -r {sessions.directory}")
    history_file = home / "history.jsonl"
    if history_file.is_file() and history_file.stat().st_size:
        posture.notes.append(f"history.jsonl: {history_file.stat().st_size} bytes of prompt history")
