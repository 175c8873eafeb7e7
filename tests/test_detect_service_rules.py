"""Service token rules (cloud, code hosts, AI, payments, messaging, registries) as a set, and their validators.

Every rule's own examples are checked by test_detect_rules.py; these tests cover what one rule at a time
cannot show: the rule files together, what a finding reports, agreement of the engines on a realistic
file full of tokens, silence on ordinary source code, and the validators' edge cases.
"""

from __future__ import annotations

import base64
import random
import string
import sys
import sysconfig
from pathlib import Path

import pytest

from clientguard.detect import Detector, hyperscan_available, load_rules
from clientguard.detect.rules import BUILTIN_RULES_DIR
from clientguard.detect.validators import VALIDATORS
from _detect_support import needs_hyperscan

SERVICE_FILES = ["cloud", "codehost", "ai", "payments", "messaging", "registries"]
SERVICE_RULES = load_rules([BUILTIN_RULES_DIR / f"{name}.toml" for name in SERVICE_FILES])
KEY = b"s" * 32
ENGINES = ["python"] + (["hyperscan"] if hyperscan_available() else [])
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def fake(n: int, alphabet: str = ALNUM, *, seed: int = 0, marker: str = "FAKE") -> str:
    """A token body of ``n`` characters: a marker saying it is fake, then seeded random filler."""
    rnd = random.Random(seed)
    head = "".join(c for c in marker if c in alphabet)
    return (head + "".join(rnd.choice(alphabet) for _ in range(n)))[:n]


def detector(engine: str = "python") -> Detector:
    return Detector(SERVICE_RULES, fingerprint_key=KEY, engine=engine)


def findings_by_rule(text: str, engine: str = "python") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in detector(engine).scan(text):
        out.setdefault(f.rule_id, []).append(text[f.start:f.end])
    return out


# --- the rule set -----------------------------------------------------------------------------------

def test_service_rule_files_hold_at_least_65_secret_rules():
    assert len(SERVICE_RULES) >= 65
    assert {r.kind for r in SERVICE_RULES} == {"secret"}


def test_every_service_rule_names_a_literal_keyword_or_a_validator():
    # Without a keyword or a validator a rule would judge a candidate on its pattern alone.
    loose = [r.id for r in SERVICE_RULES if not r.keywords and r.validator is None]
    assert loose == []


# --- what a finding reports ---------------------------------------------------------------------------

def test_aws_secret_key_finding_covers_only_the_key_not_the_setting_name():
    secret = fake(40, ALNUM + "/+", seed=1)
    text = f'aws_secret_access_key = "{secret}"\n'
    assert findings_by_rule(text)["aws-secret-access-key"] == [secret]


def test_slack_webhook_finding_keeps_the_host_visible():
    path = f"T0FAKE0001/B0FAKE0002/{fake(24, seed=2)}"
    text = f"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/{path}"
    assert findings_by_rule(text)["slack-webhook-url"] == [path]


def test_openai_project_key_is_reported_once_although_two_rules_match_it():
    key = f"sk-proj-{fake(74, ALNUM + '_-', seed=3)}T3BlbkFJ{fake(74, ALNUM + '_-', seed=4)}"
    found = detector().scan(f"OPENAI_API_KEY={key}\n")
    assert [(f.rule_id, f.end - f.start) for f in found] == [("openai-project-key", len(key))]


# --- a realistic file -----------------------------------------------------------------------------------

def _dotenv() -> tuple[str, dict[str, str]]:
    values = {
        "aws-access-key-id": "AKIA" + fake(16, string.ascii_uppercase + "234567", seed=10),
        "github-classic-pat": "ghp_" + fake(36, seed=11),
        "gitlab-pat": "glpat-" + fake(20, ALNUM + "_-", seed=12),
        "anthropic-api-key": "sk-ant-api03-" + fake(93, ALNUM + "_-", seed=13) + "AA",
        "stripe-live-secret-key": "sk_live_" + fake(24, seed=14),
        "slack-bot-token": "xoxb-1234567890-1234567890123-" + fake(24, seed=15),
        "sendgrid-api-key": "SG." + fake(22, ALNUM + "_-", seed=16) + "." + fake(43, ALNUM + "_-", seed=17),
        "npm-access-token": "npm_" + fake(36, seed=18),
        "twilio-auth-token": fake(32, HEX, seed=19, marker="0000"),
        "telegram-bot-token": "1234567890:AA" + fake(33, ALNUM + "_-", seed=20),
    }
    lines = [
        "# service credentials for the staging stack",
        f"AWS_ACCESS_KEY_ID={values['aws-access-key-id']}",
        f"GITHUB_TOKEN={values['github-classic-pat']}",
        f"# GITLAB_TOKEN={values['gitlab-pat']}   (old, commented out: still a key)",
        f"ANTHROPIC_API_KEY=\"{values['anthropic-api-key']}\"",
        f"STRIPE_SECRET_KEY={values['stripe-live-secret-key']}",
        f"SLACK_BOT_TOKEN='{values['slack-bot-token']}'",
        f"SENDGRID_API_KEY={values['sendgrid-api-key']}",
        f"NPM_TOKEN={values['npm-access-token']}",
        f"TWILIO_AUTH_TOKEN={values['twilio-auth-token']}",
        f"TELEGRAM_BOT_TOKEN={values['telegram-bot-token']}",
        "DATABASE_POOL_SIZE=20",
        "OPENAI_API_KEY=${OPENAI_API_KEY}",
        "STRIPE_PUBLISHABLE_KEY=pk_live_" + fake(24, seed=21),
    ]
    return "\n".join(lines) + "\n", values


@pytest.mark.parametrize("engine", ENGINES)
def test_each_token_in_a_dotenv_file_is_found_by_its_own_rule(engine):
    text, values = _dotenv()
    found = findings_by_rule(text, engine)
    assert found == {rule_id: [value] for rule_id, value in values.items()}


@needs_hyperscan
def test_both_engines_report_identical_findings_on_the_dotenv_file():
    text, _ = _dotenv()
    assert detector("hyperscan").scan(text) == detector("python").scan(text)


def test_ordinary_source_code_yields_no_service_token_findings():
    # The standard library is a large body of real code with no credentials in it.
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for pkg in ("email", "http", "json", "urllib", "logging", "asyncio") for p in (stdlib / pkg).glob("*.py"))
    assert len(files) > 40
    det = detector("hyperscan" if hyperscan_available() else "python")
    noisy = {}
    for path in files:
        found = det.scan(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            noisy[path.name] = [f.rule_id for f in found]
    assert noisy == {}



def _binaries() -> list[Path]:
    dynload = Path(sysconfig.get_paths()["stdlib"]) / "lib-dynload"
    return [Path(sys.executable).resolve()] + sorted(dynload.glob("*.so"))[:12]


def test_base64_and_hex_of_real_binaries_yield_no_service_token_findings():
    # Encoded binaries (data: URIs, notebook images, lockfiles, fixtures) are long runs of token alphabets.
    det = detector("hyperscan" if hyperscan_available() else "python")
    binaries = _binaries()
    assert len(binaries) > 5
    noisy = {}
    for path in binaries:
        raw = path.read_bytes()[:1_000_000]
        for encoded in (base64.b64encode(raw).decode(), base64.encodebytes(raw).decode(),
                        base64.urlsafe_b64encode(raw).decode(), raw.hex()):
            for f in det.scan(encoded):
                noisy.setdefault(f.rule_id, []).append(path.name)
    assert noisy == {}

# --- validators -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "ghp_" + "x" * 36,
    "sk_live_" + "*" * 24,
    "AKIA" + "0" * 16,
    "glpat-" + "ab" * 10,
    "xoxb-{{SLACK_TOKEN}}",
    "npm_${NPM_TOKEN}0000000000000000000000",
    "hf_<your-token-goes-here-0123456789>",
    "sk_live_" + "1234" * 6,  # a unit repeated
])
def test_token_validator_rejects_masks_fillers_and_templates(value):
    assert VALIDATORS["token"](value) is False


@pytest.mark.parametrize("value", [
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + fake(36, seed=30),
    "sk_live_" + fake(24, seed=31),
    # IDs typed as 1234567890 sit between separators; the random part decides.
    "xoxb-1234567890-1234567890123-" + fake(24, seed=36),
    # Counted fillers in a token's shape are reported too: whoever reads or reuses one takes it for the token.
    "sk_test_abcdefghijklmnopqrstuvwx",
    "abcdefghijklmnopqrstuvwxyz012345",
])
def test_token_validator_accepts_right_shaped_values_even_when_marked_as_examples(value):
    assert VALIDATORS["token"](value) is True


def test_token_digits_validator_wants_both_letters_and_digits():
    assert VALIDATORS["token_digits"]("fw_" + fake(24, string.ascii_letters, seed=32)) is False
    assert VALIDATORS["token_digits"]("fw_" + fake(24, seed=33)) is True


def test_azure_storage_emulator_key_is_not_reported_but_a_real_shaped_key_is():
    emulator = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    assert VALIDATORS["azure_storage_key"](emulator) is False
    assert VALIDATORS["azure_storage_key"](fake(86, ALNUM + "+/", seed=34) + "==") is True


def test_discord_bot_token_validator_wants_a_numeric_user_id_in_the_first_part():
    tail = "GFAKE0." + fake(38, ALNUM + "_-", seed=35)
    assert VALIDATORS["discord_bot_token"]("MTEwMDAwMDAwMDAwMDAwMDEwMQ." + tail) is True  # base64 of 1100000000000000101
    assert VALIDATORS["discord_bot_token"]("Mzabcdefghijklmnopqrstuvwx." + tail) is False


@needs_hyperscan
@pytest.mark.parametrize("prefix", ["", "x" * 45 + " ", "é" * 60 + " ", "first line\nsecond line\n"])
def test_engines_agree_on_every_example_behind_a_long_line_prefix(prefix):
    # hyperscan has missed caseless context patterns once the line before them grew long.
    py, hs = detector("python"), detector("hyperscan")
    differ = [r.id for r in SERVICE_RULES for ex in r.examples if py.scan(prefix + ex) != hs.scan(prefix + ex)]
    assert differ == []


@needs_hyperscan
def test_engines_agree_on_random_mixes_of_examples_cuts_and_separators():
    rnd = random.Random(7)
    pool = [e for r in SERVICE_RULES for e in r.examples + r.counter_examples]
    separators = ["\n", " ", "", "\r\n", "\t", "é", "日本", "\x00", ", "]
    py, hs = detector("python"), detector("hyperscan")
    differ = []
    for _ in range(400):
        parts = []
        for _ in range(rnd.randint(1, 5)):
            piece = rnd.choice(pool)
            if rnd.random() < 0.3:  # a cut through a token
                a = rnd.randint(0, len(piece))
                piece = piece[a:rnd.randint(a, len(piece))]
            parts += [piece, rnd.choice(separators)]
        text = "".join(parts)
        if py.scan(text) != hs.scan(text):
            differ.append(text)
    assert differ == []


# --- services found by their name in the setting (saas.toml, and the *-by-name rules) ---------------------

SAAS_RULES = load_rules([BUILTIN_RULES_DIR / "saas.toml"])


def _by_name(text: str, engine: str) -> dict[str, list[str]]:
    det = Detector(SERVICE_RULES + SAAS_RULES, fingerprint_key=KEY, engine=engine)
    out: dict[str, list[str]] = {}
    for f in det.scan(text):
        out.setdefault(f.rule_id, []).append(text[f.start:f.end])
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_a_key_found_by_the_service_name_is_reported_whole(engine):
    key = fake(32, HEX, seed=40, marker="0000")
    assert _by_name(f"twilio token - '{key}'\n", engine) == {"twilio-token-by-name": [key]}
    assert _by_name(f"websitepulse '{key}'\n", engine) == {"websitepulse-api-key": [key]}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_key_found_by_the_service_name_must_end_where_the_token_ends(engine):
    # A key with a stray character inside is not a key, and its first half is not a shorter key either
    # (Shutterstock takes 32 or 16 characters).
    key = fake(32, HEX, seed=41, marker="0000")
    broken = key[:16] + "?" + key[17:]
    assert _by_name(f"twilio token - '{broken}'\n", engine) == {}
    consumer = fake(32, seed=42)
    assert _by_name(f"shutterstock token - '{consumer[:16]}?{consumer[17:]}'\n", engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_key_found_by_the_service_name_keeps_the_case_of_its_format(engine):
    key = fake(32, HEX, seed=43, marker="0000")
    assert _by_name(f"THINKIFIC_API_KEY={key}\n", engine) == {"thinkific-api-key": [key]}
    assert _by_name(f"THINKIFIC_API_KEY={key.upper()}\n", engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_key_right_after_a_secret_word_and_a_space_or_hyphen_is_found_by_the_service_name(engine):
    key = fake(32, seed=44, marker="FAKE0000")
    assert _by_name(f"clarifai access key {key}\n", engine) == {"clarifai-api-key": [key]}
    assert _by_name(f"CLARIFAI_PERSONAL_ACCESS_TOKEN {key}\n", engine) == {"clarifai-api-key": [key]}
    assert _by_name(f"clarifaiKEY-{key}\n", engine) == {"clarifai-api-key": [key]}
    # The service's name and then any word: prose, not a setting.
    assert _by_name(f"clarifai model {key}\n", engine) == {}
    assert _by_name(f"clarifai {key}\n", engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_service_named_by_an_ordinary_word_needs_a_secret_word_before_its_key(engine):
    digest = fake(64, HEX, seed=45, marker="0000")
    uuid = "0000fa4e-9b1c-4d2e-a3f4-5b6c7d8e9f01"
    assert _by_name(f"DAILY_API_KEY={digest}\n", engine) == {"dailyco-api-key": [digest]}
    assert _by_name(f"daily token {digest}\n", engine) == {"dailyco-api-key": [digest]}
    assert _by_name(f"daily_backup_sha256 = {digest}\n", engine) == {}
    assert _by_name(f"shortcut_api_token: {uuid}\n", engine) == {"shortcut-api-token": [uuid]}
    assert _by_name(f"shortcut_id: {uuid}\n", engine) == {}


@needs_hyperscan
@pytest.mark.parametrize("prefix", ["", "x" * 45 + " ", "é" * 60 + " ", "first line\nsecond line\n"])
def test_engines_agree_on_the_saas_context_rules_behind_a_long_line_prefix(prefix):
    py = Detector(SAAS_RULES, fingerprint_key=KEY, engine="python")
    hs = Detector(SAAS_RULES, fingerprint_key=KEY, engine="hyperscan")
    differ = [r.id for r in SAAS_RULES for ex in r.examples if py.scan(prefix + ex) != hs.scan(prefix + ex)]
    assert differ == []


def test_hex_token_validator_rejects_ordered_fillers():
    assert VALIDATORS["hex_token"]("cosmo_0000f425705c10e576aa6ade81d90e5b") is True
    assert VALIDATORS["hex_token"]("cosmo_abcdef1234556789083590000be70000") is False
    assert VALIDATORS["hex_token"]("cosmo_0000f425705c123456aa6ade81d90e5b") is False


def test_dropbox_long_lived_validator_judges_the_random_parts_not_the_ten_a():
    assert VALIDATORS["dropbox_long_lived"]("FAKE000NqVw" + "A" * 10 + "TEST0000YS81VP7Hb1DX8pPd5khxE3pyIgKpaUnArl6") is True
    assert VALIDATORS["dropbox_long_lived"]("FAKE000NqVw" + "A" * 9 + "BTEST0000YS81VP7Hb1DX8pPd5khxE3pyIgKpaUnArl6") is False
    assert VALIDATORS["dropbox_long_lived"]("ABCDEFGHIJK" + "A" * 10 + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq") is False
