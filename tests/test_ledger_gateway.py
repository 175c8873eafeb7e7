"""The ledger behind the real gateway: what it records, what it never records, and SIGKILL under load."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import openai

from _gateway_support import FAKE_OPENAI_KEY, Canaries, running_stack, write_policy
from _otel_support import OtlpReceiver, attrs
from clientguard.gateway.recording import RecordingUpstream
from clientguard.gateway.server import GatewayConfig, run_in_thread
from clientguard.ledger import Ledger, key_path_for
from clientguard.ledger.verify import verify_ledger


def _ledger_bytes(path: Path) -> bytes:
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), key_path_for(path)]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def test_gateway_requests_are_recorded_without_the_values_it_redacted(tmp_path: Path) -> None:
    canaries = Canaries.generate()
    with running_stack(tmp_path, audit=True) as stack:
        client = openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        for _ in range(3):
            client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": canaries.sentence()}])
        stack.gateway.drain()
        ledger = stack.ledger
    result = verify_ledger(ledger)
    assert result.ok and result.count == 3
    with Ledger.open(ledger) as led:
        records = led.records()
    assert {(r.provider, r.endpoint, r.verdict) for r in records} == {("openai", "/v1/chat/completions", "allow")}
    # With an audit log required the entry is written before forwarding, when no status exists yet.
    assert {r.status for r in records} <= {None, 200}
    kinds = {red["kind"] for red in records[0].redactions}
    assert {"secret", "pii", "identifier"} <= kinds
    assert all(r.bytes_sent > 0 and r.request_sha256 and r.prompt is None for r in records)
    raw = _ledger_bytes(ledger)
    assert [c for c in (canaries.aws_key_id, canaries.email) if c.encode() in raw] == []


def test_gateway_exports_each_entry_to_an_otlp_collector(tmp_path: Path) -> None:
    canaries = Canaries.generate()
    policy = write_policy(tmp_path / "repo", audit=True)
    with RecordingUpstream() as up, OtlpReceiver() as rx:
        handle = run_in_thread(GatewayConfig(
            policy=policy, port=0, upstreams={"openai": up.url}, ledger_path=tmp_path / "l.sqlite",
            vault_dir=tmp_path / "vaults", otel_endpoint=rx.url,
        ))
        try:
            client = openai.OpenAI(base_url=handle.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
            client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": canaries.sentence()}])
            handle.drain()
        finally:
            handle.stop()
        rx.wait_for(1)
        (_, lr), = rx.log_records()
    a = attrs(lr)
    assert (a["clientguard.client"], a["clientguard.verdict"], a["clientguard.endpoint"]) == (
        "Acme Health", "allow", "/v1/chat/completions")
    assert a["clientguard.redactions.secret"] >= 1
    assert canaries.aws_key_id not in json.dumps(a)
    # The collector holds the entry's chain hash: an anchor outside the freelancer's machine.
    with Ledger.open(tmp_path / "l.sqlite") as led:
        (entry,) = led.entries()
    assert (a["clientguard.ledger.seq"], a["clientguard.ledger.hash"]) == (1, entry.hash)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_gateway(tmp_path: Path, policy: Path, upstream: str, ledger: Path) -> tuple[subprocess.Popen, str]:
    """`clientguard serve` as a user starts it, in its own process (so it can be SIGKILLed)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "clientguard.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--policy", str(policy), "--upstream", f"openai={upstream}", "--ledger", str(ledger)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path,
        env={**os.environ, "CLIENTGUARD_HOME": str(tmp_path / "home")},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/_clientguard/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("gateway did not become healthy")


@pytest.mark.parametrize("audit", [True, False], ids=["audit-log-required", "no-audit-clause"])
def test_sigkilled_gateway_loses_no_entry_of_an_answer_the_agent_holds(tmp_path: Path, audit: bool) -> None:
    # With an audit clause the entry is durable before forwarding, so every response that had started
    # has its entry. Without one it is written beside the forwarding and awaited before the answer's
    # last byte, so every response the agent received whole has its entry.
    canaries = Canaries.generate()
    policy = write_policy(tmp_path / "repo", audit=audit)
    ledger = tmp_path / "ledger.sqlite"
    started: set[str] = set()
    completed: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    with RecordingUpstream() as up:
        proc, url = _start_gateway(tmp_path, policy, up.url, ledger)

        def agent(n: int) -> None:
            with httpx.Client(timeout=30) as http:
                for i in range(200):  # bounded: the kill comes long before
                    if stop.is_set():
                        return
                    name = f"burst-{n}-{i}"
                    body = {"model": "gpt-4.1", "stream": i % 2 == 0,
                            "messages": [{"role": "user", "content": canaries.sentence()}]}
                    try:
                        with http.stream("POST", url + "/v1/chat/completions", json=body,
                                         headers={"user-agent": name, "authorization": f"Bearer {FAKE_OPENAI_KEY}"}) as resp:
                            # The status line arrived: the response has started.
                            with lock:
                                started.add(name)
                            for _ in resp.iter_bytes():
                                pass
                        with lock:
                            completed.add(name)
                    except httpx.HTTPError:
                        return

        threads = [threading.Thread(target=agent, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(started) < 80 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        proc.stderr.close()
    assert len(started) >= 80
    result = verify_ledger(ledger)
    assert result.ok, result.problem
    with Ledger.open(ledger) as led:
        recorded = {r.agent for r in led.records()}
    assert len(completed) >= 40
    assert sorted(completed - recorded) == []
    if audit:
        assert sorted(started - recorded) == []


def test_gateway_fsyncs_each_entry_only_when_the_contract_requires_an_audit_log(tmp_path: Path) -> None:
    from _gateway_support import write_policy
    from clientguard.gateway.app import Gateway
    from clientguard.gateway.server import GatewayConfig

    for audit, expected in ((True, 2), (False, 1)):  # FULL / NORMAL
        policy = write_policy(tmp_path / f"repo-{audit}", audit=audit)
        gw = Gateway(GatewayConfig(policy=policy, ledger_path=tmp_path / f"{audit}.sqlite", vault_dir=tmp_path / "v"))
        try:
            assert gw.ledger is not None
            assert gw.ledger._conn.execute("PRAGMA synchronous").fetchone()[0] == expected
        finally:
            gw.ledger.close()


def test_without_an_audit_clause_entries_reach_the_database_file_within_seconds(tmp_path: Path) -> None:
    # At "normal" durability the gateway checkpoints (fsyncs) the ledger about once a second: a copy of
    # the database file alone, as a power loss would leave it without the un-synced WAL, holds the entry.
    with running_stack(tmp_path, audit=False) as stack:
        client = openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hello"}])
        stack.gateway.drain()
        copy = tmp_path / "copy.sqlite"
        rows = 0
        deadline = time.monotonic() + 10
        while rows == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            copy.write_bytes(stack.ledger.read_bytes())
            try:
                with sqlite3.connect(copy) as conn:
                    rows = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            except sqlite3.OperationalError:  # not even the schema has left the WAL yet
                rows = 0
        assert rows == 1


def test_a_ledger_locked_by_another_writer_delays_the_answer_but_loses_no_entry(tmp_path: Path) -> None:
    with running_stack(tmp_path, audit=False) as stack:
        client = openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "first"}])
        other = sqlite3.connect(stack.ledger, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
        release.start()
        try:
            answer = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "second"}])
        finally:
            release.join()
            other.close()
        assert answer.choices[0].message.content
        stack.gateway.drain()
    result = verify_ledger(stack.ledger)
    assert result.ok and result.count == 2


def test_streamed_requests_are_recorded_even_when_the_agent_leaves_after_the_first_event(tmp_path: Path) -> None:
    """Without an audit clause a stream's entry is written once its first bytes reached the agent; an
    agent that hangs up right then, or reads to the end, leaves an entry either way."""
    with running_stack(tmp_path, audit=False, upstream=RecordingUpstream(tool_calls=False, event_delay=0.05)) as stack:
        body = {"model": "gpt-4.1", "stream": True, "messages": [{"role": "user", "content": "explain the retry policy"}]}
        with httpx.Client(timeout=30) as client:
            with client.stream("POST", stack.url + "/v1/chat/completions", json=body,
                               headers={"authorization": f"Bearer {FAKE_OPENAI_KEY}"}) as response:
                assert response.status_code == 200
                first = next(response.iter_raw())
                assert first.startswith(b"data: ")
            # the connection is closed here, long before the paced stream could end
            full = client.post(stack.url + "/v1/chat/completions", json=body,
                               headers={"authorization": f"Bearer {FAKE_OPENAI_KEY}"})
            assert full.status_code == 200 and b"[DONE]" in full.content
        deadline = time.monotonic() + 10
        while True:
            stack.gateway.drain()
            with Ledger.open(stack.ledger) as led:
                records = led.records()
            if len(records) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert [(r.endpoint, r.verdict) for r in records] == [("/v1/chat/completions", "allow")] * 2
    assert verify_ledger(stack.ledger).ok
