"""aider: .aider.conf.yml (home, repo, working directory), .env, AIDER_* variables, analytics, chat history."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from clientguard.posture.config_files import as_table, load_dotenv_names, load_json, load_yaml
from clientguard.posture.destinations import classify, host_of
from clientguard.posture.model import AgentPosture, AuditContext

AGENT = "aider"
HISTORY_FILES = (".aider.chat.history.md", ".aider.input.history", ".aider.llm.history")
KEY_OPTIONS = ("openai-api-key", "anthropic-api-key", "api-key")
ROUTE_FIX = (
    "run aider through clientguard: `clientguard run -- aider`, or add to ~/.aider.conf.yml:\n"
    "openai-api-base: http://127.0.0.1:8787/v1\nmodel: openai/<model>"
)
ANALYTICS_FIX = "add to ~/.aider.conf.yml:\nanalytics-disable: true"


def audit_aider(ctx: AuditContext) -> AgentPosture:
    """Read aider's YAML configs (later files win), .env files, AIDER_* variables and local state."""
    posture = AgentPosture(AGENT)
    candidates = [ctx.home / ".aider.conf.yml"]
    if ctx.repo is not None:
        candidates.append(ctx.repo / ".aider.conf.yml")
    candidates.append(ctx.cwd / ".aider.conf.yml")
    config_files = list(dict.fromkeys(p for p in candidates if p.is_file()))
    state_dir = ctx.home / ".aider"
    installed = bool(ctx.search_path and shutil.which("aider", path=ctx.env.get("PATH", "")))
    aider_env = {k: v for k, v in ctx.env.items() if k.startswith("AIDER_")}
    posture.found = bool(config_files) or state_dir.is_dir() or installed or bool(aider_env)
    if not posture.found:
        return posture

    options: dict[str, Any] = {}
    for path in config_files:
        posture.add_config_path(path)
        loaded = load_yaml(path)
        if not loaded.ok:
            posture.add(f"aider.config_unreadable.{_where(ctx, path)}", "high",
                        f"{loaded.error}. aider stops with an error on this file, and clientguard cannot check it.",
                        f"fix the YAML in {path}")
            continue
        if loaded.data is None:
            continue
        if not isinstance(loaded.data, dict):
            posture.add(f"aider.config_unreadable.{_where(ctx, path)}", "high",
                        f"{path}: expected `option: value` lines, found a {type(loaded.data).__name__}.",
                        f"rewrite {path} as `option: value` lines")
            continue
        _check_inline_keys(posture, _where(ctx, path), path, loaded.data)
        options.update({str(k): v for k, v in loaded.data.items()})
    # AIDER_<OPTION> variables override the files.
    for name, value in aider_env.items():
        options[name.removeprefix("AIDER_").lower().replace("_", "-")] = value

    dotenv_names: dict[str, bool] = {}
    for path in _dotenv_files(ctx):
        loaded = load_dotenv_names(path)
        if loaded.ok:
            dotenv_names.update(loaded.data)

    env = {**{k: "set" for k, present in dotenv_names.items() if present}, **ctx.env}
    _route(posture, options, env)
    _check_analytics(posture, state_dir, options)
    _check_history(posture, ctx, options)
    return posture


def _where(ctx: AuditContext, path: Path) -> str:
    if path.parent == ctx.home:
        return "home"
    if ctx.repo is not None and path.parent == ctx.repo:
        return "repo"
    return "cwd"


def _dotenv_files(ctx: AuditContext) -> list[Path]:
    candidates = [ctx.home / ".env"]
    if ctx.repo is not None:
        candidates.append(ctx.repo / ".env")
    candidates.append(ctx.cwd / ".env")
    return list(dict.fromkeys(p for p in candidates if p.is_file()))


def _check_inline_keys(posture: AgentPosture, where: str, path: Path, options: dict[str, Any]) -> None:
    keys = [k for k in KEY_OPTIONS if options.get(k)]
    if keys:
        posture.add(f"aider.inline_key.{where}", "high",
                    f"{path} stores API keys in plain text ({', '.join(keys)}).",
                    f"remove {', '.join(keys)} from {path} and export the key in the shell "
                    "(or let `clientguard run -- aider` pass it)")


def _provider_for_model(model: str) -> tuple[str, str]:
    """(provider, plan) from an aider/LiteLLM model name; aider always uses API keys, hence API terms."""
    name = model.lower()
    if name.startswith(("ollama/", "ollama_chat/")):
        return "ollama", "local"
    if name.startswith(("anthropic/", "claude")) or "/claude" in name or name in ("sonnet", "opus", "haiku"):
        return "anthropic", "api"
    if name.startswith(("gemini", "vertex_ai/")):
        return "google", "api"
    if name.startswith("openrouter/"):
        return "openrouter", "api"
    if name.startswith("deepseek"):
        return "deepseek", "api"
    return "openai", "api"


def _route(posture: AgentPosture, options: dict[str, Any], env: dict[str, str]) -> None:
    model = str(options.get("model") or env.get("AIDER_MODEL") or "")
    if not model:
        # aider picks a default from the keys it finds.
        model = "sonnet" if env.get("ANTHROPIC_API_KEY") else "gpt-4o"
    posture.provider, posture.plan = _provider_for_model(model)
    posture.plan_source = f"model {model!r} (aider uses API keys: API terms)"
    if posture.provider == "ollama":
        base = env.get("OLLAMA_API_BASE", "http://127.0.0.1:11434")
    elif posture.provider == "anthropic":
        base = env.get("ANTHROPIC_API_BASE") or env.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
    else:
        base = str(options.get("openai-api-base") or env.get("OPENAI_API_BASE") or env.get("OPENAI_BASE_URL")
                   or "https://api.openai.com/v1")
    destination = classify(base)
    if posture.note_route(model, base, destination):
        posture.add("aider.direct_to_provider", "medium",
                    f"aider sends the chat and the files you add straight to {host_of(base) or base} (model {model}): "
                    "secrets and client identifiers in them are not redacted and no egress is recorded.",
                    ROUTE_FIX)
    if ":cloud" in model or model.endswith("-cloud"):
        posture.add("aider.ollama_cloud_model", "high",
                    f"model {model!r} is an Ollama cloud model: it runs on ollama.com, not on this machine.",
                    "use a local model tag (e.g. ollama_chat/qwen2.5-coder:14b)")


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"))


def _check_analytics(posture: AgentPosture, state_dir: Path, options: dict[str, Any]) -> None:
    if _truthy(options.get("analytics-disable")) or options.get("analytics") is False or \
            str(options.get("analytics", "")).lower() in ("false", "0", "no", "off"):
        return
    state_file = state_dir / "analytics.json"
    state: dict[str, Any] = {}
    if state_file.is_file():
        loaded = load_json(state_file)
        state = as_table(loaded.data) if loaded.ok else {}
        posture.add_config_path(state_file)
    if state.get("permanently_disable") is True:
        return
    if _truthy(options.get("analytics")):
        posture.add("aider.analytics_on", "medium",
                    "aider analytics are switched on (analytics: true): usage events go to PostHog, around the gateway.",
                    ANALYTICS_FIX)
    elif state.get("asked_opt_in") is True:
        posture.add("aider.analytics_maybe_on", "low",
                    f"aider asked to opt in to analytics ({state_file}) and they are not permanently disabled: "
                    "if you said yes, usage events go to PostHog.",
                    ANALYTICS_FIX)


def _check_history(posture: AgentPosture, ctx: AuditContext, options: dict[str, Any]) -> None:
    if options.get("llm-history-file"):
        posture.add("aider.llm_history_file", "medium",
                    f"llm-history-file writes every request and response to {options['llm-history-file']}.",
                    "remove llm-history-file from the aider config")
    if ctx.repo is None or not ctx.repo.is_dir():
        return
    present = [name for name in HISTORY_FILES if (ctx.repo / name).is_file()]
    if not present:
        return
    ignored = _gitignored(ctx.repo)
    severity = "low" if ignored else "high"
    risk = "" if ignored else " They are not in .gitignore and can be committed to the client's repository."
    posture.add("aider.chat_history_in_repo", severity,
                f"the client repository holds aider transcripts ({', '.join(present)}).{risk}",
                "add `.aider*` to .gitignore, and set `chat-history-file: ~/.aider/history/<client>.md` "
                "(or `restore-chat-history: false`) in .aider.conf.yml")


def _gitignored(repo: Path) -> bool:
    path = repo / ".gitignore"
    if not path.is_file():
        return False
    try:
        lines = {line.strip() for line in path.read_text("utf-8", errors="replace").splitlines()}
    except OSError:
        return False
    return bool(lines & {".aider*", ".aider*.history*", "/.aider*", ".aider.chat.history.md"})
