"""`clientguard serve` as a user meets it: a real process, clear errors, exit code 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from _gateway_support import write_policy
from clientguard.errors import InputError
from clientguard.gateway.commands import parse_upstreams
from clientguard.gateway.server import GatewayConfig, build_gateway, run_in_thread

CLI = [sys.executable, "-m", "clientguard.cli"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CLIENTGUARD_HOME": str(tmp_path / "home")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_without_a_policy_exits_2_with_a_hint(tmp_path: Path) -> None:
    result = subprocess.run(CLI + ["serve", "--port", "0"], cwd=tmp_path, env=_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no clientguard.toml found" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_bad_upstream_exits_2_naming_it(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "repo")
    result = subprocess.run(CLI + ["serve", "--policy", str(policy), "--upstream", "openai:http://x"],
                            env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "openai:http://x" in result.stderr


@pytest.mark.parametrize("proxied", [False, True])
def test_serve_runs_and_answers_health(tmp_path: Path, proxied: bool) -> None:
    policy = write_policy(tmp_path / "repo")
    port = _free_port()
    env = {k: v for k, v in _env(tmp_path).items() if not k.lower().endswith("_proxy")}
    if proxied:  # the banner names the proxy, never its credentials
        env.update(HTTPS_PROXY="http://consultant:FAKE-pr0xy-pw@proxy.corp.test:3128", NO_PROXY="corp.internal")
    proc = subprocess.Popen(CLI + ["serve", "--policy", str(policy), "--port", str(port),
                                   "--ledger", str(tmp_path / "l.sqlite")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_clientguard/health", timeout=2).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.time() < deadline, "the gateway did not start"
                time.sleep(0.2)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert health["client"] == "Acme Health"
    assert f"http://127.0.0.1:{port}" in err and "supports_websockets=false" in err
    flat = " ".join(err.split())  # the banner's table may wrap
    if proxied:
        assert "https via http://proxy.corp.test:3128 (HTTPS_PROXY)" in flat and "NO_PROXY=corp.internal" in flat
        assert "FAKE-pr0xy-pw" not in err and "consultant" not in err
    else:
        assert "proxy" not in flat


def test_listening_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "repo")
    with pytest.raises(InputError, match="needs an access token"):
        build_gateway(GatewayConfig(policy=policy, host="0.0.0.0", port=0, vault_dir=tmp_path / "v",
                                    ledger_path=tmp_path / "l.sqlite"))


def test_with_a_token_requests_without_it_get_401(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "repo")
    handle = run_in_thread(GatewayConfig(policy=policy, port=0, token="FAKE0000token", vault_dir=tmp_path / "v",
                                         ledger_path=tmp_path / "l.sqlite", upstreams={"openai": "http://127.0.0.1:9"}))
    try:
        response = httpx.get(handle.url + "/v1/models", timeout=10)
        stats = httpx.get(handle.url + "/_clientguard/stats", timeout=10)
        allowed = httpx.get(handle.url + "/_clientguard/stats", timeout=10, headers={"x-clientguard-token": "FAKE0000token"})
    finally:
        handle.stop()
    assert response.status_code == 401
    assert "x-clientguard-token" in response.json()["error"]["message"]
    assert stats.status_code == 401 and allowed.status_code == 200


def test_parse_upstreams_accepts_both_providers() -> None:
    assert parse_upstreams(["openai=http://127.0.0.1:1/v1", "anthropic=https://a.example"]) == {
        "openai": "http://127.0.0.1:1/v1", "anthropic": "https://a.example"}


def test_the_gateway_refuses_to_start_when_its_self_test_finds_nothing(tmp_path: Path, monkeypatch) -> None:
    from clientguard.detect import Detector
    from clientguard.errors import ClientguardError
    from clientguard.gateway import app as gateway_app

    # A real detector with an empty rule set: it finds nothing, so a planted key would leave unredacted.
    monkeypatch.setattr(gateway_app.Detector, "create", classmethod(
        lambda cls, *a, **k: Detector([], fingerprint_key=b"FAKE0000" * 4)))
    with pytest.raises(ClientguardError, match="self-test failed"):
        build_gateway(GatewayConfig(policy=write_policy(tmp_path / "repo"), port=0, vault_dir=tmp_path / "v",
                                    ledger_path=tmp_path / "l.sqlite"))
