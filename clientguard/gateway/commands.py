"""`clientguard serve`: run the gateway in the foreground."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from clientguard.errors import InputError
from clientguard.gateway.config import DEFAULT_MAX_BODY, DEFAULT_PORT, GatewayConfig

_UPSTREAM = re.compile(r"^(openai|anthropic)=(https?://[^\s]+)$")


def parse_upstreams(values: list[str]) -> dict[str, str]:
    """Turn ["openai=URL", ...] into {"openai": URL}; InputError naming the bad entry."""
    out: dict[str, str] = {}
    for value in values:
        m = _UPSTREAM.match(value.strip())
        if m is None:
            raise InputError(
                f"--upstream {value!r} is not NAME=URL",
                hint="use --upstream openai=https://api.openai.com/v1 or --upstream anthropic=http://127.0.0.1:9100",
            )
        out[m.group(1)] = m.group(2)
    return out


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on; beyond loopback needs --token."),
        port: int = typer.Option(DEFAULT_PORT, help="Port to listen on (0 picks a free one)."),
        policy: Optional[Path] = typer.Option(None, "--policy", help="The client's clientguard.toml (default: search upward from here)."),
        account: Optional[str] = typer.Option(None, help="Account to forward under (default: the policy's gateway.account)."),
        upstream: list[str] = typer.Option([], help="Provider base URL, as openai=URL or anthropic=URL; repeatable."),
        ledger: Optional[Path] = typer.Option(None, help="Ledger file (default: the client's ledger in the data directory)."),
        otel_endpoint: Optional[str] = typer.Option(None, help="Also export each ledger record to this OTLP/HTTP endpoint."),
        max_body: int = typer.Option(DEFAULT_MAX_BODY, help="Largest request body accepted, in bytes (larger: 413)."),
        token: Optional[str] = typer.Option(None, envvar="CLIENTGUARD_GATEWAY_TOKEN",
                                            help="Require header x-clientguard-token with this value (needed off loopback)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log one line per request (never headers or bodies)."),
    ) -> None:
        """Run the local gateway between coding agents and model providers: pseudonymize, forward, restore."""
        from clientguard.detect.commands import first_run_notice
        from clientguard.gateway.server import bind_socket, build_gateway, serve_forever

        first_run_notice(Console(stderr=True))

        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        config = GatewayConfig(
            policy=policy, account=account, host=host, port=port, upstreams=parse_upstreams(upstream),
            ledger_path=ledger, otel_endpoint=otel_endpoint, max_body=max_body, token=token,
        )
        app_ = build_gateway(config)
        sock = bind_socket(config.host, config.port)
        _banner(app_, config, sock.getsockname()[1])
        serve_forever(config, app_, sock)


def _banner(app_, config: GatewayConfig, port: int) -> None:
    from clientguard.policy import decide

    err = Console(stderr=True)
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"http://{host}:{port}"
    account = app_.default_account
    verdict = decide(app_.policy, account, "local", app_.catalog)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("client", app_.client_name)
    table.add_row("policy", str(app_.policy.path))
    table.add_row("account", f"{account.name} ({account.provider} {account.plan}) -> {verdict.action}")
    table.add_row("listening", url)
    for name, base in sorted(app_.upstreams.items()):
        table.add_row(f"upstream {name}", base)
    if app_.proxies:
        table.add_row("proxy", app_.proxies.describe())
    table.add_row("ledger", str(app_.ledger_path))
    table.add_row("protected", f"{len(app_.protected.files)} file(s), {len(app_.protected)} line(s) indexed")
    if app_.saved_credential_files:
        table.add_row("saved credentials", f"redacted wherever sent: {', '.join(app_.saved_credential_files)}")
    err.print("[bold]clientguard gateway[/]")
    err.print(table)
    codex = (f"-c model_provider=cg -c 'model_providers.cg={{name=\"clientguard\",base_url=\"{url}/v1\","
             "env_key=\"OPENAI_API_KEY\",wire_api=\"responses\",supports_websockets=false}'")
    err.print(f"  Codex:        codex {codex}", highlight=False, soft_wrap=True)
    err.print(f"  Claude Code:  ANTHROPIC_BASE_URL={url}", highlight=False, soft_wrap=True)
    err.print(f"  aider, SDKs:  OPENAI_API_BASE={url}/v1", highlight=False, soft_wrap=True)
