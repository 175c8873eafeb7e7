"""The provider posture catalog: what each provider plan does with the data, as sourced, dated facts.

The facts live in `providers.toml` beside this module (data, not code); this module holds its
schema, loads it once, and answers lookups such as "which posture does openai/plus have?".
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clientguard.policy.errors import CatalogError

DEFAULT_CATALOG_PATH = Path(__file__).with_name("providers.toml")

Tier = Literal["consumer", "business", "api", "local"]
OptOutSetting = Literal["training_opt_out", "privacy_mode"]
FactValue = bool | str

# The facts every posture must state, in the order `providers` prints them.
FACT_NAMES: tuple[str, ...] = (
    "trains_by_default",
    "training_opt_out",
    "retention",
    "dpa",
    "baa",
    "zdr",
    "cloud_stages_repo",
)

FACT_TITLES: dict[str, str] = {
    "trains_by_default": "trains on prompts/code by default",
    "training_opt_out": "training opt-out available",
    "retention": "retention",
    "dpa": "DPA available",
    "baa": "BAA available",
    "zdr": "zero data retention available",
    "cloud_stages_repo": "cloud tasks stage the whole repository",
}

UNKNOWN = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a fact was read: a URL, a title, the day it was read, and how (note)."""

    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")
    retrieved: date
    note: str | None = None


class FactEntry(_Strict):
    """A fact as written in the data file: a value and the id of its source."""

    value: FactValue
    source: str
    note: str | None = None


class PostureFacts(_Strict):
    """The seven facts each posture states."""

    trains_by_default: FactEntry
    training_opt_out: FactEntry
    retention: FactEntry
    dpa: FactEntry
    baa: FactEntry
    zdr: FactEntry
    cloud_stages_repo: FactEntry


class PostureEntry(_Strict):
    """A group of plans sharing one posture."""

    tier: Tier
    plans: dict[str, str] = Field(min_length=1, description="plan id -> display name")
    aliases: dict[str, str] = Field(default_factory=dict, description="alias -> plan id")
    opt_out_setting: OptOutSetting | None = None
    opt_out_how: str | None = None
    facts: PostureFacts

    @model_validator(mode="after")
    def _aliases_name_plans(self) -> "PostureEntry":
        for alias, target in self.aliases.items():
            if target not in self.plans:
                raise ValueError(f"alias {alias!r} points to {target!r}, which is not a plan of this posture")
        return self


class ProviderEntry(_Strict):
    """A provider: a display name, other names it may be written as, and its postures."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    postures: dict[str, PostureEntry] = Field(min_length=1)


class CatalogFile(_Strict):
    """The schema of providers.toml."""

    schema_version: Literal[1]
    stale_after_days: int = Field(gt=0)
    sources: dict[str, Source]
    providers: dict[str, ProviderEntry]

    @model_validator(mode="after")
    def _references_resolve(self) -> "CatalogFile":
        for pid, provider in self.providers.items():
            seen: set[str] = set()
            for posture_id, posture in provider.postures.items():
                for name in FACT_NAMES:
                    entry: FactEntry = getattr(posture.facts, name)
                    if entry.source not in self.sources:
                        raise ValueError(
                            f"providers.{pid}.postures.{posture_id}.facts.{name}: unknown source "
                            f"{entry.source!r}; known: {', '.join(sorted(self.sources))}"
                        )
                    if isinstance(entry.value, str) and name != "retention" and entry.value != UNKNOWN:
                        raise ValueError(
                            f"providers.{pid}.postures.{posture_id}.facts.{name}: value must be true, false "
                            f"or \"unknown\", got {entry.value!r}"
                        )
                for plan_id in [*posture.plans, *posture.aliases]:
                    if plan_id in seen:
                        raise ValueError(f"providers.{pid}: plan {plan_id!r} appears in more than one posture")
                    seen.add(plan_id)
        return self


@dataclass(frozen=True)
class Fact:
    """One sourced fact about a posture, ready to show or cite."""

    name: str
    value: FactValue
    source: Source
    note: str | None = None

    @property
    def known(self) -> bool:
        """False when the sources read do not say."""
        return self.value != UNKNOWN

    @property
    def title(self) -> str:
        """What the fact says, in words."""
        return FACT_TITLES[self.name]

    def age_days(self, today: date) -> int:
        """Days since the fact's source was read."""
        return (today - self.source.retrieved).days

    def citation(self) -> str:
        """The source URL and retrieval day, as shown next to a reason."""
        return f"{self.source.url} (retrieved {self.source.retrieved.isoformat()})"

    def shown(self) -> str:
        """The value as a person reads it."""
        if self.value is True:
            return "yes"
        if self.value is False:
            return "no"
        return str(self.value)


@dataclass(frozen=True)
class Posture:
    """A provider plan's posture: its tier, how training is switched off, and its facts."""

    provider: str
    provider_name: str
    posture_id: str
    plan: str
    plan_name: str
    tier: Tier
    opt_out_setting: OptOutSetting | None
    opt_out_how: str | None
    facts: Mapping[str, Fact]  # read-only: postures are shared between callers

    @property
    def is_local(self) -> bool:
        """True when the model runs on this machine."""
        return self.tier == "local"

    @property
    def is_consumer(self) -> bool:
        """True for personal plans (the provider's consumer terms apply)."""
        return self.tier == "consumer"

    def fact(self, name: str) -> Fact:
        """One fact by name (see FACT_NAMES)."""
        return self.facts[name]

    def says(self, name: str) -> bool:
        """True only when the fact is known and true (unknown counts as false: fail closed)."""
        return self.facts[name].value is True

    def trains_by_default(self) -> bool:
        """True when the plan trains by default, or when nobody knows (fail closed)."""
        return self.facts["trains_by_default"].value is not False


class Catalog:
    """The loaded catalog: lookups by provider and plan, names and aliases resolved."""

    def __init__(self, data: CatalogFile, path: Path):
        self.data = data
        self.path = path
        self.stale_after_days = data.stale_after_days
        self._postures: dict[tuple[str, str], Posture] = {}  # the catalog is immutable: build each once
        self._provider_alias: dict[str, str] = {}
        for pid, provider in data.providers.items():
            self._provider_alias[pid] = pid
            for alias in provider.aliases:
                self._provider_alias[alias.lower()] = pid

    @property
    def provider_ids(self) -> list[str]:
        """Canonical provider ids, in file order."""
        return list(self.data.providers)

    def provider_name(self, provider: str) -> str:
        """A provider's display name."""
        return self.data.providers[self.canonical_provider(provider) or provider].name

    def canonical_provider(self, name: str) -> str | None:
        """The canonical id for a provider id or alias (case-insensitive), or None if unknown."""
        return self._provider_alias.get(name.strip().lower())

    def plan_ids(self, provider: str) -> list[str]:
        """Canonical plan ids of a provider, in file order."""
        entry = self.data.providers[self.canonical_provider(provider) or provider]
        return [plan for posture in entry.postures.values() for plan in posture.plans]

    def plan_choices(self, provider: str) -> list[str]:
        """Plan ids with their aliases, as listed in an error message: 'team (or business)'."""
        entry = self.data.providers[self.canonical_provider(provider) or provider]
        out: list[str] = []
        for posture in entry.postures.values():
            for plan in posture.plans:
                aliases = [a for a, target in posture.aliases.items() if target == plan]
                out.append(f"{plan} (or {', '.join(aliases)})" if aliases else plan)
        return out

    def canonical_plan(self, provider: str, plan: str) -> str | None:
        """The canonical plan id for a plan id or alias of the provider, or None if unknown."""
        pid = self.canonical_provider(provider)
        if pid is None:
            return None
        wanted = plan.strip().lower()
        for posture in self.data.providers[pid].postures.values():
            if wanted in posture.plans:
                return wanted
            if wanted in posture.aliases:
                return posture.aliases[wanted]
        return None

    def posture(self, provider: str, plan: str) -> Posture:
        """The posture of a provider plan; CatalogError listing the known ones if either is unknown."""
        pid = self.canonical_provider(provider)
        if pid is None:
            raise CatalogError(
                f"unknown provider {provider!r}",
                hint=f"known providers: {', '.join(self.provider_ids)}",
            )
        canonical = self.canonical_plan(pid, plan)
        if canonical is None:
            raise CatalogError(
                f"unknown plan {plan!r} for provider {pid!r}",
                hint=f"known plans: {', '.join(self.plan_choices(pid))}",
            )
        cached = self._postures.get((pid, canonical))
        if cached is not None:
            return cached
        entry = self.data.providers[pid]
        for posture_id, posture in entry.postures.items():
            if canonical in posture.plans:
                facts = {
                    name: Fact(
                        name=name,
                        value=getattr(posture.facts, name).value,
                        source=self.data.sources[getattr(posture.facts, name).source],
                        note=getattr(posture.facts, name).note,
                    )
                    for name in FACT_NAMES
                }
                built = self._postures[(pid, canonical)] = Posture(
                    provider=pid,
                    provider_name=entry.name,
                    posture_id=posture_id,
                    plan=canonical,
                    plan_name=posture.plans[canonical],
                    tier=posture.tier,
                    opt_out_setting=posture.opt_out_setting,
                    opt_out_how=posture.opt_out_how,
                    facts=MappingProxyType(facts),
                )
                return built
        raise AssertionError("unreachable: canonical_plan returned a plan no posture holds")

    def postures(self) -> list[Posture]:
        """Every plan's posture, provider by provider, in file order."""
        return [self.posture(pid, plan) for pid in self.provider_ids for plan in self.plan_ids(pid)]

    def uses_setting(self, provider: str, setting: OptOutSetting) -> bool:
        """True when some plan of the provider switches training off with this account setting."""
        pid = self.canonical_provider(provider)
        if pid is None:
            return False
        return any(p.opt_out_setting == setting for p in self.data.providers[pid].postures.values())


def parse_catalog(text: str, path: Path) -> Catalog:
    """Parse and validate catalog TOML text; CatalogError naming the problem on bad input."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from None
    try:
        data = CatalogFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise CatalogError(f"{path}: invalid provider catalog: {problems}") from None
    return Catalog(data, path)


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the provider catalog (the bundled providers.toml unless a path is given)."""
    if path is None:
        return _default_catalog()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read provider catalog {path}: {exc.strerror or exc}") from None
    return parse_catalog(text, Path(path))


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return parse_catalog(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"), DEFAULT_CATALOG_PATH)


def catalog_json_schema() -> dict:
    """The JSON Schema of providers.toml (for editors and reviewers)."""
    return CatalogFile.model_json_schema()
