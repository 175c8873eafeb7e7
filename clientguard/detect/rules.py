"""Loading detection rules from TOML files, with errors that name the file, the rule and the field."""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from clientguard import __version__
from clientguard.datadir import data_dir
from clientguard.detect.model import Rule
from clientguard.detect.validators import VALIDATORS
from clientguard.errors import RuleError

BUILTIN_RULES_DIR = Path(__file__).parent / "rules"

#: Flags every rule pattern is compiled with: ASCII classes, so the hyperscan prefilter and Python agree.
PY_FLAGS = re.ASCII


def compile_rule(rule: Rule) -> re.Pattern[str]:
    flags = PY_FLAGS | (re.IGNORECASE if rule.ignore_case else 0)
    return re.compile(rule.pattern, flags)


def _where(path: Path, index: int, raw: dict) -> str:
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"{path}: rule #{index + 1}" + (f" ({rid})" if rid else "")


def parse_rule_file(path: Path, *, check_patterns: bool = True) -> list[Rule]:
    """Parse one rules file (a TOML document with [[rule]] tables) into validated rules.

    `check_patterns=False` skips compiling each pattern (the one costly check), for files whose exact
    content passed it before (see `load_rules`); every other check still runs.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleError(f"{path}: rules file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("rule")
    if not isinstance(entries, list) or not entries:
        raise RuleError(f"{path}: no [[rule]] tables found", hint="each rule is a [[rule]] table")
    extra = set(data) - {"rule"}
    if extra:
        raise RuleError(f"{path}: unexpected top-level keys {sorted(extra)}; only [[rule]] tables are allowed")
    rules = []
    for i, raw in enumerate(entries):
        where = _where(path, i, raw)
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'rule'}: {err['msg']}" for err in exc.errors()
            )
            raise RuleError(f"{where}: {problems}") from None
        if check_patterns:
            try:
                compile_rule(rule)
            except re.error as exc:
                raise RuleError(f"{where}: pattern does not compile: {exc}") from None
        if rule.validator is not None and rule.validator not in VALIDATORS:
            raise RuleError(f"{where}: unknown validator {rule.validator!r}; known: {', '.join(sorted(VALIDATORS))}")
        rules.append(rule)
    return rules


def _checked_marker(files: list[Path]) -> Path | None:
    """Where a note that these exact files compiled with this Python and clientguard is kept (None: nowhere)."""
    try:
        digest = hashlib.sha256(repr((sys.version, __version__)).encode())
        for f in files:
            digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        return data_dir() / "cache" / f"rules-{digest.hexdigest()[:32]}.checked"
    except OSError:
        return None


def load_rules(paths: list[Path] | None = None) -> list[Rule]:
    """Load the rules in the given files or directories (default: the built-in rules); ids must be unique.

    Compiling every pattern to check it takes ~85 ms; for the built-in rules it is done once per exact
    content of the files (a marker in the data directory's cache), since every command loads them.
    """
    files: list[Path] = []
    for p in paths or [BUILTIN_RULES_DIR]:
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        else:
            files.append(p)
    marker = _checked_marker(files) if not paths else None
    checked = marker is not None and marker.exists()
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    for f in files:
        for rule in parse_rule_file(f, check_patterns=not checked):
            if rule.id in seen:
                raise RuleError(f"{f}: rule id {rule.id!r} is already defined in {seen[rule.id]}")
            seen[rule.id] = f
            rules.append(rule)
    if marker is not None and not checked:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only data directory only costs the check next time
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    return tuple(load_rules())
