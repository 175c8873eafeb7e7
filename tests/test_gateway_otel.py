"""--otel-endpoint: each ledger record also goes to an OTLP/HTTP collector (a real one on loopback)."""

from __future__ import annotations

from pathlib import Path

import openai
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from _gateway_support import FAKE_OPENAI_KEY, Canaries, LoopbackApp, write_policy
from clientguard.gateway.recording import RecordingUpstream
from clientguard.gateway.server import GatewayConfig, run_in_thread


class Collector(LoopbackApp):
    """Accepts OTLP/HTTP log exports and keeps their raw bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

        async def logs(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(b"", media_type="application/x-protobuf")

        super().__init__(Starlette(routes=[Route("/v1/logs", logs, methods=["POST"])]))


def test_each_request_is_exported_without_raw_values(tmp_path: Path) -> None:
    c = Canaries.generate()
    policy = write_policy(tmp_path / "repo")
    with Collector() as collector, RecordingUpstream() as up:
        handle = run_in_thread(GatewayConfig(policy=policy, port=0, upstreams={"openai": up.url},
                                             ledger_path=tmp_path / "l.sqlite", vault_dir=tmp_path / "v",
                                             otel_endpoint=collector.url))
        try:
            openai.OpenAI(base_url=handle.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0).chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": c.sentence()}])
            handle.drain()
        finally:
            handle.stop()  # shutting down flushes the exporter
        exported = b"".join(collector.bodies)
    assert b"/v1/chat/completions" in exported
    assert b"client-identifier" in exported
    assert all(v.encode() not in exported for v in (c.aws_key_id, c.email))
    assert FAKE_OPENAI_KEY.encode() not in exported
