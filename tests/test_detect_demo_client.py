"""The bundled demo client is scanned exactly as its planted data says: every secret and every piece of
personal data found, in its place, and nothing else (a regression net for rule edits)."""

from __future__ import annotations

from pathlib import Path

from clientguard.detect import Detector
from clientguard.detect.scanner import collect_files, scan_files
from clientguard.paths import PathGlobs
from clientguard.policy import load_policy

DEMO = Path(__file__).resolve().parents[1] / "examples" / "acme-client"

EXPECTED = {
    (".env", 2, "openai-project-key"),
    (".env", 3, "slack-webhook-url"),
    (".env", 4, "postgres-url-password"),
    ("README.md", 4, "email-address"),
    ("README.md", 4, "phone-number"),
    ("config/settings.local.toml", 4, "generic-password-assignment"),
    ("data/patients/export-2026-10.csv", 2, "email-address"),
    ("data/patients/export-2026-10.csv", 2, "us-ssn"),
    ("data/patients/export-2026-10.csv", 3, "email-address"),
    ("data/patients/export-2026-10.csv", 3, "us-ssn"),
    ("secrets/deploy.pem", 1, "private-key-openssh"),
    ("src/acmehealth_billing/config.py", 4, "aws-access-key-id"),
    ("src/acmehealth_billing/config.py", 5, "aws-secret-access-key"),
    ("src/acmehealth_billing/config.py", 8, "stripe-live-secret-key"),
    ("src/acmehealth_billing/config.py", 13, "email-address"),
    *{("tests/fixtures/customers.csv", line, rule)
      for line in (2, 3, 4) for rule in ("email-address", "phone-number", "payment-card-number")},
    ("tests/fixtures/customers.csv", 2, "iban"),
    ("tests/fixtures/customers.csv", 3, "iban"),
}


def _scan(engine: str) -> set[tuple[str, int, str]]:
    policy = load_policy(DEMO / "clientguard.toml")
    det = Detector.create(policy.client.identifiers, fingerprint_key=b"d" * 32, engine=engine)
    files = [f for f in collect_files([DEMO]) if Path(f.path).name != "clientguard.toml"]
    result = scan_files(files, det, allow=PathGlobs(policy.scan.allow_paths))
    return {(f.path, f.line, f.rule_id) for f in result.findings if f.kind != "identifier"}


def test_every_planted_secret_and_personal_datum_is_found_and_nothing_else():
    assert _scan("auto") == EXPECTED


def test_the_pure_python_engine_finds_the_same_in_the_demo_client():
    assert _scan("python") == EXPECTED
