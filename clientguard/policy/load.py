"""Finding and loading `clientguard.toml`, with errors that name the line, the key, what is wrong
and what would be valid."""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from clientguard.policy.catalog import Catalog, load_catalog
from clientguard.policy.errors import PolicyError
from clientguard.policy.locate import POLICY_FILENAME, find_policy  # noqa: F401 - re-exported
from clientguard.policy.model import Policy, PolicyDocument

MAX_POLICY_BYTES = 1_000_000

KeyPath = tuple[str | int, ...]


def load_policy(path: Path, catalog: Catalog | None = None) -> Policy:
    """Load and validate a clientguard.toml; PolicyError (exit 2) naming line, key, problem and fix."""
    path = Path(path).expanduser()
    text = _read_text(path)
    return parse_policy(text, path, catalog)


def parse_policy(text: str, path: Path, catalog: Catalog | None = None) -> Policy:
    """Validate policy TOML text as if read from `path` (relative paths resolve against its directory)."""
    catalog = catalog or load_catalog()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, text, exc) from None
    lines = key_lines(text)
    try:
        policy = Policy.model_validate(raw, context={"catalog": catalog})
    except ValidationError as exc:
        raise _validation_error(path, raw, lines, exc) from None
    base = path.resolve().parent
    repo_root = base
    if policy.client.repo is not None:
        repo_root = (base / Path(policy.client.repo).expanduser()).resolve()
        if not repo_root.is_dir():
            line = lines.get(("client", "repo"))
            raise PolicyError(
                f"{_where(path, line)}: client.repo: {policy.client.repo!r} is not a directory "
                f"(resolved to {repo_root})",
                hint="write the client repository's path, relative to this file, or remove the key "
                "to use this file's directory",
            )
    return policy.bind(path.resolve(), repo_root)


def _read_text(path: Path) -> str:
    try:
        if path.is_dir():
            raise PolicyError(
                f"{path} is a directory, not a policy file",
                hint=f"pass the {POLICY_FILENAME} inside it, or run `clientguard init` there",
            )
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(f"{path} is {size} bytes; a policy file is at most {MAX_POLICY_BYTES} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(
            f"policy file not found: {path}",
            hint="run `clientguard init` in the client repository, or pass --policy FILE",
        ) from None
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="TOML files are UTF-8; re-save the file as UTF-8",
        ) from None


# ----------------------------------------------------------------------------- TOML syntax errors

_TOML_HINTS: list[tuple[str, str]] = [
    ("Invalid value", 'values are "quoted strings", true or false, numbers, dates like 2026-05-01, '
                      '["lists", "of", "values"] or { inline = "tables" }'),
    ("Expected '=' after a key", 'write one `key = value` per line, e.g. name = "Acme Health GmbH"'),
    ("Cannot overwrite a value", "each key may appear once per table; remove the duplicate"),
    ("Cannot declare", "each [table] may appear once; repeat accounts with [[accounts]]"),
    ("Unclosed array", "close the list with ] (a trailing comma before it is fine)"),
    ("Unclosed inline table", "close the inline table with } on the same line"),
    ("Unterminated string", 'close the string with the quote it was opened with: "like this"'),
    ("Illegal character", "strings cannot hold raw control characters; escape them (\\n, \\t)"),
    ("Invalid statement", "a line is a [table], an [[array of tables]], a key = value pair, or a # comment"),
    ("Expected newline or end of document", "put one key = value per line; start comments with #"),
    ("Invalid date", "dates look like 2026-05-01 (unquoted)"),
    ("Invalid initial character for a key part", 'keys are bare words (letters, digits, _ and -) or "quoted"'),
    ("Expected ']' at the end of a table declaration", "table headers look like [client] or [[accounts]]"),
]

_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")
_AT_END = re.compile(r"\(at end of document\)")


def _syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> PolicyError:
    message = str(exc)
    src_lines = text.splitlines()
    match = _AT_LINE.search(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
    else:
        line, column = max(len(src_lines), 1), 1
    what = _AT_END.sub("", _AT_LINE.sub("", message)).strip()
    hint = next((h for prefix, h in _TOML_HINTS if what.startswith(prefix)), None)
    source_line = src_lines[line - 1] if 0 < line <= len(src_lines) else ""
    bare = _bare_word_value(source_line)
    if what.startswith("Invalid value") and bare is not None:
        if bare.lower() in {"yes", "no", "on", "off", "True", "False", "y", "n"} or bare in {"True", "False"}:
            hint = f"write true or false (lowercase, unquoted) instead of {bare}"
        else:
            hint = f'put text in quotes: "{bare}"'
    shown = f"\n    {source_line}\n    {' ' * (column - 1)}^" if source_line else ""
    return PolicyError(
        f"{path}:{line}:{column}: not valid TOML: {what}{shown}",
        hint=hint or "see https://toml.io for the syntax, or start again with `clientguard init`",
    )


def _bare_word_value(line: str) -> str | None:
    m = re.match(r"^\s*[A-Za-z0-9_.\"'-]+\s*=\s*([A-Za-z][\w.@-]*)\s*(#.*)?$", line)
    if m and m.group(1) not in {"true", "false", "inf", "nan"}:
        return m.group(1)
    return None


# ----------------------------------------------------------------------------- key -> line index

_BARE_KEY = r"[A-Za-z0-9_-]+"
_QUOTED_KEY = r"\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_KEY_PART = re.compile(rf"\s*({_BARE_KEY}|{_QUOTED_KEY})\s*")


def _parse_dotted(key: str) -> tuple[str, ...] | None:
    parts: list[str] = []
    pos = 0
    while True:
        m = _KEY_PART.match(key, pos)
        if not m:
            return None
        part = m.group(1)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
        pos = m.end()
        if pos == len(key):
            return tuple(parts)
        if key[pos] != ".":
            return None
        pos += 1


class _ValueScanner:
    """Tracks strings and brackets across lines, so keys are only read where statements start."""

    def __init__(self) -> None:
        self.depth = 0
        self.string: str | None = None  # the open string's delimiter

    @property
    def idle(self) -> bool:
        return self.depth == 0 and self.string is None

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            if self.string is not None:
                delim = self.string
                if delim == '"' and text[i] == "\\":
                    i += 2
                    continue
                if delim == '"""' and text[i] == "\\":
                    i += 2
                    continue
                if text.startswith(delim, i):
                    self.string = None
                    i += len(delim)
                    continue
                i += 1
                continue
            ch = text[i]
            if ch == "#":
                break
            for delim in ('"""', "'''", '"', "'"):
                if text.startswith(delim, i):
                    self.string = delim
                    i += len(delim)
                    break
            else:
                if ch in "[{":
                    self.depth += 1
                elif ch in "]}":
                    self.depth = max(0, self.depth - 1)
                i += 1
        # Single-line strings cannot span lines; a broken one is a syntax error tomllib reports.
        if self.string in ('"', "'"):
            self.string = None


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each key path in TOML text (tables, array-of-table entries, keys) to its 1-based line."""
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    array_counts: dict[KeyPath, int] = {}
    scanner = _ValueScanner()

    def resolve(parts: tuple[str, ...]) -> KeyPath:
        out: KeyPath = ()
        for part in parts:
            out = (*out, part)
            if out in array_counts:
                out = (*out, array_counts[out])
        return out

    for lineno, raw in enumerate(text.splitlines(), 1):
        if not scanner.idle:
            scanner.feed(raw)
            continue
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            inner = stripped[2:].split("]]", 1)[0]
            parts = _parse_dotted(inner)
            if parts:
                base = (*resolve(parts[:-1]), parts[-1])
                index = array_counts.get(base, -1) + 1
                array_counts[base] = index
                table = (*base, index)
                lines.setdefault(base, lineno)
                lines[table] = lineno
            continue
        if stripped.startswith("["):
            inner = stripped[1:].split("]", 1)[0]
            parts = _parse_dotted(inner)
            if parts:
                table = resolve(parts)
                lines.setdefault(table, lineno)
            continue
        key, sep, rest = raw.partition("=")
        parts = _parse_dotted(key.strip()) if sep else None
        if parts:
            full: KeyPath = table
            for i, part in enumerate(parts):
                full = (*full, part)
                if i < len(parts) - 1:
                    lines.setdefault(full, lineno)  # dotted keys create implicit tables
                else:
                    lines[full] = lineno
            scanner.feed(rest)
    return lines


def line_of(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    """The line of the longest prefix of `loc` that the file spells out."""
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None


# ----------------------------------------------------------------------------- validation errors

def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _dotted(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _model_at(loc: KeyPath) -> type[BaseModel] | None:
    """The pydantic model that holds the keys at `loc` (walking fields and list items)."""
    model: Any = PolicyDocument
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        model = _unwrap(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    return annotation


def _table_name(loc: KeyPath) -> str:
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return "the top level"
    if names == ["accounts"]:
        return "[[accounts]]"
    return f"[{'.'.join(names)}]"


def _describe(err: dict[str, Any], loc: KeyPath) -> str:
    """What is wrong and what would be valid, for one pydantic error."""
    kind = err["type"]
    key = loc[-1] if loc else ""
    parent = loc[:-1]
    given = err.get("input")
    if "detail" in (err.get("ctx") or {}):  # our own checks already say what and how
        return err["msg"]
    if kind in ("missing", "too_short") and loc == ("accounts",):
        return (
            'at least one [[accounts]] table is needed (name, provider, plan); e.g. name = "local", '
            'provider = "ollama", plan = "local"'
        )
    if kind == "list_type" and loc == ("accounts",):
        return "accounts are an array of tables: write [[accounts]] (double brackets) above each account"
    if kind == "missing" and loc == ("client",):
        return 'missing the [client] table; add [client] with name = "Client GmbH" (and identifiers, protected_paths)'
    if kind == "missing":
        model = _model_at(parent)
        field = model.model_fields.get(str(key)) if model else None
        about = f" ({field.description})" if field and field.description else ""
        return f"missing required key {key!r} in {_table_name(parent)}{about}"
    if kind == "extra_forbidden":
        model = _model_at(parent)
        valid = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(key), valid, n=1)
        did_you = f"; did you mean {close[0]!r}?" if close else ";"
        return f"unknown key {key!r} in {_table_name(parent)}{did_you} valid keys here: {', '.join(valid)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false (unquoted), got {given!r}"
    if kind in ("string_type",):
        return f'expected text in quotes ("..."), got {given!r}'
    if kind in ("list_type",):
        return f'expected a list like ["a", "b"], got {given!r}'
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a table ([{_dotted(loc)}] or {{ key = value }}), got {given!r}"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"expected a date like 2026-05-01 (unquoted, no time), got {given!r}"
    if kind == "too_short":
        return f"must not be empty ({err['msg']})"
    if kind == "string_pattern_mismatch" and key == "name":
        return f"account name {given!r} may use letters, digits, '-', '_' and '.' and must start with a letter or digit"
    if kind == "string_pattern_mismatch":
        return f"{given!r} does not have the expected form ({err['msg']})"
    return err["msg"]


def _custom_loc(err: dict[str, Any], raw: dict[str, Any]) -> KeyPath:
    """Point whole-table errors at the key that causes them."""
    loc: KeyPath = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "unknown_account":
        return ("gateway", "account")
    if kind == "setting_not_applicable":
        return (*loc, "privacy_mode")
    if kind == "duplicate_account":
        names = [a.get("name") if isinstance(a, dict) else None for a in raw.get("accounts", [])]
        dupes = [i for i, n in enumerate(names) if n == ctx.get("name")]
        if len(dupes) > 1:
            return ("accounts", dupes[1], "name")
    return loc


def _validation_error(path: Path, raw: dict[str, Any], lines: dict[KeyPath, int], exc: ValidationError) -> PolicyError:
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        loc = _custom_loc(err, raw)
        line = line_of(lines, loc)
        problems.append(f"{_where(path, line)}: {_dotted(loc)}: {_describe(err, loc)}")
    count = len(problems)
    head = problems[0] if count == 1 else f"{path}: {count} problems:\n  " + "\n  ".join(problems)
    return PolicyError(head, hint="`clientguard schema` prints every key with its meaning; docs/policy.md has an example")
