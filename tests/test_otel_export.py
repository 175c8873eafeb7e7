"""OTLP/HTTP export: each ledger record arrives at a collector as a log record with the same fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _ledger_support import make_record
from _otel_support import OtlpReceiver, attrs
from clientguard.ledger import Ledger, LedgerError
from clientguard.ledger.otel import EVENT_NAME, OtelExporter, logs_url


def test_each_record_arrives_as_a_log_record_with_the_ledger_fields(tmp_path: Path) -> None:
    rec = make_record(3)
    with Ledger.open(tmp_path / "l.sqlite") as led:
        entry = led.append_entry(rec)
    with OtlpReceiver() as rx:
        exporter = OtelExporter(rx.url)
        exporter.export(rec, entry)
        exporter.close()
        rx.wait_for(1)
        (resource, lr), = rx.log_records()
    assert rx.paths == ["/v1/logs"]
    assert rx.content_types == ["application/x-protobuf"]
    assert resource["service.name"] == "clientguard"
    a = attrs(lr)
    assert a["clientguard.client"] == "Acme Health"
    assert a["clientguard.agent"] == "codex_cli_rs/0.169.0"
    assert a["clientguard.provider"] == "openai"
    assert a["clientguard.endpoint"] == "/v1/responses"
    assert (a["clientguard.account"], a["clientguard.plan"], a["clientguard.mode"]) == ("work-api", "api", "local")
    assert a["clientguard.verdict"] == "allow"
    assert a["clientguard.bytes_sent"] == rec.bytes_sent
    assert a["clientguard.request_sha256"] == rec.request_sha256
    assert a["http.response.status_code"] == 200
    assert a["clientguard.files"] == ["src/module_3.py"]
    assert json.loads(a["clientguard.redactions"]) == rec.redactions
    assert (a["clientguard.redactions.count"], a["clientguard.redactions.secret"], a["clientguard.redactions.pii"]) == (3, 1, 2)
    assert (a["clientguard.ledger.seq"], a["clientguard.ledger.hash"]) == (entry.seq, entry.hash)
    assert lr.event_name == EVENT_NAME
    assert lr.time_unix_nano == int(rec.timestamp.timestamp() * 1e9)


def test_blocked_requests_are_exported_as_warnings_with_reasons() -> None:
    rec = make_record(1, verdict="block")
    with OtlpReceiver() as rx:
        with OtelExporter(rx.url, batch=False) as exporter:
            exporter.export(rec)
        rx.wait_for(1)
        (_, lr), = rx.log_records()
    assert lr.severity_text == "WARN" and lr.severity_number == 13
    assert json.loads(attrs(lr)["clientguard.reasons"])[0]["clause"] == "nda"
    assert lr.body.string_value.startswith("block openai /v1/responses")


def test_prompt_is_not_exported_unless_asked_for() -> None:
    rec = make_record(2, prompt="refactor <<EMAIL_1>>'s module")
    with OtlpReceiver() as rx:
        with OtelExporter(rx.url, batch=False) as plain:
            plain.export(rec)
        with OtelExporter(rx.url, batch=False, include_prompt=True) as keeping:
            keeping.export(rec)
        rx.wait_for(2)
        (_, first), (_, second) = rx.log_records()
    assert "clientguard.prompt" not in attrs(first)
    assert attrs(second)["clientguard.prompt"] == "refactor <<EMAIL_1>>'s module"


def test_a_batch_of_records_all_arrive_in_order() -> None:
    records = [make_record(i) for i in range(25)]
    with OtlpReceiver() as rx:
        with OtelExporter(rx.url) as exporter:
            for r in records:
                exporter.export(r)
        rx.wait_for(25)
        got = [attrs(lr)["clientguard.ts"] for _, lr in rx.log_records()]
    assert got == [r.ts for r in records]


def test_endpoint_gets_the_otlp_logs_path() -> None:
    assert logs_url("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/logs"
    assert logs_url("http://127.0.0.1:4318/v1/logs") == "http://127.0.0.1:4318/v1/logs"


def test_a_non_http_endpoint_is_a_clear_error() -> None:
    with pytest.raises(LedgerError, match="not an http"):
        OtelExporter("grpc://127.0.0.1:4317")


def test_an_unreachable_collector_does_not_raise_into_the_caller() -> None:
    with OtlpReceiver() as rx:
        dead = rx.url  # the port is closed once the receiver stops
    exporter = OtelExporter(dead, timeout=0.5, batch=False)
    exporter.export(make_record(0))  # the failed POST is logged by the SDK, not raised at the gateway
    exporter.close()
    assert exporter.endpoint == dead + "/v1/logs"


def test_export_after_close_is_an_error() -> None:
    with OtlpReceiver() as rx:
        exporter = OtelExporter(rx.url)
        exporter.close()
        with pytest.raises(LedgerError, match="after close"):
            exporter.export(make_record(0))


def test_a_collector_on_this_machine_is_reached_directly_whatever_the_proxy_variables_say(monkeypatch) -> None:
    """With HTTP_PROXY set (a client network's proxy), records for a local collector must not go to the proxy:
    it would receive every one of them."""
    import socket

    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    proxy = f"http://127.0.0.1:{dead.getsockname()[1]}"
    dead.close()  # nothing listens there: a request sent to the proxy fails
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with OtlpReceiver() as rx:
        exporter = OtelExporter(rx.url, batch=False)
        exporter.export(make_record(1))
        exporter.close()
        rx.wait_for(1)
        assert len(rx.log_records()) == 1
