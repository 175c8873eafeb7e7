"""Combine what the audit read about an agent with the client's policy into ok / caution / do_not_use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clientguard.errors import ClientguardError
from clientguard.posture.model import AgentPosture, verdict_for

if TYPE_CHECKING:
    from clientguard.policy import Account, Policy

# Plan names agents report that the catalog spells differently (the catalog's own aliases are tried first).
PLAN_SYNONYMS: dict[tuple[str, str], str] = {
    ("openai", "business"): "team",
    ("openai", "education"): "edu",
    ("openai", "hc"): "enterprise",
    ("cursor", "free"): "hobby",
    ("cursor", "pro_plus"): "pro",
    ("cursor", "team"): "teams",
    ("cursor", "business"): "teams",
}
# Providers whose Claude models are served under Anthropic's API terms for the catalog.
PROVIDER_SYNONYMS = {"aws-bedrock": "anthropic", "google-vertex": "anthropic", "azure-foundry": "anthropic"}
CONSUMER_FALLBACK = {("openai", p) for p in ("free", "go", "plus", "pro")} | {("anthropic", p) for p in ("free", "pro", "max")}


def catalog_account(provider: str, plan: str) -> tuple[str, str] | None:
    """The catalog's (provider, plan) for what an agent reported, or None when the catalog has no such plan."""
    from clientguard.policy import load_catalog

    catalog = load_catalog()
    provider_id = catalog.canonical_provider(PROVIDER_SYNONYMS.get(provider, provider))
    if provider_id is None:
        return None
    plan_id = catalog.canonical_plan(provider_id, plan) or catalog.canonical_plan(
        provider_id, PLAN_SYNONYMS.get((provider_id, plan), plan))
    return (provider_id, plan_id) if plan_id else None


def apply_without_policy(posture: AgentPosture) -> None:
    """No client policy: say what the detected plan does with the code, from the provider catalog."""
    # Cursor's reader judges its privacy mode itself; the plan name alone says nothing about training there.
    if not posture.found or not posture.provider or not posture.plan or posture.local_only or posture.agent == "cursor":
        posture.verdict = verdict_for(posture.findings)
        return
    described = _posture_facts(posture.provider, posture.plan)
    consumer = described["consumer"] if described else (posture.provider, posture.plan) in CONSUMER_FALLBACK
    if consumer and not posture.routed_through_clientguard:
        trains = described.get("trains") if described else "may be used for training by default"
        posture.add("plan.consumer_terms", "high",
                    f"{described.get('plan_name') if described else posture.plan} is a consumer plan: prompts and code "
                    f"{trains}; the training switch is an account setting clientguard cannot read locally.",
                    described.get("how") if described and described.get("how") else
                    "switch training off in the account's privacy settings, or sign in with a business/API account")
    posture.add("policy.none", "info",
                "no clientguard.toml found: the verdict covers the agent's setup only, not the client's contract.",
                "clientguard init  # in the client's repository")
    posture.verdict = verdict_for(posture.findings)


def _posture_facts(provider: str, plan: str) -> dict[str, Any] | None:
    try:
        mapped = catalog_account(provider, plan)
        if mapped is None:
            return None
        from clientguard.policy import load_catalog

        p = load_catalog().posture(*mapped)
    except (ClientguardError, ImportError):
        return None
    trains = p.fact("trains_by_default")
    return {
        "consumer": p.is_consumer,
        "plan_name": p.plan_name,
        "trains": "are used for training by default" if trains.value is True else "are not used for training by default",
        "how": p.opt_out_how,
    }


def apply_policy(posture: AgentPosture, policy: "Policy") -> None:
    """Decide with the client's policy for the account the agent actually uses, and set the verdict."""
    from clientguard.policy import decide

    if not posture.found or posture.agent == "environment":
        posture.verdict = verdict_for(posture.findings)
        return
    account, how = _account_for(posture, policy)
    if account is None:
        posture.verdict = verdict_for(posture.findings)
        return
    client = policy.client.name
    try:
        verdict = decide(policy, account, "local")
    except ClientguardError as exc:
        posture.add("policy.undecidable", "medium", f"clientguard cannot decide for {how}: {exc.message}",
                    exc.hint or "name the account in clientguard.toml [[accounts]]")
        posture.verdict = verdict_for(posture.findings)
        return
    reasons = "; ".join(f"{r.clause}: {r.fact.rstrip('.')}" for r in verdict.reasons) or "no reason given"
    fixes = "\n".join(verdict.fixes)
    if verdict.action == "block":
        switch = _allowed_switch(posture, policy)
        posture.add("policy.block", "critical",
                    f"{client}'s contract forbids sending its code under {how}: {reasons}.",
                    "\n".join(x for x in (switch, fixes) if x) or "use an account the contract allows (clientguard check lists them)")
    elif verdict.action == "route_local":
        if posture.local_only:
            posture.add("policy.route_local_ok", "info", f"{client}'s contract allows only a local model, and this agent uses one.")
        else:
            local = verdict.local_account.name if verdict.local_account is not None else None
            posture.add("policy.route_local", "critical",
                        f"{client}'s contract allows only a local model, but this agent sends code to "
                        f"{posture.provider}: {reasons}.",
                        (f"clientguard run -- {_binary(posture.agent)}  # wires it to the local model account {local!r}\n"
                         if local else "") + fixes)
    else:
        for index, caution in enumerate(verdict.cautions):
            posture.add(f"policy.caution.{index + 1}", "low", caution,
                        "record the check in clientguard.toml (opt_out_confirmed = YYYY-MM-DD)")
    if verdict.requires_ledger and not posture.routed_through_clientguard and not posture.local_only:
        fix = (f"clientguard run -- {_binary(posture.agent)}" if posture.agent in ROUTABLE_AGENTS else
               "this agent cannot be routed through clientguard: use Codex, Claude Code or aider with "
               "`clientguard run` for this client's work")
        posture.add("policy.audit_log_required", "high",
                    f"{client}'s contract requires a record of every egress, and this agent's traffic "
                    "bypasses the clientguard ledger.", fix)
    posture.verdict = verdict_for(posture.findings)


# Providers each routable agent can talk to through the gateway.
AGENT_PROVIDERS = {"codex": {"openai", "ollama"}, "claude-code": {"anthropic", "ollama"}}
ROUTABLE_AGENTS = ("codex", "claude-code", "aider", "continue")


def _allowed_switch(posture: AgentPosture, policy: "Policy") -> str:
    """`clientguard run --account NAME -- AGENT` for the first account the contract allows with this agent."""
    from clientguard.policy import decide

    if posture.agent not in ROUTABLE_AGENTS:
        return ""
    # Codex and Claude Code speak one provider's API; aider and Continue can use any provider.
    usable = AGENT_PROVIDERS.get(posture.agent)
    for account in policy.accounts:
        if usable is not None and account.provider not in usable:
            continue
        try:
            if decide(policy, account, "local").action == "allow":
                return (f"switch to the account {account.name!r} ({account.provider} {account.plan}), which the contract "
                        f"allows: clientguard run --account {account.name} -- {_binary(posture.agent)}")
        except ClientguardError:
            continue
    return ""


def _confirmed_setting(posture: AgentPosture) -> str:
    """The account setting line to record: Cursor's privacy mode as read locally, else the training opt-out."""
    if "privacy_mode" in posture.account_facts:
        return f"privacy_mode = {'true' if posture.account_facts['privacy_mode'] else 'false'}"
    return "training_opt_out = false  # true once switched off in the account's privacy settings"


def _check_recorded_facts(posture: AgentPosture, account: "Account") -> None:
    """What clientguard.toml records about the account must match what the machine shows."""
    local = posture.account_facts.get("privacy_mode")
    if local is False and account.privacy_mode is True:
        posture.add("policy.privacy_mode_mismatch", "critical",
                    f"clientguard.toml records privacy_mode = true for the account {account.name!r}, but Cursor's "
                    "own setting on this machine says Privacy Mode is off.",
                    "turn Privacy Mode on in Cursor › Settings › General, or set privacy_mode = false in clientguard.toml")


def _binary(agent: str) -> str:
    return {"claude-code": "claude", "continue": "cn"}.get(agent, agent)


def _account_for(posture: AgentPosture, policy: "Policy") -> tuple["Account | None", str]:
    """The policy's account matching the agent's provider and plan, or one built from what was detected."""
    from clientguard.policy import Account

    if posture.routed_through_clientguard and policy.gateway.account:
        try:
            account = policy.account(policy.gateway.account)
            return account, f"the gateway's account {account.name!r} ({account.provider} {account.plan})"
        except ClientguardError:
            pass
    if not posture.provider or not posture.plan:
        if posture.local_only:
            return None, "a local model"
        posture.add("policy.plan_unknown", "medium",
                    f"the {posture.agent} sign-in and plan could not be read, so the client's policy cannot be applied.",
                    "sign in, then name the account in clientguard.toml [[accounts]] (provider and plan)")
        return None, ""
    try:
        mapped = catalog_account(posture.provider, posture.plan)
    except ClientguardError:
        mapped = None
    if mapped is None:
        posture.add("policy.plan_not_in_catalog", "high",
                    f"{posture.provider} plan {posture.plan!r} is not in the provider catalog: clientguard cannot "
                    "tell what the provider does with the client's code.",
                    "use an account from `clientguard providers`, or route the agent through clientguard with an allowed account")
        return None, ""
    provider, plan = mapped
    for account in policy.accounts:
        if account.provider == provider and account.plan == plan:
            _check_recorded_facts(posture, account)
            return account, f"the account {account.name!r} ({provider} {plan})"
    fields: dict[str, Any] = {"name": f"{provider}-{plan}", "provider": provider, "plan": plan}
    fields.update(posture.account_facts)
    try:
        account = Account.model_validate(fields)
    except Exception as exc:  # pydantic validation of what the agent reported: a finding, not a crash
        posture.add("policy.plan_not_in_catalog", "high", f"{provider} {plan}: {exc}", "")
        return None, ""
    posture.add("policy.account_not_listed", "low",
                f"the {provider} {plan} account {posture.agent} uses is not listed in clientguard.toml, so it is judged "
                "as detected: no training opt-out, ZDR or BAA is assumed.",
                f'add it to clientguard.toml with what you have confirmed:\n[[accounts]]\nname = "{provider}-{plan}"\n'
                f'provider = "{provider}"\nplan = "{plan}"\n' + _confirmed_setting(posture))
    return account, f"the detected {provider} {plan} sign-in (not listed in clientguard.toml, so no opt-out is assumed)"
