"""bench/labelled.py reads labelled examples the way gitleaks and Presidio write them, and runs end to end.

The rule file and the recognizer test below are written here in the shape of those projects' files (Go
rule functions with tps/fps lists, pytest parametrize tables); their values are made up.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

GO_RULES = '''
package rules

func AcmeToken() *config.Rule {
	r := config.Rule{
		RuleID: "acme-token",
		Regex:  utils.GenerateUniqueTokenRegex(`acme_[a-f0-9]{32}`, false),
	}
	tps := utils.GenerateSampleSecrets("acme", "acme_"+secrets.NewSecret(utils.Hex("32")))
	tps = append(tps, `ACME_TOKEN=acme_00000000111111112222222233333333`)
	fps := []string{
		// too short
		"acme_0000",
		`acme_token = "${ACME_TOKEN}"`,
	}
	return utils.Validate(r, tps, fps)
}

func Unparsed() *config.Rule {
	r := config.Rule{RuleID: "unparsed"}
	tps := someHelper(42)
	return utils.Validate(r, tps, nil)
}
'''

PRESIDIO_TEST = '''
import pytest

@pytest.mark.parametrize(
    "text, expected_len, expected_positions",
    [
        ("call me at +44 20 7946 0958 today", 1, ((11, 27),)),
        ("no number here", 0, ()),
    ],
)
def test_phone(text, expected_len, expected_positions):
    pass
'''

NOSEYPARKER_RULES = """
rules:
- name: Acme Token
  id: np.acme.1
  pattern: 'acme_[a-f0-9]{32}'
  categories: [api, secret]
  examples:
  - 'ACME_TOKEN=acme_00000000111111112222222233333333'
  - |
    acme:
      token: acme_00000000111111112222222233333333
  negative_examples:
  - 'acme_token = "${ACME_TOKEN}"'

- name: Acme Bucket
  id: np.acme.2
  pattern: '[a-z-]+\\.acme-storage\\.test'
  categories: [identifier]
  examples:
  - 'assets.acme-storage.test'
"""

KINGFISHER_RULES = """
rules:
  - name: Acme Token
    id: kingfisher.acme.1
    pattern: '(?x) acme_[a-f0-9]{32}'
    examples:
      - 'ACME_TOKEN="acme_{token}"'
    negative_examples:
      - 'acme_token = "${ACME_TOKEN}"'
  - name: Acme Tenant
    id: kingfisher.acme.2
    pattern: '[a-z-]+\\.acme\\.test'
    visible: false
    examples:
      - 'tenant.acme.test'
  - name: Acme Client ID
    id: kingfisher.acme.3
    pattern: 'acme_client_[0-9]{8}'
    categories: [api, identifier]
    examples:
      - 'acme_client_12345678'
"""

TRUFFLEHOG_TEST = """
package acme

var (
	validPattern   = "acme_00000000111111112222222233333333"
	invalidPattern = "acme_0000"
	keyword        = "acme"
)

func TestAcme_Pattern(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{
			name:  "valid pattern - with keyword acme",
			input: fmt.Sprintf("%s token = '%s'", keyword, validPattern),
			want:  []string{validPattern},
		},
		{
			name: "valid pattern - in a log",
			input: `
				[DEBUG] Using acme Key=acme_00000000111111112222222233333333
			`,
			want: []string{"acme_00000000111111112222222233333333"},
		},
		{
			name:  "invalid pattern",
			input: fmt.Sprintf("%s = '%s'", keyword, invalidPattern),
			want:  []string{},
		},
		{
			name:  "unknown helper",
			input: makeInput(keyword),
			want:  nil,
		},
	}
}
"""


@pytest.fixture(scope="module")
def labelled():
    spec = importlib.util.spec_from_file_location("labelled_bench", ROOT / "bench" / "labelled.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_gitleaks_examples_are_rebuilt_from_go_expressions(tmp_path, labelled):
    (tmp_path / "acme.go").write_text(GO_RULES, encoding="utf-8")
    examples = list(labelled.gitleaks_examples(tmp_path, random.Random(1)))
    positives = [text for rid, positive, text in examples if positive]
    negatives = [text for rid, positive, text in examples if not positive]
    assert {rid for rid, _, _ in examples} == {"acme-token"}  # the rule it cannot evaluate is skipped
    assert len(positives) == len(labelled.SAMPLE_FORMS) + 1
    assert negatives == ["acme_0000", 'acme_token = "${ACME_TOKEN}"']
    generated = [re.search(r"acme_[a-f0-9]{32}", text) for text in positives[:-1]]
    assert all(generated), positives[:3]
    assert len({m.group(0) for m in generated}) == 1  # one secret, written in every sample form
    assert positives[-1] == "ACME_TOKEN=acme_00000000111111112222222233333333"


def test_regex_samples_match_their_regex(labelled):
    rng = random.Random(3)
    for pattern in [r"[A-Z2-7]{16}", r"sk-ant-api03-[a-zA-Z0-9_\-]{93}AA", r"(?:ghp|gho)_[0-9a-zA-Z]{36}", r"\d{8,10}:A[\w-]{34}"]:
        for _ in range(20):
            assert re.fullmatch(pattern, labelled.sample(pattern, rng)), pattern


def test_presidio_cases_are_read_from_parametrize_tables(tmp_path, labelled):
    (tmp_path / "test_phone_recognizer.py").write_text(PRESIDIO_TEST, encoding="utf-8")
    assert list(labelled.presidio_cases(tmp_path)) == [
        ("phone", "call me at +44 20 7946 0958 today", 1), ("phone", "no number here", 0)]


def test_noseyparker_examples_are_read_from_rule_files_by_category(tmp_path, labelled):
    (tmp_path / "acme.yml").write_text(NOSEYPARKER_RULES, encoding="utf-8")
    (tmp_path / "broken.yml").write_text("rules: [unclosed", encoding="utf-8")  # skipped, not fatal
    examples = list(labelled.noseyparker_examples(tmp_path))
    assert [(rid, positive) for rid, positive, _ in examples] == [
        ("np.acme.1", True), ("np.acme.1", True), ("np.acme.1", False), ("np.acme.2", True)]
    assert examples[1][2] == "acme:\n  token: acme_00000000111111112222222233333333\n"
    assert {rid for rid, _, _ in labelled.noseyparker_examples(tmp_path, "secret")} == {"np.acme.1"}


def test_kingfisher_examples_leave_out_hidden_and_identifier_rules(tmp_path, labelled):
    (tmp_path / "acme.yml").write_text(KINGFISHER_RULES, encoding="utf-8")
    (tmp_path / "broken.yml").write_text("rules: [unclosed", encoding="utf-8")  # skipped, not fatal
    assert list(labelled.kingfisher_examples(tmp_path)) == [
        ("kingfisher.acme.1", True, 'ACME_TOKEN="acme_{token}"'),
        ("kingfisher.acme.1", False, 'acme_token = "${ACME_TOKEN}"'),
    ]


def test_the_benchmark_reads_a_kingfisher_checkout(tmp_path):
    rules = tmp_path / "kingfisher" / "data" / "rules"
    rules.mkdir(parents=True)
    # a random token made here: the fixture holds nothing that looks like a real one
    (rules / "acme.yml").write_text(KINGFISHER_RULES.replace("{token}", secrets.token_hex(16)), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "labelled.py"), "--kingfisher", str(tmp_path / "kingfisher")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Kingfisher's rule examples (1 rules)" in result.stdout
    assert "1 / 1" in result.stdout  # the acme token is found; its placeholder is not flagged


PRESIDIO_RESEARCH_RECORDS = [
    {"full_text": "Please call 905-674-3793. Mail jane.roe@posteo.de or see Ms. Roe.",
     "spans": [{"entity_type": "PHONE_NUMBER", "entity_value": "905-674-3793", "start_position": 12, "end_position": 24},
               {"entity_type": "PERSON", "entity_value": "Roe", "start_position": 62, "end_position": 65}]},
    {"full_text": "Nothing labelled, but a number: +44 20 7946 0958", "spans": []},
    {"no_text": True},
]


def test_presidio_research_spans_give_recall_and_precision_per_type(tmp_path, labelled):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "synth_dataset_v2.json").write_text(json.dumps(PRESIDIO_RESEARCH_RECORDS), encoding="utf-8")
    records = list(labelled.presidio_research_records(tmp_path))
    assert [(name, len(spans)) for name, _text, spans in records] == [
        ("data/synth_dataset_v2.json", 2), ("data/synth_dataset_v2.json", 0)]
    found = {
        "Please call 905-674-3793. Mail jane.roe@posteo.de or see Ms. Roe.": [(12, 24, "phone-number"),
                                                                              (31, 49, "email-address")],
        "Nothing labelled, but a number: +44 20 7946 0958": [(32, 48, "phone-number")],
    }

    class F(NamedTuple):
        start: int
        end: int
        rule_id: str
        kind: str = "pii"

    counts = labelled.presidio_research_scores(records, lambda text: [F(*f) for f in found[text]])
    assert counts["phone"] == {"found": 1, "missed": 0, "right": 1, "wrong": 1}
    assert counts["email"] == {"found": 0, "missed": 0, "right": 0, "wrong": 1}  # not labelled: counts against


def test_the_benchmark_reads_a_presidio_research_checkout(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "synth_dataset_v2.json").write_text(json.dumps(PRESIDIO_RESEARCH_RECORDS), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "labelled.py"), "--presidio-research", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Presidio-research's labelled sentences (2;" in result.stdout
    phone_row = next(line for line in result.stdout.splitlines() if "phone" in line)
    assert "1 / 1" in phone_row and "1.000" in phone_row and "0.500" in phone_row  # the unlabelled London number counts against
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--presidio-research",
                              str(tmp_path / "nothing")], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no presidio-research labelled sets" in missing.stdout


def test_trufflehog_pattern_tests_are_evaluated_from_go_constants(tmp_path, labelled):
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "acme_test.go").write_text(TRUFFLEHOG_TEST, encoding="utf-8")
    (tmp_path / "acme" / "acme_integration_test.go").write_text(TRUFFLEHOG_TEST, encoding="utf-8")  # skipped
    examples = list(labelled.trufflehog_examples(tmp_path))
    assert examples == [
        ("acme", True, "acme token = 'acme_00000000111111112222222233333333'"),
        ("acme", True, "\n\t\t\t\t[DEBUG] Using acme Key=acme_00000000111111112222222233333333\n\t\t\t"),
        ("acme", False, "acme = 'acme_0000'"),
    ]  # the input built by a helper it cannot evaluate is left out


def test_the_benchmark_runs_end_to_end_with_the_peer(tmp_path):
    rules = tmp_path / "gitleaks" / "cmd" / "generate" / "config" / "rules"
    rules.mkdir(parents=True)
    (rules / "acme.go").write_text(GO_RULES, encoding="utf-8")
    tests = tmp_path / "presidio" / "presidio-analyzer" / "tests"
    tests.mkdir(parents=True)
    (tests / "test_phone_recognizer.py").write_text(PRESIDIO_TEST, encoding="utf-8")
    np_rules = tmp_path / "noseyparker" / "crates" / "noseyparker" / "data" / "default" / "builtin" / "rules"
    np_rules.mkdir(parents=True)
    (np_rules / "acme.yml").write_text(NOSEYPARKER_RULES, encoding="utf-8")
    th = tmp_path / "trufflehog" / "pkg" / "detectors" / "acme"
    th.mkdir(parents=True)
    (th / "acme_test.go").write_text(TRUFFLEHOG_TEST, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "labelled.py"), "--gitleaks", str(tmp_path / "gitleaks"),
         "--presidio", str(tmp_path / "presidio"), "--noseyparker", str(tmp_path / "noseyparker"),
         "--trufflehog", str(tmp_path / "trufflehog")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "clientguard" in result.stdout and "detect-secrets" in result.stdout
    assert "phone" in result.stdout and "2 / 2" in result.stdout
    assert "TruffleHog's detector pattern tests (1 detectors)" in result.stdout
    assert "Nosey Parker's rule examples (2 rules)" in result.stdout and "files under 'secret'" in result.stdout


def test_the_benchmark_says_what_it_needs(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "--gitleaks" in result.stderr and "downloads nothing" in result.stderr
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--gitleaks", str(tmp_path / "no")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no gitleaks rules folder" in missing.stdout



def _bench_output(*args: str) -> str:
    """bench/labelled.py's output, on one line with single spaces, after a run that must succeed."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), *args], capture_output=True,
                            text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-2000:]
    return " ".join(result.stdout.split())


def _credsweeper_checkout(root: Path) -> Path:
    """A CredSweeper-shaped checkout: samples and the three expected-output files its tests compare against."""
    samples, data = root / "tests" / "samples", root / "tests" / "data"
    samples.mkdir(parents=True)
    data.mkdir(parents=True)
    (samples / "acme.env").write_text(
        "DB_PASSWORD=Xk9mQ2vL7pR4TEST\n\npassword = \"changeme\"\ntoken = \"placeholder\"\n"
        "user = \"jdoe\"\nnote = \"hello\"\n", encoding="utf-8")
    (samples / "blob.bin").write_bytes(b"\0\1\2 password=Xk9mQ2vL7pR4TEST\n")

    def finding(rule: str, *places: tuple[str, int]) -> dict:
        return {"rule": rule, "line_data_list": [{"path": f"./tests/samples/{name}", "line_num": n, "line": "..."}
                                                  for name, n in places]}

    positives = [finding("Password", ("acme.env", 1)), finding("Secret", ("acme.env", 1)),  # one place, twice
                 finding("Pair", ("acme.env", 5), ("acme.env", 6)), finding("Password", ("blob.bin", 1))]
    filtered = [*positives, finding("Token", ("acme.env", 4))]
    regexes = [*filtered, finding("Password", ("acme.env", 3)), finding("Key", ("acme.env", 1))]
    for name, items in (("output.json", positives), ("no_ml.json", filtered), ("no_filters_no_ml.json", regexes)):
        (data / name).write_text(json.dumps(items), encoding="utf-8")
    return root


def test_credsweeper_places_come_from_its_expected_outputs(tmp_path, labelled):
    root = _credsweeper_checkout(tmp_path / "CredSweeper")
    places = list(labelled.credsweeper_places(root / "tests" / "data"))
    P = labelled.Place
    assert places == [
        ("Password", True, P("acme.env", (1,))), ("Pair", True, P("acme.env", (5, 6))),
        ("Password", True, P("blob.bin", (1,))),
        ("Token", False, P("acme.env", (4,), "ml")),  # kept by its filters, dropped by its model
        ("Password", False, P("acme.env", (3,), "filters")),
    ]  # the regex-only finding on a positive's line is neither


def test_the_benchmark_reads_a_credsweeper_checkout(tmp_path):
    root = _credsweeper_checkout(tmp_path / "CredSweeper")
    out = _bench_output("--credsweeper", str(root), "--misses", "5")
    assert "CredSweeper's test samples (1 files; 1 binary or archive samples skipped, with 1 of its findings)" in out
    assert re.search(r"clientguard\W+1 / 2\W+0\.500", out), out  # line 1's password found, lines 5-6 not
    assert "Pair: acme.env:5" in out
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--credsweeper",
                              str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no CredSweeper test data" in missing.stdout


def _secretlint_checkout(root: Path) -> Path:
    """A secretlint checkout in miniature: one rule's snapshots (found, expected clean, option-dependent) and a
    rule that flags files rather than values. The values are made up."""
    snaps = root / "packages" / "@secretlint" / "secretlint-rule-acme" / "test" / "snapshots"

    def case(name: str, text: str, messages: list[tuple[int, int, int, str]], config: bool = False,
             rule: str = "acme") -> None:
        folder = snaps.parents[2] / f"secretlint-rule-{rule}" / "test" / "snapshots" / name
        folder.mkdir(parents=True)
        (folder / "input.txt").write_text(text, encoding="utf-8")
        if config:
            (folder / ".secretlintrc.json").write_text("{}", encoding="utf-8")
        out = [{"messageId": mid, "loc": {"start": {"line": a, "column": 0}, "end": {"line": b, "column": c}}}
               for a, b, c, mid in messages]
        (folder / "output.json").write_text(json.dumps({"messages": out}), encoding="utf-8")

    case("ng.token", "# a token\nACME_TOKEN=acme_Xk9mQ2vL7pR4TESTq8Wz3nB5\nACME_ID=12345\n",
         [(2, 2, 30, "ACME_TOKEN"), (2, 2, 30, "ACME_TOKEN"), (3, 3, 13, "AWSAccountID")])
    case("ng.key", "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n", [(1, 4, 0, "KEY")])
    case("ok.clean", "nothing = here\n", [])
    case("ok.option-off", "ACME_TOKEN=acme_Xk9mQ2vL7pR4TESTq8Wz3nB5\n", [], config=True)
    case("ng.option-on", "ACME_TOKEN=acme_Xk9mQ2vL7pR4TESTq8Wz3nB5\n", [])
    case("ng.homedir", "/home/jdoe/file\n", [(1, 1, 10, "HOMEDIR")], rule="no-homedir")
    return root


def test_secretlint_places_come_from_its_snapshots(tmp_path, labelled):
    root = _secretlint_checkout(tmp_path / "secretlint")
    places = sorted(labelled.secretlint_places(root / "packages" / "@secretlint"))
    P, snaps = labelled.Place, "secretlint-rule-acme/test/snapshots"
    assert places == sorted([
        ("acme/ACME_TOKEN", True, P(f"{snaps}/ng.token/input.txt", (2,))),  # once, the account ID left out
        ("acme/KEY", True, P(f"{snaps}/ng.key/input.txt", (1, 2, 3))),  # the range ends at line 4's start
        ("acme/ok.clean", False, P(f"{snaps}/ok.clean/input.txt", (1, 2), "ok")),
    ])  # option-dependent cases and the home-directory rule are not counted


def _semgrep_checkout(root: Path) -> Path:
    """semgrep-rules in miniature: a rule (its YAML, not a test) and its annotated test file."""
    folder = root / "generic" / "secrets" / "security"
    folder.mkdir(parents=True)
    (folder / "detected-acme-token.yaml").write_text("rules: []\n# ruleid: not-a-test\n", encoding="utf-8")
    (folder / "detected-acme-token.txt").write_text(
        "# ruleid: detected-acme-token\n"
        "ACME_TOKEN=acme_Xk9mQ2vL7pR4TESTq8Wz3nB5\n"
        "\n"
        "# ok: detected-acme-token\n"
        "ACME_TOKEN=${ACME_TOKEN}\n"
        "token = 'acme_Yq2wE4rT6yU8TESTz0xC9vB7'; // todoruleid: detected-acme-token\n"
        "unlabelled = acme_Pq2wE4rT6yU8TESTz0xC9vB7\n"
        "# ruleid: detected-aws-account-id\n"
        "account = 123456789012\n", encoding="utf-8")
    return root


def test_semgrep_places_come_from_its_annotations(tmp_path, labelled):
    root = _semgrep_checkout(tmp_path / "semgrep-rules")
    places = list(labelled.semgrep_places(root / "generic" / "secrets"))
    P, name = labelled.Place, "security/detected-acme-token.txt"
    assert places == [("detected-acme-token", True, P(name, (2,))),
                      ("detected-acme-token", False, P(name, (5,), "ok")),
                      ("detected-acme-token", True, P(name, (6,)))]  # an identifier rule's line is left out


def test_the_benchmark_reads_secretlint_and_semgrep_checkouts(tmp_path):
    sl, sg = _secretlint_checkout(tmp_path / "secretlint"), _semgrep_checkout(tmp_path / "semgrep-rules")
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--secretlint", str(sl),
                             "--semgrep-rules", str(sg), "--misses", "5"], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = " ".join(result.stdout.split())
    assert re.search(r"secretlint's rule snapshots \(3 files.*clientguard\W+1 / 2\W+0\.500\W+0 / 1", out), out
    assert "missed acme/KEY" in out  # four A's are no key
    assert re.search(r"semgrep-rules' secret rule tests \(1 files.*clientguard\W+2 / 2\W+1\.000\W+0 / 1", out), out
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--secretlint",
                              str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no secretlint rule snapshots" in missing.stdout


def _creddata_checkout(root: Path) -> Path:
    """CredData in miniature: one repository's markup (meta/ID.csv) and its file below data/, in the shape its
    download_data.py leaves them. The values are made up."""
    (root / "meta").mkdir(parents=True)
    folder = root / "data" / "0a1b2c3d" / "src"
    folder.mkdir(parents=True)
    (folder / "9f8e7d6c.py").write_text(
        'DB_PASSWORD = "Xk9mQ2vL7pR4TESTq8Wz"\n'  # 1: T, found
        'request_id = "5c0e3b9a-8d7f-4e21-9a6b-3f2d1c0b9a88"\n'  # 2: T (an ID CredData counts), missed
        'password = "changeme"\n'  # 3: X
        'token = get_token()\n'  # 4: F
        'API_KEY = "Yq2wE4rT6yU8TESTz0xC9vB7"\n'  # 5: unlabelled, a finding off the markup
        'secret = "Pq2wE4rT6yU8TESTz0xC9vB7"  # also T on this line\n',  # 6: T and F on one line
        encoding="utf-8")
    header = "Id,FileID,Domain,RepoName,FilePath,LineStart,LineEnd,GroundTruth,ValueStart,ValueEnd," \
             "CryptographyKey,PredefinedPattern,Category\n"
    path = "data/0a1b2c3d/src/9f8e7d6c.py"
    rows = [(1, "T", "Password"), (1, "T", "Secret"), (2, "T", "UUID"), (3, "X", "Password"),
            (4, "F", "Token"), (6, "F", "Key"), (6, "T", "Secret")]
    (root / "meta" / "0a1b2c3d.csv").write_text(header + "".join(
        f"{n},9f8e7d6c,GitHub,0a1b2c3d,{path},{line},{line},{label},1,5,,,{category}\n"
        for n, (line, label, category) in enumerate(rows)) +
        f"99,00000000,GitHub,0a1b2c3d,data/0a1b2c3d/src/00000000.py,1,3,T,,,,,PEM Private Key\n",  # not downloaded
        encoding="utf-8")
    return root


def test_creddata_places_come_from_its_markup(tmp_path, labelled):
    root = _creddata_checkout(tmp_path / "CredData")
    places = list(labelled.creddata_places(root))
    P, name = labelled.Place, "data/0a1b2c3d/src/9f8e7d6c.py"
    assert places == [
        ("Password", True, P(name, (1,))), ("UUID", True, P(name, (2,))), ("Secret", True, P(name, (6,))),
        ("PEM Private Key", True, P("data/0a1b2c3d/src/00000000.py", (1, 2, 3))),
        ("Password", False, P(name, (3,), "X")), ("Token", False, P(name, (4,), "F")),
    ]  # a line labelled twice counts once; an F on a credential's line is no negative


def test_the_benchmark_reads_a_creddata_checkout(tmp_path):
    root = _creddata_checkout(tmp_path / "CredData")
    out = _bench_output("--creddata", str(root), "--misses", "5")
    assert "CredData's markup of real repositories (1 files; 1 absent or skipped as binary, with 1 of its " \
           "credentials)" in out, out
    # lines 1 and 6 found, the UUID not; neither negative flagged; line 5's key is off the markup
    assert re.search(r"clientguard\W+2 / 3\W+0\.667\W+0 / 1\W+0 / 1\W+1\W", out), out
    assert re.search(r"without IDs\W+2 / 2\W+1\.000", out), out  # the UUID left out
    assert "missed UUID: data/0a1b2c3d/src/9f8e7d6c.py:2" in out
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--creddata",
                              str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no CredData markup" in missing.stdout


def _leaky_checkout(root: Path) -> Path:
    """leaky-repo in miniature: its per-file counts (.leaky-meta/secrets.csv, with comments) and three files.
    The values are made up."""
    (root / ".leaky-meta").mkdir(parents=True)
    (root / ".leaky-meta" / "secrets.csv").write_text(
        "# name,num_risk,num_informative\n.env,2,1\n\n# a weak password, saved by an SFTP client\nsftp-config.json,1,2\n"
        "# a stand-in in an ordinary file\nconfig,1,1\nnotes.txt,0,1\n", encoding="utf-8")
    (root / ".env").write_text('DB_HOST=db.internal\nDB_PASSWORD="Xk9mQ2vL7pR4TESTq8Wz"\n'
                               'API_TOKEN="Yq2wE4rT6yU8TESTz0xC9vB7"\n', encoding="utf-8")
    (root / "sftp-config.json").write_text('{"host": "example.com", "user": "root", "password": "password"}\n',
                                           encoding="utf-8")
    (root / "notes.txt").write_text("deploy host: example.com\n", encoding="utf-8")
    (root / "config").write_text("IRC_HOST=irc.example.com\nIRC_PASS=irc_pass\n", encoding="utf-8")
    return root


def test_leaky_repo_counts_come_from_its_csv(tmp_path, labelled):
    root = _leaky_checkout(tmp_path / "leaky-repo")
    assert labelled.leaky_repo_counts(root) == {".env": (2, 1), "sftp-config.json": (1, 2), "config": (1, 1),
                                                "notes.txt": (0, 1)}
    assert labelled.leaky_repo_counts(tmp_path / "nowhere") == {}


def test_the_benchmark_reads_a_leaky_repo_checkout(tmp_path):
    root = _leaky_checkout(tmp_path / "leaky-repo")
    out = _bench_output("--leaky-repo", str(root), "--misses", "5")
    # both .env lines and the saved password found (any value an SFTP client saved is a password); the stand-in
    # in an ordinary file not; nothing flagged beyond a file's count
    assert re.search(r"clientguard\W+3 / 4\W+0\.750\W+3 / 4\W+0\W", out), out
    assert "short config: 0 of 1 risk lines" in out
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--leaky-repo",
                              str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no leaky-repo labels" in missing.stdout


def _ripsecrets_checkout(root: Path) -> Path:
    """ripsecrets' test folder in miniature: lines with one secret each, a file with one key block, and lines
    with none (one of them allowlisted for detect-secrets). The values are made up at test time."""
    test = root / "test"
    (test / "one_per_line").mkdir(parents=True)
    (test / "one_per_file").mkdir()
    rng = random.Random(5)
    token = "ghp_" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(36))
    (test / "one_per_line" / "github").write_text(f"{token}\n\nGITHUB_TOKEN={token}\n", encoding="utf-8")
    (test / "one_per_line" / "twilio").write_text("ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", encoding="utf-8")
    # a PKCS#8 key's DER opening, then filler: the shape the key rules check, no key
    body = "\n".join(("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQFAKE" + f"{n:010d}")[:64] for n in range(8))
    (test / "one_per_file" / "pem_key").write_text(f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n",
                                                   encoding="utf-8")
    (test / "none").write_text("CLIENT_SECRET = settings.GITHUB_API_SECRET\n\nreturn keyJob.start()\n",
                               encoding="utf-8")
    return root


def test_ripsecrets_places_are_its_lines_and_files(tmp_path, labelled):
    places = list(labelled.ripsecrets_places(_ripsecrets_checkout(tmp_path / "ripsecrets") / "test"))
    assert [(rule, positive, place.path, place.lines, place.rejected_by) for rule, positive, place in places] == [
        ("github", True, "one_per_line/github", (1,), ""), ("github", True, "one_per_line/github", (3,), ""),
        ("twilio", True, "one_per_line/twilio", (1,), ""),
        ("pem_key", True, "one_per_file/pem_key", tuple(range(1, 11)), ""),
        ("none", False, "none", (1,), "none"), ("none", False, "none", (3,), "none")]
    assert list(labelled.ripsecrets_places(tmp_path / "nowhere")) == []


def test_the_benchmark_reads_a_ripsecrets_checkout(tmp_path):
    root = _ripsecrets_checkout(tmp_path / "ripsecrets")
    out = _bench_output("--ripsecrets", str(root), "--misses", "5")
    # both token lines and the key found, the all-x stand-in not; no line of none flagged
    assert re.search(r"clientguard\W+3 / 4\W+0\.750\W+0 / 2\W", out), out
    assert "missed twilio: one_per_line/twilio:1" in out


WHISPERS_TEST = '''
import pytest

@pytest.mark.parametrize(("src", "expected"), [("aws.yml", ["aws_id"])])
def test_detection_by_key(src, expected):
    pass

@pytest.mark.parametrize(
    ("src", "count"),
    [
        ("passwords.yml", 2),
        ("cards.yml", 1),
        ("placeholders.yml", 0),
    ],
)
def test_detection_by_value(src, count):
    pass
'''


def _whispers_checkout(root: Path) -> Path:
    """whispers in miniature: its test module's (fixture, count) table and three fixtures. Values made up."""
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "tests" / "unit" / "test_secrets.py").write_text(WHISPERS_TEST, encoding="utf-8")
    fixtures = root / "tests" / "fixtures"
    fixtures.mkdir()
    (fixtures / "passwords.yml").write_text('db_password: "Xk9mQ2vL7pR4TESTq8Wz"\nenv:\n  - name: API_TOKEN\n'
                                            '    value: Yq2wE4rT6yU8TESTz0xC9vB7\n', encoding="utf-8")
    (fixtures / "cards.yml").write_text("cc1: 4111111111111111\n", encoding="utf-8")
    (fixtures / "placeholders.yml").write_text('password: "{{ password }}"\n', encoding="utf-8")
    return root


def test_whispers_counts_come_from_its_test_table(tmp_path, labelled):
    root = _whispers_checkout(tmp_path / "whispers")
    assert labelled.whispers_counts(root) == {"passwords.yml": 2, "cards.yml": 1, "placeholders.yml": 0}
    assert labelled.whispers_counts(tmp_path / "nowhere") == {}


def test_the_benchmark_reads_a_whispers_checkout(tmp_path):
    root = _whispers_checkout(tmp_path / "whispers")
    out = _bench_output("--whispers", str(root))
    # the quoted password, the Kubernetes-style name/value pair and the card (counted from the card rule)
    assert re.search(r"clientguard\W+3 / 3\W+1\.000\W+3 / 3\W+0\W", out), out
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "labelled.py"), "--whispers",
                              str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no whispers fixtures" in missing.stdout
