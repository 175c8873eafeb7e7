"""The decision: contract x provider account x mode -> allow / route_local / block, with reasons and fixes.

`decide` is a pure function of its inputs (the policy, the account, the mode and the catalog): no
I/O, no clock, so the same inputs always give the same verdict and the whole matrix can be tested.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

from clientguard.policy.catalog import Catalog, Posture, load_catalog
from clientguard.policy.errors import PolicyError
from clientguard.policy.model import MODES, Account, Policy

Action = Literal["allow", "route_local", "block"]

# How each clause reads in the contract's words (shown by `check`).
CLAUSE_WORDS: dict[str, str] = {
    "contract.nda": "NDA: the client's code and data are confidential",
    "contract.no_third_party_processing": "no third party may process the source code at all",
    "contract.gdpr.controller": "GDPR: the client is controller; a processor needs a DPA",
    "contract.gdpr.authorized_subprocessors": "GDPR: only sub-processors the client approved",
    "contract.hipaa.phi": "HIPAA: protected health information is in scope; a BAA is required",
    "contract.audit_log_required": "the client wants a record of every egress",
    "contract": "no clause of the contract restricts this provider",
    "local": "a local model: nothing leaves this machine",
}

SECRET_PATH_HINTS = ("secret", ".env", "credential", "key", "token", "password", ".pem")


@dataclass(frozen=True)
class Reason:
    """Why a verdict is what it is: the contract clause, the provider fact, and where the fact comes from.

    `code` is a stable identifier of the rule that produced the reason (for tests and scripts);
    `blocking` says whether the reason forbids the provider or supports allowing it.
    """

    clause: str
    fact: str
    source: str
    code: str = ""
    blocking: bool = False

    def to_dict(self) -> dict[str, str]:
        """The JSON shape of `check`: clause, fact, source."""
        return {"clause": self.clause, "fact": self.fact, "source": self.source}


@dataclass(frozen=True)
class Verdict:
    """The decision for one account in one mode."""

    action: Action
    reasons: list[Reason]
    fixes: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    requires_ledger: bool = False
    local_account: Account | None = None
    account: str = ""
    provider: str = ""
    plan: str = ""
    mode: str = "local"

    @property
    def allowed(self) -> bool:
        """True when the account may be used (with redaction)."""
        return self.action == "allow"

    def reason_codes(self) -> list[str]:
        """The codes of the reasons, in order."""
        return [r.code for r in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape `check --format json` prints for one verdict."""
        return {
            "account": self.account,
            "provider": self.provider,
            "plan": self.plan,
            "mode": self.mode,
            "action": self.action,
            "reasons": [r.to_dict() for r in self.reasons],
            "fixes": list(self.fixes),
            "cautions": list(self.cautions),
            "requires_ledger": self.requires_ledger,
            "local_account": self.local_account.name if self.local_account else None,
        }


class _Builder:
    """Collects reasons, fixes and cautions in order, without duplicates."""

    def __init__(self) -> None:
        self.blocking: list[Reason] = []
        self.supporting: list[Reason] = []
        self.fixes: list[str] = []
        self.cautions: list[str] = []

    def block(self, code: str, clause: str, fact: str, source: str) -> None:
        self.blocking.append(Reason(clause, fact, source, code, True))

    def support(self, code: str, clause: str, fact: str, source: str) -> None:
        self.supporting.append(Reason(clause, fact, source, code, False))

    def fix(self, text: str) -> None:
        if text not in self.fixes:
            self.fixes.append(text)

    def caution(self, text: str) -> None:
        if text not in self.cautions:
            self.cautions.append(text)


def decide(
    policy: Policy,
    account: Account | str,
    mode: str,
    catalog: Catalog | None = None,
    today: date | None = None,
) -> Verdict:
    """Decide whether `account` may process this client's code in `mode` ("local" agent or "cloud" task).

    `today`, when given, adds a caution for an opt-out confirmed longer ago than the catalog's
    staleness limit; without it the verdict depends on nothing but the arguments.
    """
    if mode not in MODES:
        raise PolicyError(f"unknown mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
    if isinstance(account, str):
        account = policy.account(account)
    catalog = catalog or load_catalog()
    posture = account.posture(catalog)
    contract = policy.contract
    b = _Builder()
    clause_source = f"client policy {policy.path.name}"

    if posture.is_local:
        return _local_verdict(policy, account, posture, mode, b)

    if contract.no_third_party_processing:
        b.block(
            "no-third-party",
            "contract.no_third_party_processing",
            f"The contract forbids any third party from processing the source code; {posture.provider_name} "
            f"is a third party whatever the plan ({posture.plan_name}).",
            f"{clause_source}: contract.no_third_party_processing = true",
        )
        local = policy.local_accounts(catalog)
        b.fix(_local_model_fix(policy, catalog))
        _audit_fix(policy, b)
        action: Action = "route_local" if local else "block"
        return _verdict(action, policy, account, posture, mode, b, local[0] if local else None)

    _nda_rule(policy, account, posture, catalog, b)
    _account_claims(account, posture, catalog, today, b)
    _gdpr_rule(policy, account, posture, catalog, b)
    _hipaa_rule(policy, account, posture, catalog, b)
    _cloud_rule(policy, account, posture, mode, b)

    if b.blocking:
        if any(r.code != "cloud-consumer" for r in b.blocking):
            b.fix(_local_model_fix(policy, catalog))
    elif not b.supporting:
        b.support(
            "no-clause",
            "contract",
            f"No clause of the contract restricts {posture.provider_name}; what leaves is still redacted.",
            clause_source,
        )
    if posture.is_consumer and not b.blocking:
        b.caution(
            f"{posture.plan_name} runs under {posture.provider_name}'s consumer terms "
            f"(retention: {posture.fact('retention').shown()})."
        )
    _audit_fix(policy, b)
    _secrets_fix(policy, b)
    return _verdict("block" if b.blocking else "allow", policy, account, posture, mode, b, None)


def _verdict(
    action: Action,
    policy: Policy,
    account: Account,
    posture: Posture,
    mode: str,
    b: _Builder,
    local_account: Account | None,
) -> Verdict:
    reasons = b.blocking if action != "allow" else b.supporting
    return Verdict(
        action=action,
        reasons=list(reasons),
        fixes=list(b.fixes),
        cautions=list(b.cautions),
        requires_ledger=policy.contract.audit_log_required,
        local_account=local_account,
        account=account.name,
        provider=posture.provider,
        plan=posture.plan,
        mode=mode,
    )


def _local_verdict(policy: Policy, account: Account, posture: Posture, mode: str, b: _Builder) -> Verdict:
    b.support(
        "local-model",
        "local",
        f"{posture.plan_name}: the model runs on this machine, so nothing leaves it and no clause is engaged.",
        posture.fact("trains_by_default").citation(),
    )
    host = urlsplit(account.base_url).hostname if account.base_url else None
    if host and not _is_loopback(host):
        b.caution(
            f"base_url {account.base_url} is not a loopback address: prompts go to that machine over the "
            "network; make sure it is yours and the connection is private."
        )
    if mode == "cloud":
        b.caution("A local model has no cloud tasks; cloud mode runs the same local model.")
    return _verdict("allow", policy, account, posture, mode, b, None)


def _opted_out(account: Account, posture: Posture) -> bool:
    """True when the account switched training off with the setting this plan actually has.

    A plan without a known opt-out (opt_out_setting unset) cannot be opted out of: fail closed.
    """
    if posture.opt_out_setting == "privacy_mode":
        return account.privacy_mode is True
    if posture.opt_out_setting == "training_opt_out":
        return account.training_opt_out
    return False


def _opt_out_fix(account: Account, posture: Posture) -> str | None:
    if posture.fact("training_opt_out").value is not True:
        return None
    how = posture.opt_out_how or "the provider's privacy settings"
    if posture.opt_out_setting == "privacy_mode":
        return f"Turn on Cursor Privacy Mode ({how}), then set privacy_mode = true for account {account.name!r}."
    return (
        f"Opt out of training: {how}. Then set training_opt_out = true and opt_out_confirmed = <today> "
        f"for account {account.name!r}."
    )


def _business_fix(posture: Posture, catalog_plans: list[str]) -> str | None:
    if not catalog_plans:
        return None
    return (
        f"Move this client's work to a business workspace or API account at {posture.provider_name} "
        f"(plans: {', '.join(catalog_plans)}), where the provider does not train by default."
    )


def _non_training_plans(posture: Posture, catalog: Catalog) -> list[str]:
    return [
        p.plan
        for p in catalog.postures()
        if p.provider == posture.provider and p.fact("trains_by_default").value is False
    ]


def _nda_rule(policy: Policy, account: Account, posture: Posture, catalog: Catalog, b: _Builder) -> None:
    if not policy.contract.nda:
        if posture.trains_by_default() and not _opted_out(account, posture):
            b.caution(
                f"{posture.plan_name} trains on prompts and code by default and this account has not opted out; "
                "the contract has no NDA, but the code may still end up in training data."
            )
        return
    trains = posture.fact("trains_by_default")
    if posture.trains_by_default() and not _opted_out(account, posture):
        verb = "trains" if trains.known else "may train (the sources read do not say)"
        b.block(
            "nda-training",
            "contract.nda",
            f"The NDA makes the client's code confidential, and {posture.plan_name} {verb} on prompts and code "
            f"by default; account {account.name!r} has not opted out, so the code could train "
            f"{posture.provider_name}'s models.",
            trains.citation(),
        )
        opt_out = _opt_out_fix(account, posture)
        if opt_out:
            b.fix(opt_out)
        if posture.provider == "openai" and posture.is_consumer:
            b.fix("For a one-off question, use a Temporary Chat: it is not used for training.")
        business = _business_fix(posture, _non_training_plans(posture, catalog))
        if business:
            b.fix(business)
    elif posture.trains_by_default():
        setting = "privacy_mode = true" if posture.opt_out_setting == "privacy_mode" else "training_opt_out = true"
        when = f" (confirmed {account.opt_out_confirmed.isoformat()})" if account.opt_out_confirmed else ""
        b.support(
            "nda-opted-out",
            "contract.nda",
            f"{posture.plan_name} trains by default, but account {account.name!r} has opted out "
            f"({setting}){when}.",
            posture.fact("training_opt_out").citation(),
        )
        b.caution(
            "The training opt-out is per account and not retroactive: anything sent before it may already "
            "be in training data, and it does not cover other accounts or devices."
        )
        if account.opt_out_confirmed is None:
            b.caution(
                f"Record when you last checked the opt-out: opt_out_confirmed = YYYY-MM-DD for account "
                f"{account.name!r}."
            )
    else:
        b.support(
            "nda-no-training",
            "contract.nda",
            f"{posture.plan_name} does not train on prompts or code by default.",
            trains.citation(),
        )


def _account_claims(account: Account, posture: Posture, catalog: Catalog, today: date | None, b: _Builder) -> None:
    """Cautions where what the policy says about the account does not fit the plan, or has aged."""
    if account.zdr and not posture.says("zdr"):
        b.caution(
            f"Account {account.name!r} says zdr = true, but {posture.plan_name} offers no Zero Data Retention "
            "in the catalog; check the agreement."
        )
    if today is not None and account.opt_out_confirmed is not None and _opted_out(account, posture):
        age = (today - account.opt_out_confirmed).days
        if age > catalog.stale_after_days:
            b.caution(
                f"The opt-out of account {account.name!r} was last confirmed {age} days ago "
                f"({account.opt_out_confirmed.isoformat()}); providers re-ask after terms changes: check it "
                "again and update opt_out_confirmed."
            )


def _gdpr_rule(policy: Policy, account: Account, posture: Posture, catalog: Catalog, b: _Builder) -> None:
    gdpr = policy.contract.gdpr
    if not gdpr.controller:
        return
    clause_source = f"client policy {policy.path.name}: contract.gdpr.authorized_subprocessors"
    if posture.provider not in gdpr.authorized_subprocessors:
        approved = ", ".join(gdpr.authorized_subprocessors) or "none"
        b.block(
            "gdpr-not-authorized",
            "contract.gdpr.authorized_subprocessors",
            f"The client is a GDPR controller and has not approved {posture.provider_name} as a sub-processor "
            f"(approved: {approved}).",
            clause_source,
        )
        b.fix(
            f"Ask the client to approve {posture.provider_name} as a sub-processor in writing, then add "
            f"\"{posture.provider}\" to contract.gdpr.authorized_subprocessors."
        )
    dpa = posture.fact("dpa")
    if not posture.says("dpa"):
        state = "offers no DPA" if dpa.known else "has no published DPA in the sources read"
        b.block(
            "gdpr-no-dpa",
            "contract.gdpr.controller",
            f"The client is a GDPR controller, so a processor needs a data processing agreement; "
            f"{posture.plan_name} {state}.",
            dpa.citation(),
        )
        plans = [
            p.plan for p in catalog.postures() if p.provider == posture.provider and p.says("dpa")
        ]
        if plans:
            b.fix(
                f"Use a plan with a DPA at {posture.provider_name} ({', '.join(plans)}) and accept its DPA."
            )
    elif posture.provider in gdpr.authorized_subprocessors:
        b.support(
            "gdpr-ok",
            "contract.gdpr.controller",
            f"{posture.provider_name} is an approved sub-processor and {posture.plan_name} offers a DPA.",
            dpa.citation(),
        )


def _hipaa_rule(policy: Policy, account: Account, posture: Posture, catalog: Catalog, b: _Builder) -> None:
    if not policy.contract.hipaa.phi:
        return
    baa = posture.fact("baa")
    if not posture.says("baa"):
        state = "offers no BAA" if baa.known else "has no published BAA in the sources read"
        b.block(
            "hipaa-no-baa",
            "contract.hipaa.phi",
            f"Protected health information is in scope, which needs a signed BAA; {posture.plan_name} {state}.",
            baa.citation(),
        )
        plans = [p.plan for p in catalog.postures() if p.provider == posture.provider and p.says("baa")]
        if plans:
            b.fix(
                f"Use a plan that offers a BAA at {posture.provider_name} ({', '.join(plans)}), sign the BAA, "
                "and set baa_signed = true."
            )
    elif not account.baa_signed:
        b.block(
            "hipaa-baa-unsigned",
            "contract.hipaa.phi",
            f"Protected health information is in scope; {posture.plan_name} offers a BAA, but none is signed "
            f"for account {account.name!r} (baa_signed = false).",
            baa.citation(),
        )
        b.fix(f"Sign the BAA with {posture.provider_name}, then set baa_signed = true for account {account.name!r}.")
    else:
        b.support(
            "hipaa-ok",
            "contract.hipaa.phi",
            f"A BAA with {posture.provider_name} is signed for account {account.name!r}.",
            baa.citation(),
        )


def _cloud_rule(policy: Policy, account: Account, posture: Posture, mode: str, b: _Builder) -> None:
    if mode != "cloud":
        return
    contract = policy.contract
    staging = posture.fact("cloud_stages_repo")
    if posture.is_consumer and (contract.nda or contract.gdpr.controller):
        clause = "contract.nda" if contract.nda else "contract.gdpr.controller"
        b.block(
            "cloud-consumer",
            clause,
            f"Cloud tasks stage the whole repository on {posture.provider_name}'s infrastructure, and "
            f"{posture.plan_name} is a consumer plan: the whole confidential codebase would be processed "
            "under consumer terms.",
            staging.citation(),
        )
        b.fix(
            "No cloud tasks on consumer plans: run the agent locally through `clientguard serve` "
            "(mode local), or use a business workspace for cloud tasks."
        )
        return
    protected = ", ".join(policy.client.protected_paths)
    b.caution(
        "Cloud tasks upload the repository as committed: the gateway cannot redact it"
        + (f", so protected paths ({protected}) must not be committed." if protected else ".")
    )
    if contract.audit_log_required:
        b.caution("Cloud tasks bypass the gateway, so the egress ledger cannot record them; keep the task log.")


def _audit_fix(policy: Policy, b: _Builder) -> None:
    if policy.contract.audit_log_required:
        b.fix(
            "The contract asks for an audit log: run the agent through `clientguard serve` (every egress goes "
            "into the ledger) and give the client `clientguard report`."
        )


def _secrets_fix(policy: Policy, b: _Builder) -> None:
    globs = [g.lower() for g in policy.client.protected_paths]
    if any(hint in g for g in globs for hint in SECRET_PATH_HINTS):
        b.fix(
            "Keep secrets out of files the agent can read: inject them at run time with `op run` (1Password) "
            "or `bw` (Bitwarden) instead of .env files."
        )


def _local_model_fix(policy: Policy, catalog: Catalog) -> str:
    local = policy.local_accounts(catalog)
    if local:
        return f"Use the local account {local[0].name!r} instead: `clientguard serve --account {local[0].name}`."
    return (
        "Use a local model: install Ollama with a code model (e.g. `ollama pull qwen2.5-coder`) and add an "
        'account with provider = "ollama", plan = "local".'
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
