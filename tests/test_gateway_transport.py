"""Transport behaviour: encodings, size limits, WebSocket upgrades, routes, errors passed through."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import brotli
import httpx
import pytest
import zstandard

from _gateway_support import FAKE_OPENAI_KEY, Canaries, Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    with running_stack(tmp_path_factory.mktemp("transport"), max_body=64 * 1024) as s:
        yield s


def _chat_body(c: Canaries) -> bytes:
    return json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": c.sentence()}]}).encode()


def _post(stack: Stack, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(stack.url + path, content=body, timeout=30,
                      headers={"content-type": "application/json", "authorization": f"Bearer {FAKE_OPENAI_KEY}", **headers})


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("br", brotli.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_compressed_request_bodies_are_decoded_inspected_and_redacted(stack: Stack, encoding, compress) -> None:
    c = Canaries.generate()
    before = len(stack.upstream.requests)
    response = _post(stack, "/v1/chat/completions", compress(_chat_body(c)), **{"content-encoding": encoding})
    assert response.status_code == 200
    assert len(stack.upstream.requests) == before + 1
    assert "content-encoding" not in stack.upstream.requests[-1].headers
    assert stack.leaked(c) == []
    assert c.aws_key_id in response.json()["choices"][0]["message"]["content"]


def test_undecodable_body_is_refused_with_415_and_not_forwarded(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    response = _post(stack, "/v1/chat/completions", b"\x1f\x8b not really gzip", **{"content-encoding": "gzip"})
    assert response.status_code == 415
    assert "Content-Encoding: gzip" in response.json()["error"]["message"]
    assert len(stack.upstream.requests) == before


def test_unknown_encoding_is_refused_with_415(stack: Stack) -> None:
    response = _post(stack, "/v1/chat/completions", b"xx", **{"content-encoding": "compress"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_content_encoding"


def test_body_over_the_limit_gets_413_in_the_openai_shape(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    response = _post(stack, "/v1/chat/completions", b"{" + b" " * 70_000 + b"}")
    assert response.status_code == 413
    assert "--max-body" in response.json()["error"]["message"]
    assert len(stack.upstream.requests) == before


def test_compressed_body_expanding_over_the_limit_gets_413(stack: Stack) -> None:
    bomb = gzip.compress(b'{"a":"' + b"x" * 500_000 + b'"}')
    response = _post(stack, "/v1/chat/completions", bomb, **{"content-encoding": "gzip"})
    assert response.status_code == 413


def test_body_over_the_limit_gets_413_in_the_anthropic_shape(stack: Stack) -> None:
    response = _post(stack, "/v1/messages", b"{" + b" " * 70_000 + b"}", **{"anthropic-version": "2023-06-01"})
    assert response.status_code == 413
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "request_too_large"


def test_invalid_json_on_an_api_path_gets_400_and_is_not_forwarded(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    response = _post(stack, "/v1/responses", b'{"model": "gpt-5.1", "input": [')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert len(stack.upstream.requests) == before


def test_body_that_is_not_utf8_gets_400_saying_where(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    body = b'{"model": "gpt-4.1", "messages": [{"role": "user", "content": "\xff\xfe"}]}'
    response = _post(stack, "/v1/chat/completions", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert f"not UTF-8: byte 0xff at offset {body.index(0xff)}" in error["message"]
    assert len(stack.upstream.requests) == before


def test_a_number_too_long_to_read_gets_400_saying_so(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    body = b'{"model": "gpt-4.1", "n": 1' + b"0" * 5000 + b', "messages": []}'
    response = _post(stack, "/v1/chat/completions", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and "a number of more than 4300 digits" in error["message"]
    assert len(stack.upstream.requests) == before


@pytest.mark.parametrize("depth", [2_000, 20_000])
def test_json_nested_too_deeply_gets_400_not_an_internal_error(stack: Stack, depth: int) -> None:
    before = len(stack.upstream.requests)
    body = b'{"model": "gpt-4.1", "messages": [], "metadata": ' + b"[" * depth + b"]" * depth + b"}"
    response = _post(stack, "/v1/chat/completions", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and "nests JSON too deeply" in error["message"]
    assert len(stack.upstream.requests) == before
    # the gateway goes on serving
    ok = _post(stack, "/v1/chat/completions", b'{"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}')
    assert ok.status_code == 200


def test_non_json_body_on_another_path_is_refused_as_uninspectable(stack: Stack) -> None:
    before = len(stack.upstream.requests)
    response = httpx.post(stack.url + "/v1/files", content=b"--boundary\r\nraw file", timeout=10,
                          headers={"content-type": "multipart/form-data; boundary=boundary"})
    assert response.status_code == 415
    assert len(stack.upstream.requests) == before


def test_codex_websocket_upgrade_gets_426_at_once(stack: Stack) -> None:
    response = httpx.get(stack.url + "/v1/responses", timeout=5, headers={
        "upgrade": "websocket", "connection": "Upgrade", "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "openai-beta": "responses_websockets=2026-02-06",
    })
    assert response.status_code == 426
    assert "supports_websockets = false" in response.json()["error"]["message"]


def test_other_paths_are_forwarded_with_their_query(stack: Stack) -> None:
    response = httpx.get(stack.url + "/v1/models?limit=5", timeout=10, headers={"authorization": f"Bearer {FAKE_OPENAI_KEY}"})
    assert response.status_code == 200
    assert stack.upstream.requests[-1].path == "/v1/models"
    assert stack.upstream.requests[-1].query == "limit=5"


def test_paths_without_v1_and_with_provider_prefix_reach_the_api(stack: Stack) -> None:
    c = Canaries.generate()
    for path in ("/chat/completions", "/openai/v1/chat/completions", "/openai/chat/completions"):
        response = _post(stack, path, _chat_body(c))
        assert response.status_code == 200, path
        assert stack.upstream.requests[-1].path == "/v1/chat/completions"
    assert stack.leaked(c) == []


def test_upstream_errors_pass_through_unchanged(stack: Stack) -> None:
    error = {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit"}}
    stack.upstream.queue_error(429, error)
    response = _post(stack, "/v1/chat/completions", _chat_body(Canaries.generate()))
    assert response.status_code == 429
    assert response.json() == error


def test_authorization_is_passed_through_and_upstream_asked_for_identity(stack: Stack) -> None:
    _post(stack, "/v1/chat/completions", _chat_body(Canaries.generate()), **{"accept-encoding": "gzip, br, zstd"})
    headers = stack.upstream.requests[-1].headers
    assert headers["authorization"] == f"Bearer {FAKE_OPENAI_KEY}"
    assert headers["accept-encoding"] == "identity"


def test_unreachable_upstream_gives_502_in_the_provider_shape(tmp_path: Path) -> None:
    from _gateway_support import write_policy
    from clientguard.gateway.server import GatewayConfig, run_in_thread

    policy = write_policy(tmp_path / "repo")
    handle = run_in_thread(GatewayConfig(policy=policy, port=0, upstreams={"anthropic": "http://127.0.0.1:9"},
                                         ledger_path=tmp_path / "l.sqlite", vault_dir=tmp_path / "v"))
    try:
        response = httpx.post(handle.url + "/v1/messages", timeout=20,
                              json={"model": "claude-opus-4-8", "max_tokens": 5, "messages": []})
    finally:
        handle.stop()
    assert response.status_code == 502
    assert response.json()["type"] == "error" and "could not reach" in response.json()["error"]["message"]


def test_health_names_the_client(stack: Stack) -> None:
    health = httpx.get(stack.url + "/_clientguard/health", timeout=5).json()
    assert health["status"] == "ok" and health["client"] == "Acme Health" and health["version"]


def test_lone_surrogate_escapes_survive_redaction(stack: Stack) -> None:
    c = Canaries.generate()
    body = ('{"model":"gpt-4.1","messages":[{"role":"user","content":"odd \\ud800 text ' + c.aws_key_id + '"}]}').encode()
    response = _post(stack, "/v1/chat/completions", body)
    assert response.status_code == 200
    assert stack.leaked(c) == []
    assert "\\ud800" in stack.upstream.requests[-1].text


def test_values_a_fast_json_writer_would_change_reach_the_upstream_exactly(stack: Stack) -> None:
    # A redacted body is written again: integers beyond 64 bits, NaN/Infinity and deep nesting must come
    # out as they went in, not rounded to a float, turned into null, or refused.
    c = Canaries.generate()
    deep = "[" * 300 + "1" + "]" * 300
    body = ('{"model":"gpt-4.1","seed":123456789012345678901234567890,"temperature":NaN,"top_p":Infinity,'
            '"metadata":{"nested":' + deep + '},'
            '"messages":[{"role":"user","content":"key ' + c.aws_key_id + '"}]}').encode()
    response = _post(stack, "/v1/chat/completions", body)
    assert response.status_code == 200
    assert stack.leaked(c) == []
    sent = stack.upstream.requests[-1].text
    assert '"seed":123456789012345678901234567890' in sent
    assert '"temperature":NaN' in sent and '"top_p":Infinity' in sent
    assert deep in sent


def test_unicode_and_control_characters_survive_redaction(stack: Stack) -> None:
    c = Canaries.generate()
    text = f"Grüße \u2028 line\ttab \x01 \"quoted\" {c.email} 漢字 😀"
    response = _post(stack, "/v1/chat/completions", json.dumps(
        {"model": "gpt-4.1", "messages": [{"role": "user", "content": text}]}).encode())
    assert response.status_code == 200
    assert stack.leaked(c) == []
    sent = json.loads(stack.upstream.requests[-1].text)["messages"][0]["content"]
    assert c.email not in sent
    assert sent.startswith("Grüße \u2028 line\ttab \x01 \"quoted\" ") and sent.endswith(" 漢字 😀")
