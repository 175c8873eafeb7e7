"""Loading clientguard.toml: valid files load with their defaults; bad ones fail with the line, the key,
what is wrong and what would be valid."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clientguard.errors import ClientguardError
from clientguard.policy import Policy, PolicyError, find_policy, load_policy
from clientguard.policy.load import key_lines, line_of

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "acme-client" / "clientguard.toml"

MINIMAL = """\
[client]
name = "Acme Health GmbH"
identifiers = ["Acme Health", "acme-health.de"]
protected_paths = ["secrets/**"]

[contract]
nda = true

[[accounts]]
name = "personal"
provider = "openai"
plan = "plus"

[[accounts]]
name = "work"
provider = "openai"
plan = "team"
"""


def write(tmp_path: Path, text: str, name: str = "clientguard.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return info.value


# ------------------------------------------------------------------------------------------ valid files

def test_demo_client_policy_loads_with_its_accounts() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.client.name == "Acme Health GmbH"
    assert [a.name for a in policy.accounts] == ["personal", "work", "local"]
    assert policy.gateway.account == "work"
    assert policy.repo_root == EXAMPLE.parent


def test_minimal_policy_gets_documented_defaults(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    assert policy.contract.no_third_party_processing is False
    assert policy.contract.audit_log_required is False
    assert policy.contract.gdpr.controller is False and policy.contract.gdpr.authorized_subprocessors == []
    assert policy.contract.hipaa.phi is False
    assert policy.gateway.account is None
    assert policy.scan.allow_paths == []
    assert policy.ledger.keep_prompts is False
    assert policy.path == tmp_path / "clientguard.toml"
    assert policy.repo_root == tmp_path


def test_nda_defaults_to_true_when_the_contract_table_is_missing(tmp_path: Path) -> None:
    text = MINIMAL.replace("[contract]\nnda = true\n", "")
    assert load_policy(write(tmp_path, text)).contract.nda is True


def test_plan_and_provider_aliases_are_stored_as_catalog_ids(tmp_path: Path) -> None:
    text = MINIMAL.replace('plan = "team"', 'plan = "Business"').replace(
        'name = "personal"\nprovider = "openai"', 'name = "personal"\nprovider = "Copilot"'
    ).replace('plan = "plus"', 'plan = "pro"')
    policy = load_policy(write(tmp_path, text))
    assert (policy.accounts[0].provider, policy.accounts[0].plan) == ("github-copilot", "pro")
    assert (policy.accounts[1].provider, policy.accounts[1].plan) == ("openai", "team")


def test_client_repo_resolves_relative_to_the_policy_file(tmp_path: Path) -> None:
    (tmp_path / "client-repo").mkdir()
    conf = tmp_path / "policies"
    conf.mkdir()
    text = MINIMAL.replace('[client]\n', '[client]\nrepo = "../client-repo"\n')
    policy = load_policy(write(conf, text))
    assert policy.repo_root == (tmp_path / "client-repo").resolve()


def test_account_lookup_by_name(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    assert policy.account("work").plan == "team"


def test_unknown_account_lookup_lists_the_names(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, MINIMAL))
    with pytest.raises(PolicyError) as info:
        policy.account("home")
    assert "home" in info.value.message
    assert info.value.hint is not None and "personal, work" in info.value.hint


def test_find_policy_walks_up_from_a_subdirectory(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_policy(deep) == tmp_path / "clientguard.toml"
    assert find_policy(deep / "missing.py") == tmp_path / "clientguard.toml"


def test_find_policy_returns_none_without_a_file(tmp_path: Path) -> None:
    assert find_policy(tmp_path) is None


def test_policy_error_is_a_clientguard_error_with_exit_code_2() -> None:
    assert issubclass(PolicyError, ClientguardError)
    assert PolicyError("x").exit_code == 2


# ------------------------------------------------------------------------------------ TOML syntax errors

def test_toml_syntax_error_names_line_and_column_and_shows_the_line(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace("nda = true", "nda = yes"))
    assert "clientguard.toml:7:7" in err.message
    assert "nda = yes" in err.message
    assert err.hint == "write true or false (lowercase, unquoted) instead of yes"


def test_unquoted_text_value_hint_says_to_quote_it(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('name = "Acme Health GmbH"', "name = Acme"))
    assert ":2:" in err.message
    assert err.hint == 'put text in quotes: "Acme"'


def test_repeated_table_hint_points_to_array_of_tables(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "\n[contract]\nnda = false\n")
    assert "not valid TOML" in err.message
    assert err.hint is not None and "[[accounts]]" in err.hint


def test_unclosed_table_header_says_how_headers_look(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace("[contract]", "[contract"))
    assert ":6:" in err.message
    assert err.hint is not None and "[client]" in err.hint


# -------------------------------------------------------------------------------------- validation errors

def test_unknown_plan_names_line_key_and_lists_known_plans(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('plan = "plus"', 'plan = "plush"'))
    assert err.message.startswith(f"{tmp_path / 'clientguard.toml'}:12: accounts[0].plan: unknown plan 'plush'")
    assert "free, go, plus, pro, team (or business), enterprise, edu, api" in err.message


def test_unknown_provider_lists_known_providers(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('provider = "openai"\nplan = "team"', 'provider = "mistral"\nplan = "team"'))
    assert ":16: accounts[1].provider: unknown provider 'mistral'" in err.message
    assert "openai, anthropic, cursor, github-copilot, google, ollama" in err.message


def test_unknown_key_suggests_the_close_one_and_lists_valid_keys(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace("nda = true", "nda = true\naudit_log_requried = true"))
    assert ":8: contract.audit_log_requried: unknown key 'audit_log_requried' in [contract]" in err.message
    assert "did you mean 'audit_log_required'?" in err.message
    assert "valid keys here: nda, no_third_party_processing, audit_log_required, gdpr, hipaa" in err.message


def test_quoted_boolean_says_true_or_false(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace("nda = true", 'nda = "maybe"'))
    assert ":7: contract.nda: expected true or false (unquoted), got 'maybe'" in err.message


def test_missing_required_key_points_at_its_table(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('name = "work"\n', ""))
    assert ":14: accounts[1].name: missing required key 'name' in [[accounts]]" in err.message


def test_no_accounts_says_how_to_add_one(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.split("[[accounts]]")[0])
    assert "at least one [[accounts]] table is needed" in err.message


def test_date_given_as_text_asks_for_a_toml_date(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('plan = "plus"', 'plan = "plus"\ntraining_opt_out = true\nopt_out_confirmed = "May 1st"'))
    assert ":14: accounts[0].opt_out_confirmed: expected a date like 2026-05-01" in err.message


def test_opt_out_date_in_the_future_is_rejected(tmp_path: Path) -> None:
    future = date(date.today().year + 2, 1, 1).isoformat()
    err = load_error(tmp_path, MINIMAL.replace('plan = "plus"', f'plan = "plus"\nopt_out_confirmed = {future}'))
    assert "is in the future" in err.message


def test_duplicate_account_names_point_at_the_second(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('name = "work"', 'name = "personal"'))
    assert ":15: accounts[1].name: two accounts are named 'personal'" in err.message


def test_gateway_account_must_be_one_of_the_accounts(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + '\n[gateway]\naccount = "wrok"\n')
    assert ":20: gateway.account: [gateway] account 'wrok' is not one of the accounts: personal, work" in err.message


def test_privacy_mode_on_a_non_cursor_account_is_rejected(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('plan = "plus"', 'plan = "plus"\nprivacy_mode = true'))
    assert ":13: accounts[0].privacy_mode: privacy_mode applies to Cursor accounts only" in err.message


def test_short_identifier_is_rejected_as_too_generic(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('"Acme Health", ', '"AH", '))
    assert ":3: client.identifiers: identifier 'AH' is shorter than 3 characters" in err.message


def test_absolute_protected_path_is_rejected(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace('"secrets/**"', '"/etc/secrets/**"'))
    assert ":4: client.protected_paths: protected path '/etc/secrets/**' must be relative" in err.message


def test_unknown_subprocessor_lists_known_providers(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + '\n[contract.gdpr]\ncontroller = true\nauthorized_subprocessors = ["azure"]\n')
    assert "contract.gdpr.authorized_subprocessors: unknown provider 'azure'; known providers: openai" in err.message


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = MINIMAL.replace('plan = "plus"', 'plan = "plush"').replace('plan = "team"', 'plan = "teams"')
    err = load_error(tmp_path, text)
    assert "2 problems" in err.message
    assert ":12: accounts[0].plan" in err.message and ":17: accounts[1].plan" in err.message


def test_client_repo_that_is_not_a_directory_is_an_error(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL.replace("[client]\n", '[client]\nrepo = "nowhere"\n'))
    assert ":2: client.repo: 'nowhere' is not a directory" in err.message


# ------------------------------------------------------------------------------------------- bad files

def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.toml")
    assert "policy file not found" in info.value.message
    assert "clientguard init" in (info.value.hint or "")


def test_directory_instead_of_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is a directory"):
        load_policy(tmp_path)


def test_non_utf8_file_names_the_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "clientguard.toml"
    path.write_bytes(MINIMAL.replace("Acme Health GmbH", "Acme M\xfcnchen").encode("latin-1"))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert ":2: not UTF-8 text (byte 0xfc" in info.value.message


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "# " + "x" * 1_100_000 + "\n")
    with pytest.raises(PolicyError, match="at most 1000000 bytes"):
        load_policy(path)


# ------------------------------------------------------------------------------------------ line index

def test_key_lines_maps_tables_array_entries_dotted_and_multiline_values() -> None:
    text = (
        "[client]\n"
        "name = \"x\"\n"
        "identifiers = [\n"
        "  \"a = b\",  # not a key\n"
        "  \"[not] a table\",\n"
        "]\n"
        'notes = """\n'
        "plan = nope\n"
        '"""\n'
        "[[accounts]]\n"
        "name = \"one\"\n"
        "[[accounts]]\n"
        "limits.daily = 3\n"
        "[contract.gdpr]\n"
        "controller = true\n"
    )
    lines = key_lines(text)
    assert lines[("client", "identifiers")] == 3
    assert ("client", "plan") not in lines
    assert lines[("accounts", 0)] == 10
    assert lines[("accounts", 0, "name")] == 11
    assert lines[("accounts", 1)] == 12
    assert lines[("accounts", 1, "limits", "daily")] == 13
    assert lines[("contract", "gdpr", "controller")] == 15
    assert line_of(lines, ("accounts", 1, "plan")) == 12
    assert line_of(lines, ("client", "identifiers", 1)) == 3


def test_loaded_policy_is_the_interface_type(tmp_path: Path) -> None:
    assert isinstance(load_policy(write(tmp_path, MINIMAL)), Policy)


def test_single_bracket_accounts_table_says_to_use_double_brackets(tmp_path: Path) -> None:
    text = '[client]\nname = "X GmbH"\n\n[accounts]\nname = "a"\nprovider = "openai"\nplan = "team"\n'
    err = load_error(tmp_path, text)
    assert ":4: accounts: accounts are an array of tables: write [[accounts]]" in err.message


def test_empty_file_asks_for_client_and_accounts(tmp_path: Path) -> None:
    err = load_error(tmp_path, "# nothing yet\n")
    assert "2 problems" in err.message
    assert "missing the [client] table" in err.message
    assert "at least one [[accounts]] table is needed" in err.message
