"""Loading detection rules from TOML files, with errors that name the file, the rule and the field."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

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


def parse_rule_file(path: Path) -> list[Rule]:
    """Parse one rules file (a TOML document with [[rule]] tables) into validated rules."""
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
        try:
            compile_rule(rule)
        except re.error as exc:
            raise RuleError(f"{where}: pattern does not compile: {exc}") from None
        if rule.validator is not None and rule.validator not in VALIDATORS:
            raise RuleError(f"{where}: unknown validator {rule.validator!r}; known: {', '.join(sorted(VALIDATORS))}")
        rules.append(rule)
    return rules


def load_rules(paths: list[Path] | None = None) -> list[Rule]:
    """Load the rules in the given files or directories (default: the built-in rules); ids must be unique."""
    files: list[Path] = []
    for p in paths or [BUILTIN_RULES_DIR]:
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        else:
            files.append(p)
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    for f in files:
        for rule in parse_rule_file(f):
            if rule.id in seen:
                raise RuleError(f"{f}: rule id {rule.id!r} is already defined in {seen[rule.id]}")
            seen[rule.id] = f
            rules.append(rule)
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    return tuple(load_rules())
