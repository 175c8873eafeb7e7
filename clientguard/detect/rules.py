"""Loading detection rules from TOML files, with errors that name the file, the rule and the field."""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from clientguard import __version__
from clientguard.datadir import data_dir, prune, touch, write_cache_file
from clientguard.detect.model import Rule
from clientguard.detect.programs import Programs, dump
from clientguard.detect.programs import use as use_programs
from clientguard.detect.validators import LAZY_SOURCES, VALIDATORS
from clientguard.errors import RuleError

BUILTIN_RULES_DIR = Path(__file__).parent / "rules"

#: Flags every rule pattern is compiled with: ASCII classes, so the hyperscan prefilter and Python agree.
PY_FLAGS = re.ASCII


def rule_flags(rule: Rule) -> int:
    """The flags a rule's pattern is compiled with (inline flags in the pattern apply on top)."""
    return PY_FLAGS | (re.IGNORECASE if rule.ignore_case else 0)


def compile_rule(rule: Rule) -> re.Pattern[str]:
    return re.compile(rule.pattern, rule_flags(rule))


@lru_cache(maxsize=1)
def _spec() -> Any:
    """The pydantic model a rules-file entry is validated with (built when a rules file is read: commands
    that take the rules from the cache never import pydantic)."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, field_validator

    from clientguard.detect.model import DEFAULT_MAX_LENGTH

    class RuleSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
        title: str = Field(min_length=3)
        kind: Literal["secret", "pii", "identifier"]
        severity: Literal["low", "medium", "high", "critical"]
        pattern: str = Field(min_length=1)
        keywords: tuple[str, ...] = ()
        entropy: float | None = Field(default=None, ge=0, le=8)
        validator: str | None = None
        ignore_case: bool = False
        priority: int = 0
        label: str | None = None
        prefilter: str | None = None
        max_length: int = Field(default=DEFAULT_MAX_LENGTH, ge=8, le=1_000_000)
        database: Literal["secret", "pii"] | None = None
        skip_files: tuple[str, ...] = ()
        only_files: tuple[str, ...] = ()
        examples: tuple[str, ...] = Field(min_length=2)
        counter_examples: tuple[str, ...] = Field(min_length=1)

        @field_validator("keywords")
        @classmethod
        def _lower_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(k.lower() for k in value)

    return RuleSpec


def _where(path: Path, index: int, raw: dict) -> str:
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"{path}: rule #{index + 1}" + (f" ({rid})" if rid else "")


def _file_sets(path: Path, table: object) -> dict[str, list[str]]:
    """A rules file's ``[file_sets]``: named lists of file globs its rules' skip_files and only_files can name
    as ``@name`` (the files of translations, say, which several rules leave alone)."""
    if not isinstance(table, dict) or not all(
            isinstance(v, list) and v and all(isinstance(g, str) and g for g in v) for v in table.values()):
        raise RuleError(f"{path}: [file_sets] must map each name to a non-empty list of file globs")
    return table


#: File sets every rules file can name (the lock files, which generic and personal-data rules both skip).
SHARED_FILE_SETS_FILE = Path(__file__).with_name("file_sets.toml")


@lru_cache(maxsize=1)
def _shared_file_sets() -> dict[str, list[str]]:
    try:
        data = tomllib.loads(SHARED_FILE_SETS_FILE.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuleError(f"{SHARED_FILE_SETS_FILE}: {exc}") from None
    if set(data) != {"file_sets"}:
        raise RuleError(f"{SHARED_FILE_SETS_FILE}: only a [file_sets] table is allowed")
    return _file_sets(SHARED_FILE_SETS_FILE, data["file_sets"])


def _expand_globs(where: str, key: str, globs: list, file_sets: dict[str, list[str]]) -> list:
    shared = _shared_file_sets()
    out: list = []
    for glob in globs:
        if isinstance(glob, str) and glob.startswith("@"):
            name = glob[1:]
            if name not in file_sets and name not in shared:
                known = ", ".join("@" + n for n in sorted(file_sets))
                raise RuleError(f"{where}: {key} names {glob}, which the file's [file_sets] table does not define"
                                + (f" (it defines {known})" if known else "")
                                + f"; every rules file may also name {', '.join('@' + n for n in sorted(shared))}"
                                  f" ({SHARED_FILE_SETS_FILE.name})")
            out.extend(file_sets[name] if name in file_sets else shared[name])
        else:
            out.append(glob)
    return out


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
    extra = set(data) - {"rule", "file_sets"}
    if extra:
        raise RuleError(f"{path}: unexpected top-level keys {sorted(extra)}; only [[rule]] tables and a "
                        "[file_sets] table are allowed")
    file_sets = _file_sets(path, data.get("file_sets", {}))
    if clash := sorted(set(file_sets) & set(_shared_file_sets())):
        raise RuleError(f"{path}: [file_sets] defines {', '.join('@' + n for n in clash)}, which "
                        f"{SHARED_FILE_SETS_FILE.name} defines for every rules file")
    from pydantic import ValidationError  # loaded with the spec; commands reading the cache never need it

    spec = _spec()
    rules = []
    for i, raw in enumerate(entries):
        where = _where(path, i, raw)
        if isinstance(raw, dict):
            raw = {**raw, **{key: _expand_globs(where, key, raw[key], file_sets)
                             for key in ("skip_files", "only_files") if isinstance(raw.get(key), list)}}
        try:
            rule = Rule(**spec.model_validate(raw).model_dump())
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


#: Hyperscan expressions derived from a rule's pattern and prefilter (see engine._hs_expression), filled
#: from the rules cache or as they are derived: the derivation parses every pattern (~25 ms at each start).
HS_EXPRESSIONS: dict[tuple[str, str | None], bytes] = {}
#: Longest match and most line breaks of a rule's pattern, by (pattern, ignore_case, max_length): also from
#: the cache, since working them out parses the pattern twice more for every rule a scan touches.
SHAPES: dict[tuple[str, bool, int], tuple[int, int]] = {}
#: The pattern as the engine runs it (see engine._matching_pattern), by (pattern, ignore_case): from the cache
#: too, since working it out parses the pattern.
MATCHING: dict[tuple[str, bool], str] = {}
#: Whether each match ends where the hyperscan expression ends (engine._ends_exactly), by (pattern, prefilter).
ENDS_EXACTLY: dict[tuple[str, str | None], bool] = {}

_TUPLE_FIELDS = ("keywords", "skip_files", "only_files", "examples", "counter_examples")
#: The cache's files of validated rules and of their compiled patterns (_cache_file, _programs_file).
RULES_CACHE_GLOB, PROGRAMS_CACHE_GLOB = "rules-*.json", "rules-*.sre"


def _cache_file(files: list[Path]) -> Path | None:
    """The cache of these exact rule files as validated rules (None: no cache directory).

    Keyed by the files' bytes, the Python and clientguard versions, the validators that exist and the
    source of the rule model and the engine (which derives the hyperscan expressions), and of the modules
    whose patterns the compiled programs beside it hold (programs.py).
    """
    try:
        return data_dir() / "cache" / f"rules-{_rules_digest(tuple(files))}.json"
    except OSError:
        return None


@lru_cache(maxsize=4)
def _rules_digest(files: tuple[Path, ...]) -> str:
    """The digest _cache_file names its file by: reading and hashing ~2 MB of sources takes ~3.5 ms, and a start
    at a terminal asks twice (builtin_rules_prepared, then load_rules)."""
    digest = hashlib.sha256(repr((sys.version, __version__, sorted(VALIDATORS))).encode())
    here = Path(__file__).parent
    for f in [here / "model.py", here / "engine.py", here / "programs.py", *sorted(here.glob("validators*.py")),
              SHARED_FILE_SETS_FILE, *files]:
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _programs_file(cache: Path) -> Path:
    """The compiled patterns of the cached rules (see programs.py), beside the rules."""
    return cache.with_suffix(".sre")


def _read_cache(cache: Path) -> list[Rule] | None:
    try:
        entries = orjson.loads(cache.read_bytes())["rules"]  # 1.2 MB: 14 ms with json, 7 with orjson
        rules = []
        for entry in entries:
            hs = entry.pop("hs")
            shape = entry.pop("shape")
            matching = entry.pop("matching")
            ends_exactly = entry.pop("ends_exactly")
            for name in _TUPLE_FIELDS:
                entry[name] = tuple(entry[name])
            rule = Rule(**entry)  # validated when the cache was written
            HS_EXPRESSIONS[(rule.pattern, rule.prefilter)] = hs.encode("utf-8")
            SHAPES[(rule.pattern, rule.ignore_case, rule.max_length)] = (int(shape[0]), int(shape[1]))
            MATCHING[(rule.pattern, rule.ignore_case)] = str(matching)
            ENDS_EXACTLY[(rule.pattern, rule.prefilter)] = bool(ends_exactly)
            rules.append(rule)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no cache yet, or a damaged one: parse the files
    programs = _programs_file(cache)
    touch(programs)
    use_programs(Programs(path=programs))  # read on the first compile
    return rules


def _write_cache(cache: Path, rules: list[Rule]) -> None:
    from clientguard.detect.engine import (  # noqa: PLC0415
        _Compiled, _hs_expression, _matching_pattern, prepare_databases, rule_sources)

    # The databases compile on other threads while the rest of this runs: a first `clientguard scan` took
    # 14.0 s, 9.0 s now (the secrets' database alone compiles in ~6.5 s).
    prepare_databases(rules)
    entries = []
    for rule in rules:
        entry = asdict(rule)
        entry["hs"] = _hs_expression(rule).decode("utf-8")
        compiled = _Compiled(rule)
        entry["shape"] = [compiled.width, compiled.newlines]
        entry["matching"] = _matching_pattern(rule)
        entry["ends_exactly"] = compiled.ends_exactly
        entries.append(entry)
    try:
        write_cache_file(cache, orjson.dumps({"rules": entries}))
        prune(cache.parent, RULES_CACHE_GLOB, 4)  # earlier versions' rules
        prune(cache.parent, "rules-*.checked", 0)  # markers of releases before this cache
    except OSError:
        return  # a read-only data directory only costs the parse next time
    # Every rule's compiled patterns, worked out once here (about a second for the built-in rules) instead of
    # in every scan that needs them; only where they can be kept, or each run would pay it.
    programs = dump([*(source for rule in rules for source in rule_sources(rule)), *LAZY_SOURCES])
    if programs is None:
        return
    use_programs(Programs(data=programs))
    try:
        write_cache_file(_programs_file(cache), programs)
        prune(cache.parent, PROGRAMS_CACHE_GLOB, 4)
    except OSError:
        pass


def load_rules(paths: list[Path] | None = None) -> list[Rule]:
    """Load the rules in the given files or directories (default: the built-in rules); ids must be unique.

    Parsing and validating the built-in rules, compiling every pattern to check it and deriving the
    hyperscan expressions takes ~150 ms; it is done once per exact content of the files, and later starts
    read the validated rules from the data directory's cache (~10 ms), since every command loads them.
    """
    files: list[Path] = []
    for p in paths or [BUILTIN_RULES_DIR]:
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        else:
            files.append(p)
    cache = _cache_file(files) if not paths else None
    if cache is not None and cache.exists():
        cached = _read_cache(cache)
        if cached is not None:
            touch(cache)
            return cached
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    for f in files:
        for rule in parse_rule_file(f):
            if rule.id in seen:
                raise RuleError(f"{f}: rule id {rule.id!r} is already defined in {seen[rule.id]}")
            seen[rule.id] = f
            rules.append(rule)
    if cache is not None:
        _write_cache(cache, rules)
    return rules


def builtin_rules_prepared() -> bool:
    """Whether the built-in rules are in the cache already (a first run on a machine prepares them: ~9 s)."""
    cache = _cache_file(sorted(BUILTIN_RULES_DIR.glob("*.toml")))
    return cache is None or cache.exists()


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    return tuple(load_rules())
