"""What the report says: computed from the ledger and the policy, counts only, breaks and leaks called out."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from _ledger_support import make_record, raw
from _report_support import CLIENT, fill_client_ledger, write_policy
from clientguard.ledger import Ledger
from clientguard.ledger.report import build_report, write_report
from clientguard.ledger.report_md import render_md
from clientguard.policy import load_policy


@pytest.fixture
def setup(tmp_path: Path):
    ledger = tmp_path / "acme.sqlite"
    fill_client_ledger(ledger).close()
    policy = load_policy(write_policy(tmp_path / "repo"))
    return ledger, policy


def test_counts_verdicts_and_bytes_forwarded(setup) -> None:
    ledger, policy = setup
    data = build_report(ledger, policy=policy)
    assert data.total == 24
    assert data.by_verdict == {"allow": 20, "block": 4}
    # Blocked requests sent nothing upstream.
    allowed = [make_record(i) for i in range(24) if i % 6 != 5]
    assert data.bytes_total == sum(r.bytes_sent for r in allowed)


def test_redactions_of_forwarded_requests_are_counted_by_kind_and_rule(setup) -> None:
    ledger, policy = setup
    data = build_report(ledger, policy=policy)
    # 20 forwarded requests, each with one AWS key and two e-mail addresses replaced.
    assert data.redactions_by_kind == {"pii": 40, "secret": 20}
    assert ("secret", "aws-access-key-id", 20, 20) in data.redactions_by_rule


def test_values_found_in_blocked_requests_are_counted_as_held(setup) -> None:
    ledger, policy = setup
    assert [b.found for b in build_report(ledger, policy=policy).blocked] == [3, 3, 3, 3]


def test_usage_lists_each_account_plan_and_mode(setup) -> None:
    ledger, policy = setup
    usage = {(u.account, u.plan, u.mode): (u.requests, u.blocked) for u in build_report(ledger, policy=policy).usage}
    assert usage == {("work", "business", "local"): (20, 0), ("personal", "plus", "local"): (4, 4)}


def test_terms_cover_only_plans_that_received_code(setup) -> None:
    ledger, policy = setup
    terms = build_report(ledger, policy=policy).terms
    assert [(t.provider, t.plan) for t in terms] == [("openai", "team")]  # "business" is the catalog's alias of team
    assert all(f.url.startswith("https://") and f.retrieved for f in terms[0].facts)


def test_blocked_requests_carry_their_reasons(setup) -> None:
    ledger, policy = setup
    blocked = build_report(ledger, policy=policy).blocked
    assert [b.seq for b in blocked] == [6, 12, 18, 24]
    assert blocked[0].reasons == ["nda: training on by default (source: https://example.invalid/terms)"]


def test_protected_path_held_back_by_blocks_is_reported_never_sent(setup) -> None:
    ledger, policy = setup
    protected = {p.glob: p for p in build_report(ledger, policy=policy).protected}
    assert protected["secrets/**"].sent_in == []
    assert protected["secrets/**"].blocked_in == [6, 12, 18, 24]
    assert protected["data/patients/**"].sent_in == []


def test_protected_path_that_was_forwarded_is_called_out(setup) -> None:
    ledger, policy = setup
    with Ledger.open(ledger) as led:
        led.append(make_record(30, client=CLIENT, files=["data/patients/2026.csv"]))
    data = build_report(ledger, policy=policy)
    assert {p.glob: p.sent_in for p in data.protected}["data/patients/**"] == [25]
    assert "SENT in entries 25" in render_md(data)


def test_period_filter_keeps_only_entries_inside_it(setup) -> None:
    ledger, policy = setup
    data = build_report(
        ledger, policy=policy,
        since=datetime(2026, 11, 3, tzinfo=timezone.utc), until=datetime(2026, 11, 4, tzinfo=timezone.utc),
    )
    assert data.total == 8  # entries 3 h apart: 8 per day
    assert data.period_text == "2026-11-03 to 2026-11-03"


def test_a_broken_chain_is_stated_in_the_report(setup) -> None:
    ledger, policy = setup
    with raw(ledger) as db:
        db.execute("DELETE FROM entries WHERE seq=9")
    data = build_report(ledger, policy=policy)
    assert not data.verify.ok
    assert "Chain broken** at entry 9 (deleted)" in render_md(data)


def test_entries_of_another_client_are_left_out_with_a_note(setup) -> None:
    ledger, policy = setup
    with Ledger.open(ledger) as led:
        led.append(make_record(40, client="Other Corp"))
    data = build_report(ledger, policy=policy)
    assert data.total == 24
    assert data.notes == ["entries for other clients left out: Other Corp"]


def test_reports_contain_counts_but_no_fingerprints_or_hashes_of_values(setup, tmp_path: Path) -> None:
    ledger, policy = setup
    data = build_report(ledger, policy=policy)
    with Ledger.open(ledger) as led:
        fingerprints = {red["fingerprint"] for r in led.records() for red in r.redactions}
    for fmt in ("html", "md"):
        text = write_report(data, fmt, tmp_path / f"r.{fmt}").read_text(encoding="utf-8")
        assert not [fp for fp in fingerprints if fp in text]


def test_policy_in_force_lists_clauses_and_a_decision_per_account(setup) -> None:
    ledger, policy = setup
    pol = build_report(ledger, policy=policy).policy
    assert ("NDA", "yes") in pol.clauses
    decisions = {(a.account, a.mode): a.action for a in pol.accounts}
    assert decisions[("personal", "local")] == "block"
    assert decisions[("work", "local")] == "allow"
    assert len(pol.sha256) == 64


def test_an_empty_period_still_makes_a_report(setup, tmp_path: Path) -> None:
    ledger, policy = setup
    data = build_report(ledger, policy=policy, since=datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert data.total == 0
    for fmt in ("html", "md", "pdf"):
        assert write_report(data, fmt, tmp_path / f"empty.{fmt}").stat().st_size > 500


def _cg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clientguard.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=dict(os.environ), timeout=180)


def test_report_command_finds_the_policy_from_the_repo_and_writes_markdown(setup) -> None:
    ledger, policy = setup
    repo = policy.path.parent
    res = _cg("report", "--ledger", str(ledger), "--format", "md", "-o", "out/acme.md", cwd=repo)
    assert res.returncode == 0, res.stderr
    text = (repo / "out" / "acme.md").read_text(encoding="utf-8")
    assert text.startswith("# AI egress report: Acme Health GmbH")
    assert "wrote out/acme.md (md, 24 requests, chain intact)" in res.stderr


def test_report_command_rejects_since_after_until(setup) -> None:
    ledger, policy = setup
    res = _cg("report", "--ledger", str(ledger), "--since", "2026-12-01", "--until", "2026-11-01", cwd=policy.path.parent)
    assert res.returncode == 2 and "--since" in res.stderr and "Traceback" not in res.stderr


def test_report_command_rejects_a_client_other_than_the_policys(setup) -> None:
    ledger, policy = setup
    res = _cg("report", "--ledger", str(ledger), "--client", "Other Corp", cwd=policy.path.parent)
    assert res.returncode == 2 and "differs from the policy's client" in res.stderr


def test_a_provider_missing_from_the_catalog_is_reported_with_unknown_terms(setup) -> None:
    ledger, policy = setup
    with Ledger.open(ledger) as led:
        led.append(make_record(30, client=CLIENT, provider="examplecloud", plan="pro"))
    data = build_report(ledger, policy=policy)
    unknown = [t for t in data.terms if not t.known]
    assert [(t.provider, t.plan) for t in unknown] == [("examplecloud", "pro")]
    assert "not in clientguard's catalog: its terms are unknown" in render_md(data)
