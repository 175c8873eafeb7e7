"""Read agent config files without ever raising: a broken file becomes a finding, not a traceback."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Config files are small; anything bigger is not a config file we should parse.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class LoadedFile:
    """The parsed content of a config file, or why it could not be read."""

    path: Path
    data: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _read_text(path: Path) -> tuple[str | None, str | None]:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            return None, f"{path}: {size} bytes, too large for a config file (limit {MAX_CONFIG_BYTES})"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"{path}: cannot read ({exc.strerror or exc})"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, f"{path}: not UTF-8 (byte {exc.start})"


def load_toml(path: Path) -> LoadedFile:
    """Parse a TOML file; errors name the file and the line."""
    text, error = _read_text(path)
    if error:
        return LoadedFile(path, error=error)
    try:
        return LoadedFile(path, tomllib.loads(text or ""))
    except tomllib.TOMLDecodeError as exc:
        return LoadedFile(path, error=f"{path}: invalid TOML ({exc})")


def load_json(path: Path, *, allow_comments: bool = False) -> LoadedFile:
    """Parse a JSON file (optionally JSONC with // comments, as VS Code-style settings allow)."""
    text, error = _read_text(path)
    if error:
        return LoadedFile(path, error=error)
    source = _strip_json_comments(text or "") if allow_comments else (text or "")
    if not source.strip():
        return LoadedFile(path, error=f"{path}: empty file, expected a JSON object")
    try:
        return LoadedFile(path, json.loads(source))
    except json.JSONDecodeError as exc:
        return LoadedFile(path, error=f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})")


def load_yaml(path: Path) -> LoadedFile:
    """Parse a YAML file with the safe loader; errors name the file and the line."""
    text, error = _read_text(path)
    if error:
        return LoadedFile(path, error=error)
    try:
        return LoadedFile(path, yaml.safe_load(text or ""))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        return LoadedFile(path, error=f"{path}: invalid YAML{where} ({problem})")


def load_dotenv_names(path: Path) -> LoadedFile:
    """The variable names a .env file assigns (values are read only to know they are non-empty)."""
    text, error = _read_text(path)
    if error:
        return LoadedFile(path, error=error)
    names: dict[str, bool] = {}
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        name, _, value = stripped.removeprefix("export ").partition("=")
        name = name.strip()
        if name.isidentifier():
            names[name] = bool(value.strip().strip("'\""))
    return LoadedFile(path, names)


def _strip_json_comments(text: str) -> str:
    """Remove // and /* */ comments outside strings (JSONC), keeping line numbers."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end == -1 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            chunk = text[i : n if end == -1 else end + 2]
            out.append("\n" * chunk.count("\n"))
            i = n if end == -1 else end + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def as_table(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping, else an empty one (configs with a wrong shape are reported elsewhere)."""
    return value if isinstance(value, dict) else {}
