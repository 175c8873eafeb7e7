"""decide(): the full matrix of contract clauses x provider plans x modes, each cell asserting the
action and the reasons, plus the behaviours around it (cautions, fixes, route_local, ledger)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clientguard.policy import Policy, PolicyError, decide, load_catalog, parse_policy

# Every plan in the catalog, sorted into the postures the contract rules care about. This table is
# the specification: test_every_catalog_plan_is_in_the_matrix fails when the catalog gains a plan,
# and test_plan_categories_match_catalog_facts fails when a plan's facts move it to another row.
CONSUMER = "consumer"        # personal terms: trains by default, opt-out exists, no DPA, no BAA (or none known)
TEAM = "team"                # business terms: no training, DPA, no BAA
ENTERPRISE = "enterprise"    # business terms: no training, DPA, BAA available
BUSINESS_BAA_UNKNOWN = "business-baa-unknown"  # no training, DPA, no BAA published
LOCAL = "local"              # model on this machine
UNKNOWN_REMOTE = "unknown-remote"  # remote, nothing known: fail closed

PLAN_CATEGORY: dict[tuple[str, str], str] = {
    **{("openai", p): CONSUMER for p in ("free", "go", "plus", "pro")},
    ("openai", "team"): TEAM,
    **{("openai", p): ENTERPRISE for p in ("enterprise", "edu", "api")},
    **{("anthropic", p): CONSUMER for p in ("free", "pro", "max")},
    ("anthropic", "team"): TEAM,
    **{("anthropic", p): ENTERPRISE for p in ("enterprise", "api")},
    **{("cursor", p): CONSUMER for p in ("hobby", "pro", "ultra")},
    **{("cursor", p): BUSINESS_BAA_UNKNOWN for p in ("teams", "enterprise")},
    **{("github-copilot", p): CONSUMER for p in ("individual", "free", "pro", "pro-plus")},
    **{("github-copilot", p): BUSINESS_BAA_UNKNOWN for p in ("business", "enterprise")},
    ("google", "individual"): CONSUMER,
    **{("google", p): BUSINESS_BAA_UNKNOWN for p in ("standard", "enterprise")},
    ("ollama", "local"): LOCAL,
    ("ollama", "cloud"): UNKNOWN_REMOTE,
}

REMOTE = (CONSUMER, TEAM, ENTERPRISE, BUSINESS_BAA_UNKNOWN, UNKNOWN_REMOTE)
ALLOW_LOCAL = ("allow", ["local-model"])


def _same(expect: tuple[str, list[str]]) -> tuple[tuple[str, list[str]], tuple[str, list[str]]]:
    return expect, expect


# scenario -> category -> ((action, reason codes) in local mode, (action, reason codes) in cloud mode)
EXPECTED: dict[str, dict[str, tuple[tuple[str, list[str]], tuple[str, list[str]]]]] = {
    "no_clauses": {
        **{c: _same(("allow", ["no-clause"])) for c in REMOTE},
        LOCAL: _same(ALLOW_LOCAL),
    },
    "nda": {
        CONSUMER: (("block", ["nda-training"]), ("block", ["nda-training", "cloud-consumer"])),
        TEAM: _same(("allow", ["nda-no-training"])),
        ENTERPRISE: _same(("allow", ["nda-no-training"])),
        BUSINESS_BAA_UNKNOWN: _same(("allow", ["nda-no-training"])),
        LOCAL: _same(ALLOW_LOCAL),
        UNKNOWN_REMOTE: (("block", ["nda-training"]), ("block", ["nda-training", "cloud-consumer"])),
    },
    "nda_opted_out": {
        CONSUMER: (("allow", ["nda-opted-out"]), ("block", ["cloud-consumer"])),
        TEAM: _same(("allow", ["nda-no-training"])),
        ENTERPRISE: _same(("allow", ["nda-no-training"])),
        BUSINESS_BAA_UNKNOWN: _same(("allow", ["nda-no-training"])),
        LOCAL: _same(ALLOW_LOCAL),
        # ollama.com cloud models publish no opt-out: a claimed opt-out cannot count.
        UNKNOWN_REMOTE: (("block", ["nda-training"]), ("block", ["nda-training", "cloud-consumer"])),
    },
    "no_third_party": {
        **{c: _same(("block", ["no-third-party"])) for c in REMOTE},
        LOCAL: _same(ALLOW_LOCAL),
    },
    "no_third_party_with_local_account": {
        **{c: _same(("route_local", ["no-third-party"])) for c in REMOTE},
        LOCAL: _same(ALLOW_LOCAL),
    },
    "gdpr_provider_authorized": {
        CONSUMER: (("block", ["gdpr-no-dpa"]), ("block", ["gdpr-no-dpa", "cloud-consumer"])),
        TEAM: _same(("allow", ["gdpr-ok"])),
        ENTERPRISE: _same(("allow", ["gdpr-ok"])),
        BUSINESS_BAA_UNKNOWN: _same(("allow", ["gdpr-ok"])),
        LOCAL: _same(ALLOW_LOCAL),
        UNKNOWN_REMOTE: (("block", ["gdpr-no-dpa"]), ("block", ["gdpr-no-dpa", "cloud-consumer"])),
    },
    "gdpr_provider_not_authorized": {
        CONSUMER: (
            ("block", ["gdpr-not-authorized", "gdpr-no-dpa"]),
            ("block", ["gdpr-not-authorized", "gdpr-no-dpa", "cloud-consumer"]),
        ),
        TEAM: _same(("block", ["gdpr-not-authorized"])),
        ENTERPRISE: _same(("block", ["gdpr-not-authorized"])),
        BUSINESS_BAA_UNKNOWN: _same(("block", ["gdpr-not-authorized"])),
        LOCAL: _same(ALLOW_LOCAL),
        UNKNOWN_REMOTE: (
            ("block", ["gdpr-not-authorized", "gdpr-no-dpa"]),
            ("block", ["gdpr-not-authorized", "gdpr-no-dpa", "cloud-consumer"]),
        ),
    },
    "hipaa_baa_signed": {
        CONSUMER: _same(("block", ["hipaa-no-baa"])),
        TEAM: _same(("block", ["hipaa-no-baa"])),
        ENTERPRISE: _same(("allow", ["hipaa-ok"])),
        BUSINESS_BAA_UNKNOWN: _same(("block", ["hipaa-no-baa"])),
        LOCAL: _same(ALLOW_LOCAL),
        UNKNOWN_REMOTE: _same(("block", ["hipaa-no-baa"])),
    },
    "hipaa_baa_not_signed": {
        CONSUMER: _same(("block", ["hipaa-no-baa"])),
        TEAM: _same(("block", ["hipaa-no-baa"])),
        ENTERPRISE: _same(("block", ["hipaa-baa-unsigned"])),
        BUSINESS_BAA_UNKNOWN: _same(("block", ["hipaa-no-baa"])),
        LOCAL: _same(ALLOW_LOCAL),
        UNKNOWN_REMOTE: _same(("block", ["hipaa-no-baa"])),
    },
    "audit_log_required": {
        **{c: _same(("allow", ["no-clause"])) for c in REMOTE},
        LOCAL: _same(ALLOW_LOCAL),
    },
}

# The contract clause each reason code cites.
REASON_CLAUSE = {
    "no-clause": "contract",
    "local-model": "local",
    "nda-training": "contract.nda",
    "nda-opted-out": "contract.nda",
    "nda-no-training": "contract.nda",
    "cloud-consumer": "contract.nda",  # or contract.gdpr.controller when only GDPR applies; see _clause
    "no-third-party": "contract.no_third_party_processing",
    "gdpr-ok": "contract.gdpr.controller",
    "gdpr-no-dpa": "contract.gdpr.controller",
    "gdpr-not-authorized": "contract.gdpr.authorized_subprocessors",
    "hipaa-ok": "contract.hipaa.phi",
    "hipaa-no-baa": "contract.hipaa.phi",
    "hipaa-baa-unsigned": "contract.hipaa.phi",
}


def _clause(code: str, scenario: str) -> str:
    if code == "cloud-consumer" and not scenario.startswith("nda"):
        return "contract.gdpr.controller"
    return REASON_CLAUSE[code]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def scenario_policy(scenario: str, provider: str, plan: str) -> Policy:
    """A policy with one account `acct` on provider/plan and the contract of the scenario."""
    nda = scenario in ("nda", "nda_opted_out")
    contract = {
        "nda": "true" if nda else "false",
        "no_third_party_processing": "true" if scenario.startswith("no_third_party") else "false",
        "audit_log_required": "true" if scenario == "audit_log_required" else "false",
    }
    gdpr_controller = scenario.startswith("gdpr")
    authorized = [provider] if scenario == "gdpr_provider_authorized" else []
    phi = scenario.startswith("hipaa")
    account_lines = [f'name = "acct"', f'provider = "{provider}"', f'plan = "{plan}"']
    if scenario == "nda_opted_out":
        setting = "privacy_mode" if provider == "cursor" else "training_opt_out"
        account_lines += [f"{setting} = true", "opt_out_confirmed = 2026-05-01"]
    if scenario == "hipaa_baa_signed":
        account_lines.append("baa_signed = true")
    extra_accounts = ""
    if scenario == "no_third_party_with_local_account" and (provider, plan) != ("ollama", "local"):
        extra_accounts = '\n[[accounts]]\nname = "local-llm"\nprovider = "ollama"\nplan = "local"\n'
    text = f"""
[client]
name = "Matrix Client GmbH"
protected_paths = ["data/**"]

[contract]
nda = {contract['nda']}
no_third_party_processing = {contract['no_third_party_processing']}
audit_log_required = {contract['audit_log_required']}

[contract.gdpr]
controller = {'true' if gdpr_controller else 'false'}
authorized_subprocessors = {_toml_list(authorized)}

[contract.hipaa]
phi = {'true' if phi else 'false'}

[[accounts]]
{chr(10).join(account_lines)}
{extra_accounts}"""
    return parse_policy(text, Path("/nonexistent/clientguard.toml"))


MATRIX = [
    pytest.param(scenario, provider, plan, mode, id=f"{scenario}-{provider}-{plan}-{mode}")
    for scenario in EXPECTED
    for (provider, plan) in PLAN_CATEGORY
    for mode in ("local", "cloud")
]


@pytest.mark.parametrize("scenario,provider,plan,mode", MATRIX)
def test_decision_matrix_cell(scenario: str, provider: str, plan: str, mode: str) -> None:
    category = PLAN_CATEGORY[(provider, plan)]
    local_expect, cloud_expect = EXPECTED[scenario][category]
    action, codes = local_expect if mode == "local" else cloud_expect
    verdict = decide(scenario_policy(scenario, provider, plan), "acct", mode)
    assert verdict.action == action
    assert verdict.reason_codes() == codes
    assert [r.clause for r in verdict.reasons] == [_clause(code, scenario) for code in codes]
    for reason in verdict.reasons:
        assert reason.fact and reason.source
    assert verdict.requires_ledger is (scenario == "audit_log_required")
    if action != "allow":
        assert verdict.fixes, "every block or route_local verdict says how to fix it"


def test_every_catalog_plan_is_in_the_matrix() -> None:
    catalog = load_catalog()
    in_catalog = {(p.provider, p.plan) for p in catalog.postures()}
    assert in_catalog == set(PLAN_CATEGORY)


@pytest.mark.parametrize("provider,plan", list(PLAN_CATEGORY))
def test_plan_categories_match_catalog_facts(provider: str, plan: str) -> None:
    posture = load_catalog().posture(provider, plan)
    category = PLAN_CATEGORY[(provider, plan)]
    facts = {name: f.value for name, f in posture.facts.items()}
    if category == CONSUMER:
        assert posture.tier == "consumer"
        assert (facts["trains_by_default"], facts["training_opt_out"], facts["dpa"]) == (True, True, False)
        assert facts["baa"] is not True
    elif category == TEAM:
        assert (facts["trains_by_default"], facts["dpa"], facts["baa"]) == (False, True, False)
    elif category == ENTERPRISE:
        assert (facts["trains_by_default"], facts["dpa"], facts["baa"]) == (False, True, True)
    elif category == BUSINESS_BAA_UNKNOWN:
        assert (facts["trains_by_default"], facts["dpa"], facts["baa"]) == (False, True, "unknown")
    elif category == LOCAL:
        assert posture.tier == "local"
    else:
        assert posture.tier == "consumer" and facts["trains_by_default"] == "unknown"


# ------------------------------------------------------------------------ behaviours around the matrix

def test_opted_out_consumer_account_carries_the_not_retroactive_caution() -> None:
    verdict = decide(scenario_policy("nda_opted_out", "openai", "plus"), "acct", "local")
    assert verdict.action == "allow"
    assert any("not retroactive" in c and "per account" in c for c in verdict.cautions)


def test_opted_out_without_a_confirmation_date_asks_to_record_one() -> None:
    policy = parse_policy(
        '[client]\nname = "X GmbH"\n[[accounts]]\nname = "acct"\nprovider = "anthropic"\nplan = "pro"\n'
        "training_opt_out = true\n",
        Path("/nonexistent/clientguard.toml"),
    )
    verdict = decide(policy, "acct", "local")
    assert verdict.action == "allow"
    assert any("opt_out_confirmed" in c for c in verdict.cautions)


def test_cursor_individual_plan_is_opted_out_by_privacy_mode_not_training_opt_out() -> None:
    text = '[client]\nname = "X GmbH"\n[[accounts]]\nname = "acct"\nprovider = "cursor"\nplan = "pro"\n'
    assert decide(parse_policy(text + "training_opt_out = true\n", Path("/n/c.toml")), "acct", "local").action == "block"
    assert decide(parse_policy(text + "privacy_mode = true\n", Path("/n/c.toml")), "acct", "local").action == "allow"


def test_route_local_names_the_local_account_to_use() -> None:
    verdict = decide(scenario_policy("no_third_party_with_local_account", "openai", "api"), "acct", "local")
    assert verdict.action == "route_local"
    assert verdict.local_account is not None and verdict.local_account.name == "local-llm"
    assert any("local-llm" in fix for fix in verdict.fixes)


def test_block_without_local_account_suggests_installing_a_local_model() -> None:
    verdict = decide(scenario_policy("no_third_party", "anthropic", "api"), "acct", "local")
    assert any("Ollama" in fix for fix in verdict.fixes)


def test_nda_block_on_consumer_plan_offers_opt_out_business_and_temporary_chat_fixes() -> None:
    fixes = " ".join(decide(scenario_policy("nda", "openai", "plus"), "acct", "local").fixes)
    assert "training_opt_out = true" in fixes
    assert "Temporary Chat" in fixes
    assert "business workspace" in fixes


def test_cursor_block_fix_is_privacy_mode() -> None:
    fixes = " ".join(decide(scenario_policy("nda", "cursor", "pro"), "acct", "local").fixes)
    assert "Privacy Mode" in fixes and "privacy_mode = true" in fixes


def test_cloud_block_on_consumer_plan_says_no_cloud_tasks() -> None:
    verdict = decide(scenario_policy("nda_opted_out", "openai", "plus"), "acct", "cloud")
    assert any("No cloud tasks on consumer plans" in fix for fix in verdict.fixes)


def test_audit_log_required_adds_the_ledger_fix() -> None:
    verdict = decide(scenario_policy("audit_log_required", "openai", "team"), "acct", "local")
    assert verdict.requires_ledger
    assert any("audit log" in fix and "clientguard serve" in fix for fix in verdict.fixes)


def test_cloud_mode_on_business_plan_cautions_that_protected_paths_must_not_be_committed() -> None:
    verdict = decide(scenario_policy("nda", "openai", "enterprise"), "acct", "cloud")
    assert verdict.action == "allow"
    assert any("data/**" in c for c in verdict.cautions)


def test_reason_source_cites_catalog_url_and_retrieval_date() -> None:
    reason = decide(scenario_policy("nda", "openai", "plus"), "acct", "local").reasons[0]
    assert reason.source.startswith("https://help.openai.com/")
    assert "retrieved 2026-05-09" in reason.source


def test_local_account_with_non_loopback_base_url_gets_a_caution() -> None:
    policy = parse_policy(
        '[client]\nname = "X GmbH"\n[[accounts]]\nname = "gpu"\nprovider = "ollama"\nplan = "local"\n'
        'base_url = "http://10.0.0.5:11434"\n',
        Path("/n/clientguard.toml"),
    )
    verdict = decide(policy, "gpu", "local")
    assert verdict.action == "allow"
    assert any("not a loopback address" in c for c in verdict.cautions)


def test_unknown_mode_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="unknown mode 'remote'"):
        decide(scenario_policy("nda", "openai", "team"), "acct", "remote")


def test_unknown_account_name_lists_the_accounts() -> None:
    with pytest.raises(PolicyError) as info:
        decide(scenario_policy("nda", "openai", "team"), "nobody", "local")
    assert "nobody" in info.value.message and "acct" in (info.value.hint or "")


def test_decide_is_pure_same_inputs_same_verdict_and_no_mutation() -> None:
    policy = scenario_policy("gdpr_provider_not_authorized", "anthropic", "pro")
    before = policy.model_dump()
    first = decide(policy, "acct", "cloud")
    second = decide(policy, "acct", "cloud")
    assert first == second
    assert policy.model_dump() == before


def test_verdict_json_shape_has_the_documented_keys() -> None:
    data = decide(scenario_policy("nda", "openai", "plus"), "acct", "local").to_dict()
    assert {"account", "provider", "plan", "mode", "action", "reasons", "fixes"} <= set(data)
    assert set(data["reasons"][0]) == {"clause", "fact", "source"}


def test_opt_out_confirmed_long_ago_gets_a_recheck_caution_when_today_is_given() -> None:
    policy = scenario_policy("nda_opted_out", "openai", "plus")  # confirmed 2026-05-01
    aged = decide(policy, "acct", "local", today=date(2026, 11, 26))
    fresh = decide(policy, "acct", "local", today=date(2026, 6, 1))
    assert any("last confirmed 209 days ago" in c for c in aged.cautions)
    assert not any("last confirmed" in c for c in fresh.cautions)
    assert not any("last confirmed" in c for c in decide(policy, "acct", "local").cautions)


def test_zdr_claim_on_a_plan_without_zdr_gets_a_caution() -> None:
    policy = parse_policy(
        '[client]\nname = "X GmbH"\n[[accounts]]\nname = "acct"\nprovider = "openai"\nplan = "team"\nzdr = true\n',
        Path("/n/clientguard.toml"),
    )
    verdict = decide(policy, "acct", "local")
    assert verdict.action == "allow"
    assert any("zdr = true" in c for c in verdict.cautions)
