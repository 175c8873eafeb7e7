"""Which environment variables hold secrets, by family (data in secret_env.toml)."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from clientguard.errors import ClientguardError


@dataclass(frozen=True)
class SecretFamily:
    """A family of secret-bearing variables: exact names and glob patterns."""

    name: str
    description: str
    names: frozenset[str]
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class SecretEnvCatalog:
    families: tuple[SecretFamily, ...]
    exceptions: frozenset[str]

    def family_of(self, variable: str) -> str | None:
        """The family a variable belongs to (exact names win over patterns), or None when not a secret."""
        if variable in self.exceptions:
            return None
        for family in self.families:
            if variable in family.names:
                return family.name
        for family in self.families:
            if any(fnmatch.fnmatchcase(variable, pattern) for pattern in family.patterns):
                return family.name
        return None

    def secrets_in(self, env: Mapping[str, str]) -> dict[str, str]:
        """{variable: family} for every non-empty secret-bearing variable in `env`."""
        found: dict[str, str] = {}
        for name, value in env.items():
            if not value:
                continue
            family = self.family_of(name)
            if family:
                found[name] = family
        return dict(sorted(found.items()))

    def description(self, family: str) -> str:
        return next((f.description for f in self.families if f.name == family), family)


def _string_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ClientguardError(f"secret_env.toml: {where} must be a list of non-empty strings")
    return value


def parse_catalog(data: Mapping[str, object]) -> SecretEnvCatalog:
    """Validate the data file's shape and build the catalog."""
    if data.get("schema") != 1:
        raise ClientguardError("secret_env.toml: expected schema = 1")
    families_raw = data.get("families")
    if not isinstance(families_raw, dict) or not families_raw:
        raise ClientguardError("secret_env.toml: [families.*] tables are missing")
    families = []
    for name, table in families_raw.items():
        if not isinstance(table, dict) or not isinstance(table.get("description"), str):
            raise ClientguardError(f"secret_env.toml: [families.{name}] needs a description string")
        families.append(
            SecretFamily(
                name=name,
                description=table["description"],
                names=frozenset(_string_list(table.get("names", []), f"families.{name}.names") if table.get("names") else []),
                patterns=tuple(_string_list(table.get("patterns", []), f"families.{name}.patterns") if table.get("patterns") else []),
            )
        )
    exceptions_raw = data.get("exceptions", {})
    exceptions = _string_list(exceptions_raw.get("names", []), "exceptions.names") if isinstance(exceptions_raw, dict) and exceptions_raw.get("names") else []
    return SecretEnvCatalog(tuple(families), frozenset(exceptions))


@lru_cache(maxsize=1)
def secret_env_catalog() -> SecretEnvCatalog:
    """The bundled catalog of secret-bearing environment variable names."""
    text = resources.files("clientguard.posture").joinpath("secret_env.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text))


def looks_secret_name(name: str) -> bool:
    """True when a variable or key name says it holds a secret (KEY, TOKEN, SECRET, PASSWORD...)."""
    upper = name.upper().replace("-", "_")
    if secret_env_catalog().family_of(upper):
        return True
    return any(word in upper for word in ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "API_KEY", "PRIVATE_KEY", "CREDENTIAL"))


def names_only(variables: Iterable[str]) -> str:
    """A comma-separated list of names for messages (never values)."""
    return ", ".join(sorted(set(variables)))
