"""Running the gateway: in the foreground for `clientguard serve`, or in a thread for tests and tools.

    from clientguard.gateway.server import GatewayConfig, run_in_thread
    handle = run_in_thread(GatewayConfig(policy=path, port=0, upstreams={"openai": up.url}))
    ... handle.url ...
    handle.stop()
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass

import uvicorn

from clientguard.errors import InputError
from clientguard.gateway.app import Gateway, is_loopback
from clientguard.gateway.config import GatewayConfig

__all__ = ["GatewayConfig", "GatewayHandle", "bind_socket", "build_gateway", "run_in_thread", "serve_forever"]


class _QuietUpgradeWarnings(logging.Filter):
    """uvicorn warns on every WebSocket upgrade it does not serve; the gateway answers those with 426."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not ("Unsupported upgrade request" in msg or "No supported WebSocket library" in msg)


def build_gateway(config: GatewayConfig) -> Gateway:
    """Check the bind address and build the app (loads policy, vault, detector, ledger)."""
    if not is_loopback(config.host) and not config.token:
        raise InputError(
            f"refusing to listen on {config.host}: beyond loopback the gateway needs an access token",
            hint="pass --token TOKEN (clients then send the header x-clientguard-token), or use --host 127.0.0.1",
        )
    if config.max_body < 1024:
        raise InputError(f"--max-body {config.max_body} is too small; give at least 1024 bytes")
    return Gateway(config)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio only sets TCP_NODELAY when proto == IPPROTO_TCP, and this socket has proto 0; without it
    # every response waits ~40 ms for the client's delayed ACK. Accepted sockets inherit it (Linux).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}",
                         hint="choose another --port, or stop what is using this one") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app: Gateway, config: GatewayConfig, log_level: str) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_QuietUpgradeWarnings())
    return uvicorn.Config(
        app, host=config.host, port=config.port, ws="none", lifespan="on", log_level=log_level,
        access_log=False, timeout_keep_alive=75, backlog=2048, http="auto",
    )


@dataclass
class GatewayHandle:
    """A gateway running in a background thread."""

    url: str
    port: int
    gateway: Gateway
    _server: uvicorn.Server
    _thread: threading.Thread
    _loop: asyncio.AbstractEventLoop | None = None

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until pending ledger writes are done."""
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.gateway.drain(), loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> "GatewayHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(config: GatewayConfig, *, startup_timeout: float = 30.0) -> GatewayHandle:
    """Start the gateway on `config.host` (port 0 = a free port) in a daemon thread; return its handle."""
    app = build_gateway(config)
    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(app, config, "warning"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    holder: dict = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        finally:
            loop.close()

    thread = threading.Thread(target=target, name=f"clientguard-gateway-{port}", daemon=True)
    thread.start()
    waited = 0.0
    while not server.started:
        if not thread.is_alive():
            raise InputError(f"the gateway on {config.host}:{port} stopped while starting")
        thread.join(0.01)
        waited += 0.01
        if waited > startup_timeout:
            server.should_exit = True
            raise InputError(f"the gateway on {config.host}:{port} did not start within {startup_timeout:.0f} s")
    host = f"[{config.host}]" if ":" in config.host else config.host
    return GatewayHandle(url=f"http://{host}:{port}", port=port, gateway=app, _server=server, _thread=thread,
                         _loop=holder.get("loop"))


def serve_forever(config: GatewayConfig, app: Gateway | None = None, sock: socket.socket | None = None) -> None:
    """Serve in the foreground until interrupted (what `clientguard serve` runs)."""
    app = app or build_gateway(config)
    sock = sock or bind_socket(config.host, config.port)
    server = uvicorn.Server(_uvicorn_config(app, config, "warning"))
    server.run(sockets=[sock])
