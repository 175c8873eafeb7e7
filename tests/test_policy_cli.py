"""`clientguard check`, `providers` and `schema`, run as the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "acme-client" / "clientguard.toml"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clientguard.cli", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=120,
        env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
    )


def write_policy(tmp_path: Path, accounts: str, contract: str = "nda = true") -> Path:
    path = tmp_path / "clientguard.toml"
    path.write_text(f'[client]\nname = "Beta Bank AG"\n\n[contract]\n{contract}\n\n{accounts}', encoding="utf-8")
    return path


TEAM = '[[accounts]]\nname = "work"\nprovider = "openai"\nplan = "team"\n'
PLUS = '[[accounts]]\nname = "personal"\nprovider = "openai"\nplan = "plus"\n'


# ------------------------------------------------------------------------------------------------ check

def test_check_json_on_demo_client_has_the_documented_shape() -> None:
    done = run("check", "--policy", str(EXAMPLE), "--format", "json")
    doc = json.loads(done.stdout)
    assert doc["client"] == "Acme Health GmbH"
    assert [(v["account"], v["action"]) for v in doc["verdicts"]] == [
        ("personal", "block"), ("work", "allow"), ("local", "allow"),
    ]
    first = doc["verdicts"][0]
    assert {"account", "provider", "plan", "mode", "action", "reasons", "fixes"} <= set(first)
    assert (first["provider"], first["plan"], first["mode"]) == ("openai", "plus", "local")
    assert set(first["reasons"][0]) == {"clause", "fact", "source"}
    assert first["reasons"][0]["clause"] == "contract.nda"


def test_check_exits_1_when_any_account_is_blocked() -> None:
    assert run("check", "--policy", str(EXAMPLE), "--format", "json").returncode == 1


def test_check_exits_0_when_the_named_account_is_allowed() -> None:
    assert run("check", "--policy", str(EXAMPLE), "--account", "work").returncode == 0


def test_check_exits_1_on_route_local(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path, TEAM + '[[accounts]]\nname = "llm"\nprovider = "ollama"\nplan = "local"\n',
        contract="no_third_party_processing = true",
    )
    done = run("check", "--policy", str(policy), "--account", "work", "--format", "json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdicts"][0]["action"] == "route_local"


def test_check_cloud_mode_blocks_an_opted_out_consumer_account(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, PLUS + "training_opt_out = true\nopt_out_confirmed = 2026-05-01\n")
    assert run("check", "--policy", str(policy)).returncode == 0
    cloud = run("check", "--policy", str(policy), "--mode", "cloud", "--format", "json")
    assert cloud.returncode == 1
    assert "No cloud tasks on consumer plans" in " ".join(json.loads(cloud.stdout)["verdicts"][0]["fixes"])


def test_check_table_shows_verdicts_reasons_in_contract_words_and_fixes() -> None:
    out = run("check", "--policy", str(EXAMPLE)).stdout
    assert "BLOCK" in out and "ALLOW" in out
    assert "NDA: the client's code and data are confidential" in out
    assert "help.openai.com" in out
    assert "fix 1. Opt out of training" in out


def test_check_finds_the_policy_from_the_current_directory() -> None:
    done = run("check", "--format", "json", cwd=EXAMPLE.parent / "src")
    assert json.loads(done.stdout)["client"] == "Acme Health GmbH"


def test_check_without_a_policy_exits_2_with_a_hint(tmp_path: Path) -> None:
    done = run("check", cwd=tmp_path)
    assert done.returncode == 2
    assert "no clientguard.toml" in done.stderr and "clientguard init" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_with_an_unknown_plan_exits_2_naming_the_line(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, PLUS.replace('"plus"', '"plush"'))
    done = run("check", "--policy", str(policy))
    assert done.returncode == 2
    assert "clientguard.toml:10: accounts[0].plan: unknown plan 'plush'" in done.stderr.replace("\n", "")


def test_check_with_bad_toml_exits_2_with_line_and_hint(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, PLUS, contract="nda = yes")
    done = run("check", "--policy", str(policy))
    assert done.returncode == 2
    assert "clientguard.toml:5:7: not valid TOML" in done.stderr
    assert "write true or false" in done.stderr


def test_check_with_an_unknown_account_exits_2(tmp_path: Path) -> None:
    done = run("check", "--policy", str(EXAMPLE), "--account", "nobody")
    assert done.returncode == 2
    assert "no account named 'nobody'" in done.stderr


def test_check_with_an_unknown_mode_exits_2() -> None:
    assert run("check", "--policy", str(EXAMPLE), "--mode", "remote").returncode == 2


# -------------------------------------------------------------------------------------------- providers

def test_providers_warns_about_facts_older_than_180_days() -> None:
    done = run("providers", "--as-of", "2026-11-26")
    assert done.returncode == 0
    assert "201 d ⚠" in done.stdout
    assert "older than" not in done.stdout
    assert "fact(s) come from sources read more than 180 days before 2026-11-26" in done.stderr.replace("\n", " ")


def test_providers_json_gives_each_fact_its_age_and_staleness() -> None:
    doc = json.loads(run("providers", "--format", "json", "--as-of", "2026-11-26").stdout)
    openai = next(p for p in doc["providers"] if p["id"] == "openai")
    plus = next(p for p in openai["plans"] if p["id"] == "plus")
    fact = plus["facts"]["trains_by_default"]
    assert (fact["value"], fact["retrieved"], fact["age_days"], fact["stale"]) == (True, "2026-05-09", 201, True)
    assert fact["source"].startswith("https://help.openai.com/")
    assert doc["stale_facts"] > 0
    team = next(p for p in openai["plans"] if p["id"] == "team")
    assert team["aliases"] == ["business"]


def test_providers_without_stale_facts_prints_no_warning() -> None:
    done = run("providers", "--provider", "anthropic", "--as-of", "2026-12-01")
    assert done.returncode == 0
    assert "Anthropic" in done.stdout
    assert "warning" not in done.stderr


def test_providers_details_lists_fact_notes() -> None:
    out = run("providers", "--provider", "cursor", "--details", "--as-of", "2026-11-26").stdout
    assert "Privacy Mode" in out and "cursor.com/data-use" in out


def test_providers_with_unknown_provider_exits_2_listing_known() -> None:
    done = run("providers", "--provider", "mistral")
    assert done.returncode == 2
    assert "openai, anthropic, cursor" in done.stderr


def test_providers_with_bad_as_of_date_exits_2() -> None:
    done = run("providers", "--as-of", "yesterday")
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr


# ----------------------------------------------------------------------------------------------- schema

def test_schema_is_a_valid_json_schema_that_accepts_the_demo_policy() -> None:
    schema = json.loads(run("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)


def test_schema_rejects_an_unknown_plan_for_the_provider() -> None:
    schema = json.loads(run("schema").stdout)
    data = json.loads(json.dumps(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")), default=str))
    data["accounts"][0]["plan"] = "max"  # an Anthropic plan, not an OpenAI one
    validator = jsonschema.Draft202012Validator(schema)
    assert any("'max' is not one of" in e.message for e in validator.iter_errors(data))


def test_schema_rejects_unknown_keys() -> None:
    schema = json.loads(run("schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"client": {"name": "x", "nmae": "y"}, "accounts": []}))


def test_schema_output_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "clientguard.schema.json"
    assert run("schema", "--output", str(target)).returncode == 0
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == "clientguard.toml"


def test_catalog_schema_is_printed_with_catalog_flag() -> None:
    schema = json.loads(run("schema", "--catalog").stdout)
    assert "providers" in schema["properties"] and "sources" in schema["properties"]
