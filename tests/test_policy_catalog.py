"""The provider catalog: a data file with a schema; every fact sourced and dated; lookups by id and alias."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from clientguard.policy import CatalogError, load_catalog
from clientguard.policy.catalog import DEFAULT_CATALOG_PATH, FACT_NAMES, catalog_json_schema, parse_catalog

# The plans the catalog must cover (issue 4), by provider.
REQUIRED_PLANS = {
    "openai": ["free", "plus", "pro", "team", "enterprise", "edu", "api", "go", "business"],
    "anthropic": ["free", "pro", "max", "team", "enterprise", "api"],
    "cursor": ["hobby", "pro", "teams", "business", "enterprise"],
    "github-copilot": ["individual", "free", "pro", "business", "enterprise"],
    "google": ["individual", "standard", "enterprise"],
    "ollama": ["local"],
}

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize("provider,plan", [(p, plan) for p, plans in REQUIRED_PLANS.items() for plan in plans])
def test_required_plan_resolves_to_a_posture(provider: str, plan: str) -> None:
    posture = load_catalog().posture(provider, plan)
    assert posture.provider == provider
    assert set(posture.facts) == set(FACT_NAMES)


def test_every_fact_has_a_source_url_and_retrieval_date() -> None:
    for posture in load_catalog().postures():
        for fact in posture.facts.values():
            assert re.match(r"^https://\S+$", fact.source.url), (posture.plan, fact.name)
            assert isinstance(fact.source.retrieved, date)
            assert fact.source.retrieved <= TODAY


def test_openai_design_facts_are_dated_2026_05_09_and_stale_after_180_days() -> None:
    catalog = load_catalog()
    trains = catalog.posture("openai", "plus").fact("trains_by_default")
    assert trains.source.retrieved == date(2026, 5, 9)
    assert trains.age_days(TODAY) == 201
    assert trains.age_days(TODAY) > catalog.stale_after_days == 180


def test_facts_read_through_summaries_say_so_in_a_note() -> None:
    source = load_catalog().posture("openai", "team").fact("dpa").source
    assert source.note is not None and "not re-fetched" in source.note


def test_go_and_business_resolve_for_openai() -> None:
    catalog = load_catalog()
    assert catalog.posture("openai", "go").is_consumer
    business = catalog.posture("openai", "business")
    assert business.plan == "team" and business.tier == "business"


def test_consumer_plans_train_by_default_and_business_plans_do_not() -> None:
    catalog = load_catalog()
    assert catalog.posture("openai", "plus").trains_by_default()
    assert catalog.posture("anthropic", "max").trains_by_default()
    assert catalog.posture("github-copilot", "pro").trains_by_default()
    assert not catalog.posture("openai", "api").trains_by_default()
    assert not catalog.posture("github-copilot", "business").trains_by_default()


def test_unknown_training_fact_counts_as_training() -> None:
    assert load_catalog().posture("ollama", "cloud").trains_by_default()


def test_cursor_switches_training_off_with_privacy_mode() -> None:
    assert load_catalog().posture("cursor", "pro").opt_out_setting == "privacy_mode"


def test_provider_aliases_resolve_case_insensitively() -> None:
    catalog = load_catalog()
    assert catalog.canonical_provider("Copilot") == "github-copilot"
    assert catalog.canonical_provider("gemini") == "google"
    assert catalog.canonical_provider("claude") == "anthropic"
    assert catalog.canonical_provider("mistral") is None


def test_unknown_provider_error_lists_known_providers() -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog().posture("mistral", "pro")
    assert info.value.hint == "known providers: openai, anthropic, cursor, github-copilot, google, ollama"


def test_unknown_plan_error_lists_known_plans_with_aliases() -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog().posture("openai", "platinum")
    assert info.value.hint == "known plans: free, go, plus, pro, team (or business), enterprise, edu, api"


def _catalog_text() -> str:
    return DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")


def test_fact_pointing_at_an_unknown_source_is_rejected(tmp_path: Path) -> None:
    text = _catalog_text().replace('source = "openai-training" }', 'source = "openai-trainig" }', 1)
    with pytest.raises(CatalogError, match="unknown source 'openai-trainig'"):
        parse_catalog(text, tmp_path / "providers.toml")


def test_posture_missing_a_fact_is_rejected(tmp_path: Path) -> None:
    text = re.sub(r"(?m)^facts\.zdr = .*openai-business.*\n", "", _catalog_text(), count=1)
    with pytest.raises(CatalogError, match=r"facts\.zdr.*Field required"):
        parse_catalog(text, tmp_path / "providers.toml")


def test_boolean_fact_with_free_text_is_rejected(tmp_path: Path) -> None:
    text = _catalog_text().replace('facts.dpa = { value = false, source = "openai-business"',
                                   'facts.dpa = { value = "sometimes", source = "openai-business"', 1)
    with pytest.raises(CatalogError, match="value must be true, false or \"unknown\""):
        parse_catalog(text, tmp_path / "providers.toml")


def test_source_without_retrieval_date_is_rejected(tmp_path: Path) -> None:
    text = _catalog_text().replace("retrieved = 2026-05-09\n", "", 1)
    with pytest.raises(CatalogError, match=r"sources\.openai-training\.retrieved"):
        parse_catalog(text, tmp_path / "providers.toml")


def test_catalog_with_bad_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="providers.toml: not valid TOML"):
        parse_catalog("schema_version = \n", tmp_path / "providers.toml")


def test_catalog_file_from_a_path_loads(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(_catalog_text(), encoding="utf-8")
    assert load_catalog(path).path == path


def test_missing_catalog_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read provider catalog"):
        load_catalog(tmp_path / "missing.toml")


def test_catalog_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(catalog_json_schema())


def test_every_source_is_cited_by_some_fact() -> None:
    catalog = load_catalog()
    cited = {f.source.url for p in catalog.postures() for f in p.facts.values()}
    assert {s.url for s in catalog.data.sources.values()} == cited
