"""The gateway's upstream client: HTTP/1.1 on pooled keep-alive connections, parsed by httptools.

    pool = UpstreamPool(ssl_context, read_timeout=900.0)
    response = await pool.request("POST", "https://api.openai.com/v1/responses", headers, body)
    async for chunk in response.chunks():   # decoded (gzip, deflate, br, zstd), as it arrives
        ...
    response.release()                       # back to the pool if read to the end, else closed
    await pool.close()

Why not aiohttp or httpx: a forwarding hop on loopback cost the gateway ~0.5 ms of CPU per request
through aiohttp (~1 ms through httpx), most of what it added to time to first token; this client sends
the request in one write and hands each body chunk to the reader without a stream layer in between
(bench/gateway.py measures the difference). It does what the gateway needs and no more: no redirects,
cookies or authentication; the agent's headers go out as written, plus Host and Content-Length. An
outbound proxy (HTTPS_PROXY and its kin, see proxy.py) is reached over HTTP: https upstreams through a
CONNECT tunnel with TLS end to end, http upstreams in absolute form.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import zlib
from collections import deque
from typing import Any, Callable
from urllib.parse import urlsplit

import brotli
import httptools
import zstandard

from clientguard.gateway.proxy import Proxy, ProxySettings

__all__ = ["UpstreamError", "UpstreamPool", "UpstreamResponse", "UpstreamTimeout"]

#: Pause reading from the upstream when this much decoded body waits for the reader.
_HIGH_WATER = 1 << 20
_LOW_WATER = 1 << 18
#: Idle connections older than this are not reused (servers commonly close them after 60-120 s).
KEEPALIVE_SECONDS = 60.0
CONNECT_TIMEOUT = 15.0


class UpstreamError(Exception):
    """The upstream could not be reached or broke the exchange; the message names what happened."""


class UpstreamTimeout(UpstreamError):
    """Connecting took too long, or the upstream sent nothing for the read timeout."""


class _Stale(UpstreamError):
    """A reused connection closed before any byte of the answer: safe to send again on a new one."""


def _decoder(encoding: str) -> Callable[[bytes], bytes] | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if encoding == "deflate":
        return _Deflate().decompress
    if encoding == "br":
        return brotli.Decompressor().process
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress
    raise UpstreamError(f"the upstream answered with Content-Encoding {encoding!r}, which clientguard cannot decode")


class _Deflate:
    """`deflate` as servers send it: zlib-wrapped, or (some) raw."""

    def __init__(self) -> None:
        self._d: Any = None

    def decompress(self, data: bytes) -> bytes:
        if self._d is None:
            self._d = zlib.decompressobj(zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS)
        return self._d.decompress(data)


class UpstreamResponse:
    """One answer: status and headers at once, the body as it arrives."""

    def __init__(self, conn: _Connection, method: str):
        self._conn = conn
        self._head_only = method == "HEAD"
        self.status = 0
        #: Header names lower-cased, values as sent.
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.headers: dict[str, str] = {}
        self.received = 0
        self.complete = False
        self._until_close = False
        self._headers_done: asyncio.Future = conn.loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future | None = None
        self._error: BaseException | None = None
        self._decode: Callable[[bytes], bytes] | None = None
        self._released = False

    # -- fed by the connection ----------------------------------------------------------------------

    def _on_headers(self, status: int) -> None:
        self.status = status
        headers = {}
        for name, value in self.raw_headers:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        self.headers = headers
        try:
            self._decode = _decoder(headers.get("content-encoding", ""))
        except UpstreamError as exc:
            self._fail(exc)
            return
        self._until_close = (
            "content-length" not in headers and "transfer-encoding" not in headers
            and status >= 200 and status not in (204, 304) and not self._head_only
        )
        if not self._headers_done.done():
            self._headers_done.set_result(None)
        if self._head_only:
            self._finish(reusable=False)

    def _on_body(self, data: bytes) -> None:
        if self._decode is not None:
            try:
                data = self._decode(data)
            except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
                self._fail(UpstreamError(f"the upstream's compressed body is corrupt ({type(exc).__name__})"))
                return
            if not data:
                return
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER:
            self._conn.pause()
        self._wake()

    def _finish(self, *, reusable: bool) -> None:
        if self.complete:
            return
        self.complete = True
        self._wake()
        self._conn.done(self, reusable)

    def _fail(self, exc: BaseException) -> None:
        if self.complete or self._error is not None:
            return
        self._error = exc
        if not self._headers_done.done():
            self._headers_done.set_exception(exc)
            self._headers_done.exception()  # retrieved: the request() caller re-raises it
        self._wake()
        self._conn.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the gateway ------------------------------------------------------------------------

    async def _headers(self) -> None:
        await self._headers_done

    def chunks(self) -> UpstreamResponse:
        """Async-iterate the decoded body as it arrives."""
        return self

    def __aiter__(self) -> UpstreamResponse:
        return self

    async def __anext__(self) -> bytes:
        """The next stretch of body: everything that arrived since the last call, as one piece. A reader
        that fell behind (an upstream sending many small events at once) then handles them in one go, and
        the gateway passes them on in one write, instead of paying a wake-up and a write for each."""
        while True:
            chunks = self._chunks
            if chunks:
                if len(chunks) == 1:
                    chunk = chunks.popleft()
                else:
                    chunk = b"".join(chunks)
                    chunks.clear()
                self._buffered -= len(chunk)
                if self._buffered < _LOW_WATER:
                    self._conn.resume()
                return chunk
            if self._error is not None:
                raise self._error
            if self.complete:
                raise StopAsyncIteration
            self._waiter = self._conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def read(self) -> bytes:
        """The whole decoded body."""
        parts = [chunk async for chunk in self]
        return b"".join(parts)

    def release(self) -> None:
        """Done with this answer: the connection goes back to the pool if it was read to the end."""
        if self._released:
            return
        self._released = True
        if not self.complete:
            self._conn.close()
        else:
            self._conn.release()


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection to an upstream, carrying one exchange at a time."""

    def __init__(self, pool: UpstreamPool, key: tuple[str, str, int]):
        self.pool = pool
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None  # a new one for each exchange
        self.response: UpstreamResponse | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0
        self.exchanges = 0
        self._paused = False
        self._last_io = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._header_name = b""

    # -- asyncio.Protocol ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:
            self.close()  # bytes nobody asked for: this connection cannot be trusted for the next exchange
            return
        self._last_io = self.loop.time()
        response.received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            response._fail(UpstreamError("the upstream switched protocols, which clientguard does not forward"))
        except httptools.HttpParserError as exc:
            response._fail(UpstreamError(f"the upstream sent malformed HTTP ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self.pool._all.discard(self)
        response = self.response
        if response is None or response.complete:
            return
        if response._headers_done.done() and response._until_close and exc is None and response._error is None:
            response._finish(reusable=False)  # a body delimited by the connection's end
        elif response.received == 0 and self.exchanges > 1:
            response._fail(_Stale("the upstream closed a kept-alive connection"))
        else:
            why = f": {exc}" if exc else ""
            response._fail(UpstreamError(f"the upstream closed the connection before the answer was complete{why}"))

    # -- httptools callbacks ------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        self.response.raw_headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            response.raw_headers.clear()  # an interim answer (100 Continue, 103 Early Hints): wait for the real one
            return
        response._on_headers(status)

    def on_body(self, body: bytes) -> None:
        if self.response is not None and not self.response.complete:
            self.response._on_body(body)

    def on_message_complete(self) -> None:
        response = self.response
        if response is None or response.complete or not response._headers_done.done():
            return
        response._finish(reusable=self.parser.should_keep_alive())

    # -- used by the pool and the response ----------------------------------------------------------

    def send(self, method: str, request: bytes, body: bytes | None) -> UpstreamResponse:
        assert self.transport is not None
        self.exchanges += 1
        self.reusable = False
        self.parser = httptools.HttpResponseParser(self)
        response = self.response = UpstreamResponse(self, method)
        self._last_io = self.loop.time()
        if body and len(body) < 65536:
            self.transport.write(request + body)
        else:
            self.transport.write(request)
            if body:
                self.transport.write(body)
        self._arm_timer()
        return response

    def done(self, response: UpstreamResponse, reusable: bool) -> None:
        self._cancel_timer()
        self.reusable = reusable and not self.closed

    def release(self) -> None:
        self.response = None
        if self.reusable and not self.closed:
            self.idle_since = time.monotonic()
            self.pool._put(self)
        else:
            self.close()

    def pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self._last_io = self.loop.time()
            self.transport.resume_reading()

    def close(self) -> None:
        self.reusable = False
        self._cancel_timer()
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    # -- read timeout: one timer an exchange, re-armed lazily rather than on every chunk ------------

    def _arm_timer(self) -> None:
        timeout = self.pool.read_timeout
        if timeout is None:
            return
        self._timer = self.loop.call_at(self._last_io + timeout, self._check_timeout)

    def _check_timeout(self) -> None:
        self._timer = None
        response = self.response
        timeout = self.pool.read_timeout
        if response is None or response.complete or timeout is None:
            return
        if self._paused or self.loop.time() - self._last_io < timeout:
            self._last_io = self.loop.time() if self._paused else self._last_io
            self._arm_timer()
            return
        response._fail(UpstreamTimeout(f"the upstream sent nothing for {timeout:g} s"))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class UpstreamPool:
    """Keep-alive connections per (scheme, host, port); one exchange per connection at a time."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, read_timeout: float | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT, proxies: ProxySettings | None = None):
        self.ssl_context = ssl_context
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self.proxies = proxies or ProxySettings()
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._closing = False

    async def request(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None = None,
                      *, after_send: Callable[[], None] | None = None) -> UpstreamResponse:
        """Send one request; return once the answer's status and headers are in.

        `url` is sent as written (no re-quoting). `after_send` runs once the request is handed to the
        socket, while the upstream works on it (once, even when a stale connection makes us send again).
        Raises UpstreamError (or UpstreamTimeout).
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(f"cannot forward to {url.split('?')[0]!r}: not an http(s) URL")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise UpstreamError(f"cannot forward to {url.split('?')[0]!r}: bad port") from None
        host_header = parts.netloc.rpartition("@")[2]
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proxy = self.proxies.for_target(scheme, parts.hostname, port) if self.proxies else None
        if proxy is not None and scheme == "http":
            target = f"http://{host_header}{target}"  # absolute form: the proxy forwards it
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
        if proxy is not None and scheme == "http" and proxy.authorization:
            lines.append(f"Proxy-Authorization: {proxy.authorization}")
        for name, value in headers:
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
                raise UpstreamError(f"the header {name!r} holds a line break; it cannot be forwarded")
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="strict")
        key = (scheme, parts.hostname, port)
        for attempt in (1, 2):
            conn = await self._acquire(key, proxy)
            response = conn.send(method, head, body)
            if after_send is not None:
                after_send()
                after_send = None
            try:
                await response._headers()
                return response
            except _Stale:
                if attempt == 2:
                    raise UpstreamError("the upstream closed the connection twice before answering") from None
            except BaseException:
                conn.close()  # cancelled or failed mid-exchange: the connection cannot carry another
                raise
        raise AssertionError("unreachable")

    async def _acquire(self, key: tuple[str, str, int], proxy: Proxy | None) -> _Connection:
        if self._closing:
            raise UpstreamError("the gateway is shutting down")
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_SECONDS:
                return conn
            conn.close()
            self._all.discard(conn)
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        conn = _Connection(self, key)
        tls = self.ssl_context if scheme == "https" else None
        via = f" through the proxy {proxy.label}" if proxy is not None else ""
        try:
            if proxy is None:
                opening = loop.create_connection(lambda: conn, host, port, ssl=tls,
                                                 server_hostname=host if tls else None)
            elif scheme == "https":
                opening = _tunnel(conn, proxy, host, port, tls)
            else:
                opening = loop.create_connection(lambda: conn, proxy.host, proxy.port)
            await asyncio.wait_for(opening, self.connect_timeout)
        except asyncio.TimeoutError:
            raise UpstreamTimeout(f"connecting to {host}:{port}{via} took over {self.connect_timeout:g} s") from None
        except ssl.SSLError as exc:
            raise UpstreamError(f"TLS with {host}:{port}{via} failed: {exc.reason or exc}") from None
        except OSError as exc:
            target = f"the proxy {proxy.label}" if proxy is not None else f"{host}:{port}"
            raise UpstreamError(f"cannot connect to {target}: {exc.strerror or exc}") from None
        self._all.add(conn)
        return conn

    def _put(self, conn: _Connection) -> None:
        if self._closing:
            conn.close()
            return
        self._idle.setdefault(conn.key, []).append(conn)

    def idle_count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    async def close(self) -> None:
        """Close every connection (in-flight answers end with an UpstreamError)."""
        self._closing = True
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        await asyncio.sleep(0)


class _TunnelOpener(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT (its head only); the connection then passes to a _Connection.

    (Not asyncio streams: a StreamWriter closes its transport when it is garbage-collected, which would
    close the tunnel under the connection that took it over.)"""

    def __init__(self) -> None:
        self.received = bytearray()
        self.head: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.received += data
        if not self.head.done() and (b"\r\n\r\n" in self.received or len(self.received) > 65536):
            self.head.set_result(bytes(self.received))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head.done():
            self.head.set_result(bytes(self.received))


async def _tunnel(conn: _Connection, proxy: Proxy, host: str, port: int, tls: ssl.SSLContext | None) -> None:
    """Open a CONNECT tunnel to ``host:port`` through ``proxy``, start TLS inside it (verified against
    ``host``, so the proxy sees only ciphertext), and hand the connection to ``conn``."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    loop = asyncio.get_running_loop()
    transport, opener = await loop.create_connection(_TunnelOpener, proxy.host, proxy.port)
    try:
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if proxy.authorization:
            lines.append(f"Proxy-Authorization: {proxy.authorization}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = await opener.head
        head, sep, rest = answer.partition(b"\r\n\r\n")
        if not sep:
            if len(answer) > 65536:
                raise UpstreamError(f"the proxy {proxy.label} answered CONNECT with an oversized header")
            raise UpstreamError(f"the proxy {proxy.label} closed the connection instead of opening a tunnel "
                                f"to {authority}")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        version, _, tail = status_line.partition(" ")
        code, _, reason = tail.partition(" ")
        if not version.startswith("HTTP/") or not code.isdigit():
            raise UpstreamError(f"the proxy {proxy.label} answered CONNECT with something that is not HTTP")
        if not 200 <= int(code) < 300:
            raise UpstreamError(f"the proxy {proxy.label} refused the tunnel to {authority}: {code} {reason}".rstrip())
        if rest:
            raise UpstreamError(f"the proxy {proxy.label} sent bytes of its own into the tunnel to {authority}")
        if tls is not None:
            transport = await loop.start_tls(transport, conn, tls, server_hostname=host)
        else:
            transport.set_protocol(conn)
    except BaseException:
        transport.close()
        raise
    conn.connection_made(transport)
