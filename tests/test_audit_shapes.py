"""Config files of any shape get findings, never a crash: the readers are driven with generated content."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _audit_support import audit

KEYS = st.sampled_from([
    "env", "permissions", "hooks", "deny", "apiKeyHelper", "cleanupPeriodDays", "claudeAiOauth", "subscriptionType",
    "oauthAccount", "emailAddress", "mcpServers", "projects", "tokens", "id_token", "OPENAI_API_KEY", "models",
    "provider", "apiBase", "apiKey", "roles", "model", "tabAutocompleteModel", "embeddingsProvider",
    "allowAnonymousTelemetry", "permanently_disable", "asked_opt_in", "analytics", "openai-api-base",
    "openai-api-key", "llm-history-file", "sandbox_mode", "approval_policy", "model_provider", "model_providers",
    "base_url", "otel", "exporter", "log_user_prompt", "notify", "mcp_servers", "profiles", "profile",
    "shell_environment_policy", "inherit", "ignore_default_excludes", "history", "feedback", "sandbox_workspace_write",
    "openai_base_url", "cli_auth_credentials_store", "network_access", "persistence", "enabled", "endpoint", "otlp-http",
    "experimental_bearer_token", "wire_api", "http_headers", "name", "title", "chat-history-file", "seatTier",
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12),
                    st.sampled_from(["danger-full-access", "never", "all", "http://127.0.0.1:8787", "a.b.c", "pro"]))
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=4)), max_leaves=12)
JSON_DOCS = st.one_of(st.dictionaries(KEYS, JSON_VALUES, max_size=6), JSON_VALUES)

TOML_SCALARS = st.one_of(st.booleans(), st.integers(-5, 5),
                         st.sampled_from(["danger-full-access", "never", "all", "none", "http://127.0.0.1:8787",
                                          "https://collector.example.net", "openai", "clientguard", "chat"]))
TOML_VALUES = st.one_of(TOML_SCALARS, st.lists(TOML_SCALARS, max_size=3))
TOML_TABLES = st.dictionaries(KEYS, st.one_of(TOML_VALUES, st.dictionaries(KEYS, TOML_VALUES, max_size=3)), max_size=5)
SHAPES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"  # type: ignore[union-attr]


def toml_document(tables: dict) -> str:
    """Top-level keys, then each table as [name] with its keys (nested tables become inline tables)."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in tables.items() if not isinstance(v, dict)]
    for name, table in tables.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(name)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def no_reader_failed(home: Path, repo: Path) -> None:
    report = audit(home, repo=repo)
    failed = [(a.agent, f.message) for a in report.agents for f in a.findings if f.id == "audit.reader_failed"]
    assert failed == []
    json.dumps(report.to_json())  # and the result is always serializable


@SHAPES
@given(settings_doc=JSON_DOCS, credentials=JSON_DOCS, state=JSON_DOCS)
def test_claude_code_files_of_any_json_shape(settings_doc: object, credentials: object, state: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home, repo = Path(tmp) / "home", Path(tmp) / "repo"
        (home / ".claude").mkdir(parents=True)
        (repo / ".claude").mkdir(parents=True)
        (home / ".claude" / "settings.json").write_text(json.dumps(settings_doc))
        (repo / ".claude" / "settings.local.json").write_text(json.dumps(settings_doc))
        (home / ".claude" / ".credentials.json").write_text(json.dumps(credentials))
        (home / ".claude.json").write_text(json.dumps(state))
        no_reader_failed(home, repo)


@SHAPES
@given(config=TOML_TABLES, auth=JSON_DOCS)
def test_codex_files_of_any_shape(config: dict, auth: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home, repo = Path(tmp) / "home", Path(tmp) / "repo"
        (home / ".codex").mkdir(parents=True)
        repo.mkdir()
        (home / ".codex" / "config.toml").write_text(toml_document(config))
        (home / ".codex" / "work.config.toml").write_text(toml_document(config))
        (home / ".codex" / "auth.json").write_text(json.dumps(auth))
        no_reader_failed(home, repo)


@SHAPES
@given(aider=JSON_DOCS, cont=JSON_DOCS, analytics=JSON_DOCS)
def test_aider_and_continue_files_of_any_shape(aider: object, cont: object, analytics: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home, repo = Path(tmp) / "home", Path(tmp) / "repo"
        (home / ".continue").mkdir(parents=True)
        (home / ".aider").mkdir(parents=True)
        repo.mkdir()
        (home / ".aider.conf.yml").write_text(yaml.safe_dump(aider))
        (home / ".aider" / "analytics.json").write_text(json.dumps(analytics))
        (home / ".continue" / "config.yaml").write_text(yaml.safe_dump(cont))
        (home / ".continue" / "config.json").write_text(json.dumps(cont))
        no_reader_failed(home, repo)


def test_a_base_url_that_is_not_a_string_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text("openai_base_url = 5\n")
    ids = {f.id for f in audit(tmp_path).agent("codex").findings}
    assert "codex.bad_base_url" in ids and "audit.reader_failed" not in ids


def test_continue_model_roles_of_the_wrong_type_are_tolerated(tmp_path: Path) -> None:
    (tmp_path / ".continue").mkdir()
    (tmp_path / ".continue" / "config.yaml").write_text(
        "models:\n  - name: a\n    provider: openai\n    roles: 5\n  - name: b\n    provider: openai\n    roles: autocomplete\n")
    cont = audit(tmp_path).agent("continue")
    assert "audit.reader_failed" not in {f.id for f in cont.findings}
    assert [r.name for r in cont.routes] == ["a (chat)", "b (autocomplete)"]
