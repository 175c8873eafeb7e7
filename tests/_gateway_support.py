"""Shared pieces of the gateway tests: a client policy on disk, fresh canaries, and a running stack
(RecordingUpstream on loopback, the gateway in a thread in front of it)."""

from __future__ import annotations

import secrets
import socket
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from clientguard.gateway.recording import RecordingUpstream
from clientguard.gateway.server import GatewayConfig, GatewayHandle, run_in_thread

CLIENT = "Acme Health"
DOMAIN = "acme-health.de"
FAKE_OPENAI_KEY = "sk-test-FAKE0000gateway"
FAKE_ANTHROPIC_KEY = "sk-ant-test-FAKE0000gateway"

POLICY = """\
[client]
name = "{client}"
identifiers = ["{client}", "{domain}"]
protected_paths = {protected}

[contract]
nda = true
no_third_party_processing = {no_third_party}
audit_log_required = {audit}

[[accounts]]
name = "work"
provider = "openai"
plan = "api"

[[accounts]]
name = "claude"
provider = "anthropic"
plan = "api"
{extra_accounts}
[gateway]
account = "{account}"
"""


def write_policy(root: Path, *, client: str = CLIENT, protected: list[str] | None = None,
                 no_third_party: bool = False, audit: bool = False, account: str = "work",
                 extra_accounts: str = "") -> Path:
    """Write a clientguard.toml for a test client into `root` and return its path."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "clientguard.toml"
    path.write_text(POLICY.format(
        client=client, domain=DOMAIN, protected="[" + ", ".join(f'"{p}"' for p in (protected or [])) + "]",
        no_third_party=str(no_third_party).lower(), audit=str(audit).lower(), account=account,
        extra_accounts=extra_accounts,
    ))
    return path


@dataclass(frozen=True)
class Canaries:
    """Values that must never reach the upstream, generated per test (no token-shaped fixtures)."""

    aws_key_id: str
    email: str
    client: str = CLIENT

    @classmethod
    def generate(cls) -> "Canaries":
        key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
        return cls(aws_key_id=key, email=f"jana.novak.{secrets.token_hex(3)}@posteo.de")

    def all(self) -> list[str]:
        return [self.aws_key_id, self.email, self.client]

    def sentence(self) -> str:
        return f"Deploy for {self.client} with key {self.aws_key_id}; tell {self.email} when done."


@dataclass
class Stack:
    """A running upstream and gateway; `url` is the gateway's base URL."""

    upstream: RecordingUpstream
    gateway: GatewayHandle
    policy: Path
    ledger: Path

    @property
    def url(self) -> str:
        return self.gateway.url

    def leaked(self, canaries: Canaries) -> list[str]:
        """Canaries found anywhere in what the upstream received (bodies and headers)."""
        return [c for c in canaries.all() for r in self.upstream.requests if r.contains(c)]


@contextmanager
def running_stack(tmp_path: Path, *, upstream: RecordingUpstream | None = None, **policy_args) -> Iterator[Stack]:
    """Start a RecordingUpstream and a gateway for a test client under `tmp_path`."""
    policy = write_policy(tmp_path / "repo", **{k: v for k, v in policy_args.items() if k in (
        "client", "protected", "no_third_party", "audit", "account", "extra_accounts")})
    config_args = {k: v for k, v in policy_args.items() if k in ("max_body", "token", "host")}
    up = upstream or RecordingUpstream()
    with up:
        ledger = tmp_path / "ledger.sqlite"
        handle = run_in_thread(GatewayConfig(
            policy=policy, port=0, upstreams={"openai": up.url, "anthropic": up.url},
            ledger_path=ledger, vault_dir=tmp_path / "vaults", **config_args,
        ))
        try:
            yield Stack(up, handle, policy, ledger)
        finally:
            handle.stop()


class LoopbackApp:
    """Serve an ASGI app on a free 127.0.0.1 port in a thread, for the life of a `with` block."""

    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
