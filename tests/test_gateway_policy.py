"""Policy at the gateway: blocked accounts, local routing, protected files, the audit ledger."""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from _gateway_support import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, Canaries, running_stack
from clientguard.gateway.recording import RecordingUpstream
from clientguard.ledger import Ledger

PROTECTED_LINE = "DATABASE_URL=postgres://billing:{pw}@db.internal.example:5432/billing"


def _chat(url: str, c: Canaries) -> openai.types.chat.ChatCompletion:
    client = openai.OpenAI(base_url=url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
    return client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": c.sentence()}])


def test_blocked_account_gets_a_400_naming_clause_and_fix_and_nothing_leaves(tmp_path: Path) -> None:
    c = Canaries.generate()
    with running_stack(tmp_path, no_third_party=True) as stack:
        with pytest.raises(openai.BadRequestError) as info:
            _chat(stack.url, c)
        assert stack.upstream.requests == []
    message = info.value.body["message"]
    assert "contract.no_third_party_processing" in message
    assert "Fix:" in message
    assert "aws-" in message or "client-identifier" in message  # what was found, by rule id
    assert all(v not in message for v in c.all()[:2])


def test_blocked_anthropic_request_gets_the_anthropic_error_shape(tmp_path: Path) -> None:
    with running_stack(tmp_path, no_third_party=True) as stack:
        response = httpx.post(stack.url + "/v1/messages?beta=true", timeout=10, headers={"x-api-key": FAKE_ANTHROPIC_KEY},
                              json={"model": "claude-opus-4-8", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "clientguard blocked this request" in body["error"]["message"]


def test_route_local_forwards_to_the_local_account(tmp_path: Path) -> None:
    c = Canaries.generate()
    with RecordingUpstream() as local:
        extra = f'\n[[accounts]]\nname = "local"\nprovider = "ollama"\nplan = "local"\nbase_url = "{local.url}"\n'
        with running_stack(tmp_path, no_third_party=True, extra_accounts=extra) as stack:
            answer = _chat(stack.url, c)
            assert stack.upstream.requests == []
        assert len(local.requests) == 1
    assert c.aws_key_id in answer.choices[0].message.content


def test_protected_file_content_is_blocked_naming_the_file_not_the_content(tmp_path: Path) -> None:
    secret_line = PROTECTED_LINE.format(pw="FAKE0000notreal")
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / "prod.local.env").write_text(f"# prod settings\n{secret_line}\n")
    with running_stack(tmp_path, protected=["config/*.local.*"]) as stack:
        client = anthropic.Anthropic(base_url=stack.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        with pytest.raises(anthropic.BadRequestError) as info:
            client.messages.create(model="claude-opus-4-8", max_tokens=64, messages=[
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                              "content": f"     1\t# prod settings\n     2\t{secret_line}\n"}]}])
        assert stack.upstream.requests == []
    message = str(info.value)
    assert "config/prod.local.env" in message
    assert "FAKE0000notreal" not in message and "postgres://" not in message


def test_every_request_gets_one_ledger_record_without_raw_values(tmp_path: Path) -> None:
    c = Canaries.generate()
    with running_stack(tmp_path) as stack:
        _chat(stack.url, c)
        _chat(stack.url, c)
        stack.gateway.drain()
        ledger_path = stack.ledger
    with Ledger.open(ledger_path) as ledger:
        records = ledger.records()
    assert len(records) == 2
    # Forwarded requests are recorded before the answer starts (durability), so no upstream status yet.
    assert records[0].verdict == "allow" and records[0].status is None and records[0].account == "work"
    assert {r["rule_id"] for r in records[0].redactions} >= {"client-identifier"}
    assert records[0].bytes_sent > 0 and records[0].request_sha256
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p.name.startswith("ledger"))
    assert all(v.encode() not in raw for v in c.all()[:2])
    assert FAKE_OPENAI_KEY.encode() not in raw


def test_blocked_requests_are_recorded_too(tmp_path: Path) -> None:
    with running_stack(tmp_path, no_third_party=True) as stack:
        with pytest.raises(openai.BadRequestError):
            _chat(stack.url, Canaries.generate())
        stack.gateway.drain()
        ledger_path = stack.ledger
    with Ledger.open(ledger_path) as ledger:
        records = ledger.records()
    assert [(r.verdict, r.status, r.bytes_sent) for r in records] == [("block", 400, 0)]
    assert records[0].reasons and records[0].reasons[0]["clause"] == "contract.no_third_party_processing"


def test_audit_log_required_and_ledger_unwritable_refuses_the_request(tmp_path: Path) -> None:
    with running_stack(tmp_path, audit=True) as stack:
        stack.gateway.gateway.ledger.close()  # a real failure: the ledger's database is gone
        with pytest.raises(openai.InternalServerError) as info:
            _chat(stack.url, Canaries.generate())
        assert stack.upstream.requests == []
    assert info.value.status_code == 503
    assert "audit log" in info.value.body["message"]


def test_audit_log_required_records_before_forwarding(tmp_path: Path) -> None:
    with running_stack(tmp_path, audit=True) as stack:
        _chat(stack.url, Canaries.generate())
        with Ledger.open(stack.ledger) as ledger:
            assert ledger.count() == 1  # already durable when the answer arrived


def test_stats_count_requests_blocks_and_redactions(tmp_path: Path) -> None:
    c = Canaries.generate()
    with running_stack(tmp_path) as stack:
        _chat(stack.url, c)
        stats = httpx.get(stack.url + "/_clientguard/stats", timeout=5).json()
    assert stats["requests"] == 1 and stats["blocked"] == 0
    assert stats["redactions"]["by_kind"]["identifier"] >= 1
    assert stats["redactions"]["by_rule"]["client-identifier"] >= 1
