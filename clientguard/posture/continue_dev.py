"""Continue: config.yaml / config.json model entries (chat, autocomplete, embeddings), telemetry, sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clientguard.posture.config_files import as_table, load_json, load_yaml
from clientguard.posture.destinations import classify, host_of
from clientguard.posture.model import AgentPosture, AuditContext, ModelRoute
from clientguard.posture.transcripts import summarize

AGENT = "continue"
DEFAULT_BASES = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434",
    "lmstudio": "http://localhost:1234/v1",
    "mistral": "https://api.mistral.ai/v1",
    "gemini": "https://generativelanguage.googleapis.com",
    "deepseek": "https://api.deepseek.com",
    "openrouter": "https://openrouter.ai/api/v1",
    "voyage": "https://api.voyageai.com/v1",
    "cohere": "https://api.cohere.com",
    "free-trial": "https://api.continue.dev",
    "continue-proxy": "https://api.continue.dev",
}
PROVIDER_NAMES = {"gemini": "google", "free-trial": "continue", "continue-proxy": "continue", "lmstudio": "ollama"}


def audit_continue(ctx: AuditContext) -> AgentPosture:
    """Read every model entry Continue is configured with and where each one sends code."""
    posture = AgentPosture(AGENT)
    home_dir = ctx.home / ".continue"
    files = [p for p in (home_dir / "config.yaml", home_dir / "config.json") if p.is_file()]
    if ctx.repo is not None:
        files += sorted((ctx.repo / ".continue" / "models").glob("*.yaml"))
        if (ctx.repo / ".continuerc.json").is_file():
            files.append(ctx.repo / ".continuerc.json")
    posture.found = home_dir.is_dir() or bool(files)
    if not posture.found:
        return posture

    entries: list[tuple[str, dict[str, Any], Path]] = []
    telemetry: object = None
    for path in files:
        posture.add_config_path(path)
        loaded = load_json(path, allow_comments=True) if path.suffix == ".json" else load_yaml(path)
        if not loaded.ok or not isinstance(loaded.data, (dict, type(None))):
            error = loaded.error or f"{path}: expected a mapping at the top level"
            posture.add(f"continue.config_unreadable.{path.name}", "high",
                        f"{error}. Continue falls back to its defaults, and clientguard cannot check it.",
                        f"fix the syntax in {path}")
            continue
        data = as_table(loaded.data)
        if "allowAnonymousTelemetry" in data:
            telemetry = data["allowAnonymousTelemetry"]
        entries += _model_entries(data, path)

    if not entries and files:
        posture.add("continue.no_models", "info", "no model entries found in Continue's configuration.")
    for label, entry, path in entries:
        _check_entry(posture, label, entry, path)

    remote = [r for r in posture.routes if r.destination == "provider"]
    if posture.routes:
        first = remote[0] if remote else posture.routes[0]
        posture.provider, posture.plan = first.provider, first.plan
        posture.routed_through_clientguard = not remote and any(r.destination == "clientguard" for r in posture.routes)
        posture.local_only = all(r.destination == "local_model" for r in posture.routes)
        posture.plan_source = "Continue model entries (API keys: API terms)"

    vscode_off = _vscode_telemetry_setting(ctx) is False
    if telemetry is not False and not vscode_off:
        posture.add("continue.telemetry_on", "low",
                    "Continue's anonymous telemetry (PostHog) is on unless switched off; it goes around the gateway.",
                    "add to ~/.continue/config.yaml:\nallowAnonymousTelemetry: false\n"
                    'and in VS Code settings: "continue.telemetryEnabled": false')
    sessions = summarize(home_dir / "sessions", (".json",))
    if sessions:
        posture.add("continue.session_transcripts", "low",
                    f"{sessions.directory} holds chat transcripts ({sessions.describe()}).",
                    f"delete the sessions of client work: rm {sessions.directory}/*.json")
    return posture


def _model_entries(data: dict[str, Any], path: Path) -> list[tuple[str, dict[str, Any], Path]]:
    """Every model entry, autocomplete and embeddings included, labelled by role."""
    out: list[tuple[str, dict[str, Any], Path]] = []
    models = data.get("models")
    if isinstance(models, list):
        for model in models:
            if isinstance(model, dict) and ("provider" in model or "model" in model):
                roles = model.get("roles")
                roles = [str(r) for r in roles] if isinstance(roles, list) and roles else \
                    [roles] if isinstance(roles, str) else ["chat"]
                out.append((f"{model.get('name') or model.get('model')} ({', '.join(roles)})", model, path))
    autocomplete = data.get("tabAutocompleteModel")
    for entry in autocomplete if isinstance(autocomplete, list) else [autocomplete]:
        if isinstance(entry, dict):
            out.append((f"{entry.get('title') or entry.get('model')} (autocomplete)", entry, path))
    embeddings = data.get("embeddingsProvider")
    if isinstance(embeddings, dict):
        out.append((f"{embeddings.get('model') or embeddings.get('provider')} (embeddings)", embeddings, path))
    return out


def _check_entry(posture: AgentPosture, label: str, entry: dict[str, Any], path: Path) -> None:
    provider_id = str(entry.get("provider") or "openai")
    base = entry.get("apiBase") or DEFAULT_BASES.get(provider_id)
    base = str(base) if base else None
    destination = classify(base) if base else "unknown"
    provider = PROVIDER_NAMES.get(provider_id, provider_id)
    plan = "local" if destination == "local_model" else "api"
    model_name = str(entry.get("model") or "")
    if destination == "local_model":
        provider = "ollama"
    posture.routes.append(ModelRoute(label, provider, plan, base, destination))
    slug = "".join(ch if ch.isalnum() else "_" for ch in label.split(" (")[0].lower()).strip("_") or "model"
    if entry.get("apiKey") and not str(entry["apiKey"]).startswith("${{"):
        posture.add(f"continue.inline_key.{slug}", "high",
                    f"model {label} in {path} stores its API key in plain text.",
                    f"use a secret reference instead: apiKey: ${{{{ secrets.{provider_id.upper().replace('-', '_')}_API_KEY }}}}")
    if destination in ("provider", "unknown"):
        autocomplete = " Autocomplete sends the code around the cursor continuously." if "autocomplete" in label else ""
        posture.add(f"continue.direct_to_provider.{slug}", "medium",
                    f"model {label} sends code straight to {host_of(base or '') or 'its provider'} "
                    f"(provider {provider_id}).{autocomplete} Nothing is redacted or recorded.",
                    f"in {path}, for this model:\nprovider: openai\napiBase: http://127.0.0.1:8787/v1")
    if ":cloud" in model_name or model_name.endswith("-cloud"):
        posture.add(f"continue.ollama_cloud_model.{slug}", "high",
                    f"model {label} is an Ollama cloud model ({model_name}): it runs on ollama.com, not on this machine.",
                    "use a local model tag instead")


VSCODE_SETTINGS = (".config/Code/User/settings.json", "Library/Application Support/Code/User/settings.json",
                   "AppData/Roaming/Code/User/settings.json")


def _vscode_telemetry_setting(ctx: AuditContext) -> object:
    """`continue.telemetryEnabled` from VS Code's user settings (JSONC), or None when not set or unreadable."""
    for rel in VSCODE_SETTINGS:
        path = ctx.home / rel
        if path.is_file():
            loaded = load_json(path, allow_comments=True)
            if loaded.ok and isinstance(loaded.data, dict) and "continue.telemetryEnabled" in loaded.data:
                return loaded.data["continue.telemetryEnabled"]
    return None
