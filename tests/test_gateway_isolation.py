"""Isolation under load and failure: concurrent streams, per-client vaults, disconnects, fail closed, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from _gateway_support import FAKE_OPENAI_KEY, Canaries, LoopbackApp, running_stack, write_policy
from clientguard.gateway.recording import RecordingUpstream
from clientguard.gateway.server import GatewayConfig, run_in_thread


def test_200_concurrent_streams_each_get_only_their_own_values(tmp_path: Path) -> None:
    canaries = [Canaries.generate() for _ in range(200)]

    async def one(client: httpx.AsyncClient, c: Canaries) -> str:
        body = {"model": "gpt-4.1", "stream": True, "messages": [{"role": "user", "content": c.sentence()}]}
        text = []
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    for choice in json.loads(line[6:]).get("choices", []):
                        text.append((choice.get("delta") or {}).get("content") or "")
        return "".join(text)

    async def run(url: str) -> list[str]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120,
                                     headers={"authorization": f"Bearer {FAKE_OPENAI_KEY}"}) as client:
            return await asyncio.gather(*(one(client, c) for c in canaries))

    with running_stack(tmp_path) as stack:
        texts = asyncio.run(run(stack.url))
        sent = "".join(r.text for r in stack.upstream.requests)
    assert all(c.aws_key_id not in sent for c in canaries)
    for c, text in zip(canaries, texts):
        assert c.aws_key_id in text and c.email in text
        others = [o.aws_key_id for o in canaries if o is not c and o.aws_key_id in text]
        assert others == []


def test_placeholder_from_another_clients_vault_stays_a_placeholder(tmp_path: Path) -> None:
    c = Canaries.generate()
    with running_stack(tmp_path / "a", client="Acme Health") as acme:
        openai.OpenAI(base_url=acme.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": f"key {c.aws_key_id}"}])
        acme_placeholder = acme.upstream.requests[-1].placeholders()[0]
        with running_stack(tmp_path / "b", client="Globex Corp") as globex:
            answer = openai.OpenAI(base_url=globex.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0
                                   ).chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": f"what is {acme_placeholder}?"}])
    text = answer.choices[0].message.content
    assert acme_placeholder in text
    assert c.aws_key_id not in text


class _EndlessUpstream(LoopbackApp):
    """A real upstream whose stream never ends; it notes when its response generator is closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.started = threading.Event()

        async def stream(request):
            async def events():
                try:
                    self.started.set()
                    while True:
                        chunk = {"choices": [{"index": 0, "delta": {"content": "tick "}, "finish_reason": None}]}
                        yield f"data: {json.dumps(chunk)}\n\n".encode()
                        await asyncio.sleep(0.05)
                finally:
                    self.closed.set()
            return StreamingResponse(events(), media_type="text/event-stream")

        super().__init__(Starlette(routes=[Route("/v1/chat/completions", stream, methods=["POST"])]))


def test_client_disconnect_cancels_the_upstream_stream(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "repo")
    with _EndlessUpstream() as upstream:
        handle = run_in_thread(GatewayConfig(policy=policy, port=0, upstreams={"openai": upstream.url},
                                             ledger_path=tmp_path / "l.sqlite", vault_dir=tmp_path / "v"))
        try:
            with httpx.stream("POST", handle.url + "/v1/chat/completions", timeout=10,
                              json={"model": "m", "stream": True, "messages": []}) as response:
                first = next(response.iter_bytes())
                assert b"tick" in first
            assert upstream.closed.wait(10), "the upstream stream was not cancelled"
        finally:
            handle.stop()


def test_streams_are_not_buffered_first_event_arrives_before_the_last_is_sent(tmp_path: Path) -> None:
    with running_stack(tmp_path, upstream=RecordingUpstream(event_delay=0.2, tool_calls=False)) as stack:
        started = time.perf_counter()
        with httpx.stream("POST", stack.url + "/v1/chat/completions", timeout=30,
                          json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
            first_at = None
            for _chunk in r.iter_bytes():
                first_at = first_at or time.perf_counter() - started
            total = time.perf_counter() - started
    assert first_at is not None and first_at < total / 2


def test_a_detector_failure_fails_closed_with_a_provider_shaped_500(tmp_path: Path) -> None:
    class BrokenDetector:  # fault injection: the engine raises mid-request
        def scan_many(self, texts):
            raise RuntimeError("engine fault")

    with running_stack(tmp_path) as stack:
        stack.gateway.gateway.scans.detector = BrokenDetector()  # the detector the gateway scans with
        response = httpx.post(stack.url + "/v1/chat/completions", timeout=10,
                              json={"model": "m", "messages": [{"role": "user", "content": "hello"}]})
        assert stack.upstream.requests == []
    assert response.status_code == 500
    assert "nothing was forwarded" in response.json()["error"]["message"]


def test_credentials_and_values_never_reach_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    c = Canaries.generate()
    caplog.set_level(logging.DEBUG)
    with running_stack(tmp_path) as stack:
        openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": c.sentence()}])
    assert any(r.name == "clientguard.gateway" for r in caplog.records)
    assert FAKE_OPENAI_KEY not in caplog.text
    assert all(v not in caplog.text for v in c.all()[:2])
