"""How a gateway is set up: the policy, the account, the upstreams, limits and where records go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8787
DEFAULT_MAX_BODY = 32 * 1024 * 1024
#: Agents keep streams open for a long time (Claude Code asks for 600 s); stay above that.
DEFAULT_UPSTREAM_TIMEOUT = 900.0


@dataclass
class GatewayConfig:
    """Everything `clientguard serve` can be told; `run_in_thread` and the CLI both build one.

    `policy` is a loaded Policy, a path to a clientguard.toml, or None to search from the current
    directory. `upstreams` maps "openai" / "anthropic" to base URLs (defaults: the public APIs).
    `port` 0 picks a free port. `vault_dir` overrides where vault keys live (tests).
    """

    policy: Any = None
    account: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    upstreams: dict[str, str] = field(default_factory=dict)
    ledger_path: Path | None = None
    otel_endpoint: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    vault_dir: Path | None = None
    token: str | None = None
    upstream_timeout: float = DEFAULT_UPSTREAM_TIMEOUT
    engine: str = "auto"
