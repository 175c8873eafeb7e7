"""The client policy file (`clientguard.toml`) as pydantic v2 models.

Validation against the provider catalog (known providers and plans) happens here, with the
catalog passed in the validation context, so every error carries the location of the key
that caused it and the loader can point at its line.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from clientguard.policy.catalog import Catalog, Posture, load_catalog
from clientguard.policy.errors import PolicyError

Mode = Literal["local", "cloud"]
MODES: tuple[str, ...] = ("local", "cloud")

# Identifiers shorter than this would pseudonymize ordinary words and code everywhere.
MIN_IDENTIFIER_LENGTH = 3


def _problem(kind: str, message: str, ctx: dict[str, Any]) -> PydanticCustomError:
    """A validation error whose message is final text (the context keeps the values for locating it)."""
    return PydanticCustomError(kind, "{detail}", {**ctx, "detail": message})


def _catalog(info: ValidationInfo) -> Catalog:
    ctx = info.context or {}
    return ctx.get("catalog") or load_catalog()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClientSection(_Section):
    """[client]: who the client is and what of theirs must be protected."""

    name: str = Field(min_length=1, description="The client's name as it appears in reports.")
    identifiers: list[str] = Field(
        default_factory=list,
        description="Names, domains, hostnames and package names to pseudonymize before anything leaves.",
    )
    protected_paths: list[str] = Field(
        default_factory=list,
        description="Globs (relative to the repository) of files that never leave the machine, in any form.",
    )
    repo: str | None = Field(
        default=None,
        description="The client's repository, relative to this file (default: this file's directory).",
    )

    @field_validator("identifiers")
    @classmethod
    def _identifiers_usable(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for ident in value:
            ident = ident.strip()
            if len(ident) < MIN_IDENTIFIER_LENGTH:
                raise _problem(
                    "identifier_too_short",
                    f"identifier {ident!r} is shorter than {MIN_IDENTIFIER_LENGTH} characters and would match "
                    "ordinary text; use a longer, distinctive name",
                    {"ident": ident},
                )
            if ident not in cleaned:
                cleaned.append(ident)
        return cleaned

    @field_validator("protected_paths")
    @classmethod
    def _paths_relative(cls, value: list[str]) -> list[str]:
        for glob in value:
            if not glob.strip():
                raise _problem("empty_glob", "a protected path glob is empty", {})
            if glob.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", glob) or ".." in PurePosixPath(glob).parts:
                raise _problem(
                    "glob_not_relative",
                    f"protected path {glob!r} must be relative to the repository (like \"secrets/**\"), "
                    "without a leading / or ..",
                    {"glob": glob},
                )
        return value


class GdprClause(_Section):
    """[contract.gdpr]"""

    controller: bool = Field(
        default=False, description="The client is a GDPR controller for personal data in this code."
    )
    authorized_subprocessors: list[str] = Field(
        default_factory=list, description="Provider ids the client has approved as sub-processors."
    )

    @field_validator("authorized_subprocessors")
    @classmethod
    def _known_providers(cls, value: list[str], info: ValidationInfo) -> list[str]:
        catalog = _catalog(info)
        out: list[str] = []
        for name in value:
            pid = catalog.canonical_provider(name)
            if pid is None:
                raise _problem(
                    "unknown_provider",
                    f"unknown provider {name!r}; known providers: {', '.join(catalog.provider_ids)}",
                    {"name": name},
                )
            out.append(pid)
        return out


class HipaaClause(_Section):
    """[contract.hipaa]"""

    phi: bool = Field(default=False, description="Protected health information is in scope.")


class ContractSection(_Section):
    """[contract]: the clauses of the client's contract that bear on AI use."""

    nda: bool = Field(
        default=True,
        description="Code and data are confidential (default true: freelance work is almost always under NDA).",
    )
    no_third_party_processing: bool = Field(
        default=False, description="No third party may process the source code at all."
    )
    audit_log_required: bool = Field(default=False, description="The client wants a record of every egress.")
    gdpr: GdprClause = Field(default_factory=GdprClause)
    hipaa: HipaaClause = Field(default_factory=HipaaClause)


class Account(_Section):
    """[[accounts]]: an AI account the freelancer uses."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="A short name for the account.")
    provider: str = Field(description="A provider id from the catalog (`clientguard providers`).")
    plan: str = Field(description="A plan id of that provider from the catalog.")
    training_opt_out: bool = Field(default=False, description="Training on this account's data is switched off.")
    opt_out_confirmed: date | None = Field(default=None, description="The day the opt-out was last checked.")
    zdr: bool = Field(default=False, description="Zero Data Retention is in force for this account.")
    baa_signed: bool = Field(default=False, description="A HIPAA BAA with the provider is signed for this account.")
    privacy_mode: bool | None = Field(default=None, description="Cursor Privacy Mode is on (Cursor accounts only).")
    base_url: str | None = Field(
        default=None, description="Endpoint of a local model server (e.g. http://127.0.0.1:11434 for Ollama)."
    )

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str, info: ValidationInfo) -> str:
        catalog = _catalog(info)
        pid = catalog.canonical_provider(value)
        if pid is None:
            raise _problem(
                "unknown_provider",
                f"unknown provider {value!r}; known providers: {', '.join(catalog.provider_ids)}",
                {"name": value},
            )
        return pid

    @field_validator("plan")
    @classmethod
    def _known_plan(cls, value: str, info: ValidationInfo) -> str:
        provider = info.data.get("provider")
        if provider is None:  # the provider itself failed; that error is reported instead
            return value
        catalog = _catalog(info)
        plan = catalog.canonical_plan(provider, value)
        if plan is None:
            raise _problem(
                "unknown_plan",
                f"unknown plan {value!r} for provider {provider!r}; known plans: "
                f"{', '.join(catalog.plan_choices(provider))}",
                {"plan": value, "provider": provider},
            )
        return plan

    @field_validator("opt_out_confirmed")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise _problem(
                "date_in_future",
                f"opt_out_confirmed {value.isoformat()} is in the future; write the day you checked the setting",
                {"day": value.isoformat()},
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise _problem(
                "bad_url", f"base_url {value!r} is not an http(s) URL like http://127.0.0.1:11434", {"url": value}
            )
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _settings_apply(self, info: ValidationInfo) -> "Account":
        catalog = _catalog(info)
        if self.privacy_mode is not None and not catalog.uses_setting(self.provider, "privacy_mode"):
            raise _problem(
                "setting_not_applicable",
                f"privacy_mode applies to Cursor accounts only (this account's provider is {self.provider!r}); "
                "use training_opt_out",
                {"provider": self.provider},
            )
        return self

    def posture(self, catalog: Catalog | None = None) -> Posture:
        """This account's provider plan posture from the catalog."""
        return (catalog or load_catalog()).posture(self.provider, self.plan)

    def is_local(self, catalog: Catalog | None = None) -> bool:
        """True when this account is a model running on this machine."""
        return self.posture(catalog).is_local


class GatewaySection(_Section):
    """[gateway]"""

    account: str | None = Field(default=None, description="The account the gateway forwards under.")


class ScanSection(_Section):
    """[scan]"""

    allow_paths: list[str] = Field(default_factory=list, description="Path globs `scan` ignores.")


class LedgerSection(_Section):
    """[ledger]"""

    keep_prompts: bool = Field(
        default=False, description="Also keep the (redacted) prompt text in the ledger; off by default."
    )


class PolicyDocument(_Section):
    """The whole clientguard.toml file."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        title="clientguard.toml",
        json_schema_extra={"description": "A client's contract and the AI accounts used on its code."},
    )

    client: ClientSection
    contract: ContractSection = Field(default_factory=ContractSection)
    accounts: list[Account] = Field(min_length=1, description="The AI accounts the freelancer uses.")
    gateway: GatewaySection = Field(default_factory=GatewaySection)
    scan: ScanSection = Field(default_factory=ScanSection)
    ledger: LedgerSection = Field(default_factory=LedgerSection)

    @field_validator("accounts")
    @classmethod
    def _unique_names(cls, value: list[Account]) -> list[Account]:
        seen: set[str] = set()
        for account in value:
            if account.name in seen:
                raise _problem(
                    "duplicate_account",
                    f"two accounts are named {account.name!r}; account names must be unique",
                    {"name": account.name},
                )
            seen.add(account.name)
        return value

    @model_validator(mode="after")
    def _gateway_account_exists(self) -> "PolicyDocument":
        wanted = self.gateway.account
        if wanted is not None and wanted not in {a.name for a in self.accounts}:
            raise _problem(
                "unknown_account",
                f"[gateway] account {wanted!r} is not one of the accounts: "
                f"{', '.join(a.name for a in self.accounts)}",
                {"name": wanted},
            )
        return self


class Policy(PolicyDocument):
    """A loaded policy: the document plus where it came from (`path`) and the repository it covers."""

    _path: Path = PrivateAttr(default=Path("clientguard.toml"))
    _repo_root: Path = PrivateAttr(default=Path("."))

    @property
    def path(self) -> Path:
        """The clientguard.toml this policy was loaded from."""
        return self._path

    @property
    def repo_root(self) -> Path:
        """The client repository: [client] repo relative to the toml, or the toml's directory."""
        return self._repo_root

    def bind(self, path: Path, repo_root: Path) -> "Policy":
        """Record where the policy came from (done by the loader)."""
        self._path = path
        self._repo_root = repo_root
        return self

    def account(self, name: str) -> Account:
        """The account with this name; PolicyError listing the names if there is none."""
        for account in self.accounts:
            if account.name == name:
                return account
        raise PolicyError(
            f"{self.path}: no account named {name!r}",
            hint=f"accounts in this policy: {', '.join(a.name for a in self.accounts)}",
        )

    def local_accounts(self, catalog: Catalog | None = None) -> list[Account]:
        """Accounts whose model runs on this machine (used for route_local)."""
        return [a for a in self.accounts if a.is_local(catalog)]


def policy_json_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """The JSON Schema of clientguard.toml (for editors: taplo, Even Better TOML).

    Providers and plans come from the catalog, so editors can complete them and flag unknown ones.
    """
    catalog = catalog or load_catalog()
    schema = PolicyDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    account = schema["$defs"]["Account"]
    names: list[str] = []
    conditions: list[dict[str, Any]] = []
    for pid in catalog.provider_ids:
        spellings = [pid, *catalog.data.providers[pid].aliases]
        names += spellings
        plans: list[str] = []
        for posture in catalog.data.providers[pid].postures.values():
            plans += [*posture.plans, *posture.aliases]
        conditions.append({
            "if": {"properties": {"provider": {"enum": spellings}}, "required": ["provider"]},
            "then": {"properties": {"plan": {"enum": plans}}},
        })
    account["properties"]["provider"]["enum"] = names
    account["allOf"] = conditions
    subprocessors = schema["$defs"]["GdprClause"]["properties"]["authorized_subprocessors"]
    subprocessors["items"] = {"type": "string", "enum": names}
    return schema
