"""The gateway's own upstream client (clientguard/gateway/upstream.py) against real HTTP servers on 127.0.0.1.

The servers here are raw asyncio TCP servers that write exactly the bytes each case needs (chunked,
length-delimited, close-delimited, compressed, interim answers, broken framing, silence), so every
path of the client runs over a real socket.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import zlib
from collections.abc import Awaitable, Callable

import brotli
import pytest
import trustme
import zstandard

from clientguard.gateway.upstream import UpstreamError, UpstreamPool, UpstreamTimeout

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request's head and body (Content-Length bodies only, which is what the client sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head, body


class Server:
    """A loopback server running `handler` for each connection; counts connections and keeps requests."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []
        self.server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> "Server":
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


def serve_each(answer: Callable[[bytes, bytes], bytes], server: Server) -> Handler:
    """A keep-alive handler: reads requests one after another and writes `answer(head, body)` to each."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            server.requests.append((head, body))
            writer.write(answer(head, body))
            await writer.drain()

    return handler


def run(coro: Awaitable[object]) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def _serve(handler: Handler | Server, body: Callable[[Server, UpstreamPool], Awaitable[None]],
           **pool_args: object) -> Server:
    """Run `body` with a pool and a loopback server whose connections `handler` serves."""

    async def main() -> Server:
        server = handler if isinstance(handler, Server) else Server(handler)
        async with server:
            pool = UpstreamPool(None, **pool_args)  # type: ignore[arg-type]
            try:
                await body(server, pool)
            finally:
                await pool.close()
        return server

    return run(main())  # type: ignore[return-value]


def _with_server(answer: Callable[[bytes, bytes], bytes],
                 body: Callable[[Server, UpstreamPool], Awaitable[None]], **pool_args: object) -> Server:
    """`_serve` with a keep-alive server that writes `answer(head, body)` to every request."""
    server = Server(None)  # type: ignore[arg-type]
    server.handler = serve_each(answer, server)
    return _serve(server, body, **pool_args)


def _length_answer(payload: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        len(payload), b"".join(h + b"\r\n" for h in extra), payload)


def test_request_goes_out_as_written_and_the_answer_comes_back() -> None:
    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/v1/chat/completions?api-version=2024%2D10",
                                      [("authorization", "Bearer test-not-a-key"), ("x-odd", "a b")], b'{"q":1}')
        assert response.status == 200
        assert response.headers["content-type"] == "application/json"
        assert (b"content-type", b"application/json") in response.raw_headers
        assert await response.read() == b'{"ok":true}'
        response.release()

    server = _with_server(lambda h, b: _length_answer(b'{"ok":true}'), body)
    head, sent = server.requests[0]
    lines = head.decode().split("\r\n")
    # The target keeps its percent-encoding as the agent wrote it; Host and Content-Length are added.
    assert lines[0] == "POST /v1/chat/completions?api-version=2024%2D10 HTTP/1.1"
    assert lines[1].startswith("Host: 127.0.0.1:")
    assert "authorization: Bearer test-not-a-key" in lines
    assert "x-odd: a b" in lines
    assert "Content-Length: 7" in lines
    assert not any(line.lower().startswith(("user-agent", "accept")) for line in lines)
    assert sent == b'{"q":1}'


def test_a_kept_alive_connection_carries_the_next_requests() -> None:
    async def body(server: Server, pool: UpstreamPool) -> None:
        for i in range(5):
            response = await pool.request("POST", server.url + "/x", [], b"%d" % i)
            assert await response.read() == b'{"ok":true}'
            response.release()
        assert pool.idle_count() == 1

    server = _with_server(lambda h, b: _length_answer(b'{"ok":true}'), body)
    assert server.connections == 1
    assert [b for _h, b in server.requests] == [b"0", b"1", b"2", b"3", b"4"]


def test_chunked_answers_arrive_chunk_by_chunk_and_whole() -> None:
    events = [b"data: {\"n\":%d}\n\n" % i for i in range(4)]

    def answer(head: bytes, body: bytes) -> bytes:
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events)
        return b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"

    async def body(server: Server, pool: UpstreamPool) -> None:
        for _ in range(2):
            response = await pool.request("POST", server.url + "/s", [], b"{}")
            got = [c async for c in response.chunks()]
            assert b"".join(got) == b"".join(events)
            assert response.complete
            response.release()

    server = _with_server(answer, body)
    assert server.connections == 1


def test_a_reader_that_fell_behind_gets_what_arrived_meanwhile_in_one_piece() -> None:
    events = [b"data: {\"n\":%d}\n\n" % i for i in range(6)]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for e in events:  # each event its own write, as a provider streams them
            writer.write(b"%x\r\n%s\r\n" % (len(e), e))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/s", [], b"{}")
        stream = response.chunks()
        first = await stream.__anext__()
        assert first == events[0]  # what is there is handed over at once, not held for more
        await asyncio.sleep(0.2)  # meanwhile the other events arrive, each in its own read
        rest = [c async for c in stream]
        assert rest == [b"".join(events[1:])]
        response.release()

    _serve(handler, body)


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
    ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
])
def test_compressed_answers_are_decoded(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    payload = b'{"text":"' + b"restored CG_SECRET_1 " * 200 + b'"}'

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/c", [], b"{}")
        assert await response.read() == payload
        response.release()

    _with_server(lambda h, b: _length_answer(compress(payload), b"content-encoding: " + encoding.encode()), body)


def test_an_unknown_content_encoding_is_an_error_not_garbage() -> None:
    async def body(server: Server, pool: UpstreamPool) -> None:
        with pytest.raises(UpstreamError, match="Content-Encoding 'snappy'"):
            await pool.request("POST", server.url + "/c", [], b"{}")

    _with_server(lambda h, b: _length_answer(b"xx", b"content-encoding: snappy"), body)


def test_a_corrupt_compressed_body_is_an_error() -> None:
    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/c", [], b"{}")
        with pytest.raises(UpstreamError, match="corrupt"):
            await response.read()

    _with_server(lambda h, b: _length_answer(b"this is not gzip at all", b"content-encoding: gzip"), body)


def test_interim_answers_are_skipped() -> None:
    def answer(head: bytes, body: bytes) -> bytes:
        return b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + _length_answer(b"{}")

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/i", [], b"{}")
        assert response.status == 200
        assert not any(name == b"link" for name, _v in response.raw_headers)
        assert await response.read() == b"{}"
        response.release()

    _with_server(answer, body)


def test_head_answers_have_no_body_even_with_a_length() -> None:
    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("HEAD", server.url + "/h", [])
        assert response.status == 200
        assert await response.read() == b""
        response.release()

    server = _with_server(lambda h, b: b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n", body)
    assert b"Content-Length" not in server.requests[0][0]


def test_a_body_delimited_by_the_connection_end_is_read_whole() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\npart one, ")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"part two")
        await writer.drain()

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("GET", server.url + "/raw", [])
        assert await response.read() == b"part one, part two"
        response.release()
        assert pool.idle_count() == 0  # not reusable

    _serve(handler, body)


def test_a_kept_alive_connection_the_server_closed_is_replaced_once() -> None:
    """Servers close idle connections; the next request must go out on a new one, not fail."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_length_answer(b"{}"))
        await writer.drain()
        # then close without saying so (as an idle timeout does)

    async def body(server: Server, pool: UpstreamPool) -> None:
        for _ in range(3):
            response = await pool.request("POST", server.url + "/k", [], b"{}")
            assert await response.read() == b"{}"
            response.release()
            await asyncio.sleep(0.05)  # the server's close reaches the client

    assert _serve(handler, body).connections == 3


def test_a_connection_that_breaks_mid_answer_is_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly some")
        await writer.drain()

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/b", [], b"{}")
        with pytest.raises(UpstreamError, match="before the answer was complete"):
            await response.read()
        response.release()

    _serve(handler, body)


def test_malformed_http_is_an_error() -> None:
    async def body(server: Server, pool: UpstreamPool) -> None:
        with pytest.raises(UpstreamError, match="malformed HTTP"):
            await pool.request("POST", server.url + "/m", [], b"{}")

    _with_server(lambda h, b: b"HTTP/1.1 abc nonsense\r\n\x00\x01\r\n\r\n", body)


def test_silence_beyond_the_read_timeout_is_a_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/t", [], b"{}")
        chunks = response.chunks()
        assert await chunks.__anext__() == b"first"
        with pytest.raises(UpstreamTimeout, match="sent nothing for 0.3 s"):
            await chunks.__anext__()
        response.release()

    _serve(handler, body, read_timeout=0.3)


def test_no_answer_at_all_within_the_read_timeout_is_a_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async def body(server: Server, pool: UpstreamPool) -> None:
        with pytest.raises(UpstreamTimeout):
            await pool.request("POST", server.url + "/t", [], b"{}")

    _serve(handler, body, read_timeout=0.3)


def test_a_slow_reader_pauses_the_upstream_and_still_gets_every_byte() -> None:
    big = bytes(range(256)) * (16 * 1024)  # 4 MiB, well over the pause threshold

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("GET", server.url + "/big", [])
        got = bytearray()
        async for chunk in response.chunks():
            got += chunk
            await asyncio.sleep(0)  # let the transport fill the buffer while we dawdle
        assert bytes(got) == big
        response.release()

    _with_server(lambda h, b: b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(big) + big, body)


def test_releasing_an_unread_answer_closes_its_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        if server.connections == 1:  # the first answer never ends
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + b"x" * 10)
            await writer.drain()
            await asyncio.sleep(5)
        writer.write(_length_answer(b"{}"))
        await writer.drain()

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/u", [], b"{}")
        response.release()  # the agent went away before the answer was read
        assert pool.idle_count() == 0
        again = await pool.request("POST", server.url + "/u", [], b"{}")
        assert await again.read() == b"{}"
        again.release()
        assert pool.idle_count() == 1

    server = Server(handler)
    _serve(server, body)
    assert server.connections == 2


def test_cancelling_a_request_closes_the_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async def body(server: Server, pool: UpstreamPool) -> None:
        task = asyncio.ensure_future(pool.request("POST", server.url + "/c", [], b"{}"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.idle_count() == 0

    _serve(handler, body)


def test_after_send_runs_once_the_request_is_out() -> None:
    seen: list[int] = []

    async def body(server: Server, pool: UpstreamPool) -> None:
        response = await pool.request("POST", server.url + "/a", [], b"{}",
                                      after_send=lambda: seen.append(len(server.requests)))
        await response.read()
        response.release()

    _with_server(lambda h, b: _length_answer(b"{}"), body)
    assert seen == [0]  # called before the answer, exactly once


def test_unreachable_and_invalid_upstreams_are_clear_errors() -> None:
    async def main() -> None:
        pool = UpstreamPool(None)
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        with pytest.raises(UpstreamError, match=f"cannot connect to 127.0.0.1:{port}"):
            await pool.request("POST", f"http://127.0.0.1:{port}/v1/x", [], b"{}")
        with pytest.raises(UpstreamError, match="not an http"):
            await pool.request("POST", "ftp://127.0.0.1/x", [], b"{}")
        with pytest.raises(UpstreamError, match="line break"):
            await pool.request("POST", "http://127.0.0.1:9/x", [("x-evil", "a\r\nInjected: 1")], b"{}")
        await pool.close()

    run(main())


def test_a_closed_pool_refuses_new_requests() -> None:
    async def main() -> None:
        pool = UpstreamPool(None)
        await pool.close()
        with pytest.raises(UpstreamError, match="shutting down"):
            await pool.request("GET", "http://127.0.0.1:9/x", [])

    run(main())


def _tls_server_context(ca: "trustme.CA") -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def test_https_upstreams_are_verified_and_spoken_to_over_tls() -> None:
    ca = trustme.CA()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_request(reader)
            writer.write(_length_answer(b'{"over":"tls"}'))
            await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=_tls_server_context(ca))
        port = server.sockets[0].getsockname()[1]
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
        pool = UpstreamPool(trusting)
        for _ in range(2):
            response = await pool.request("POST", f"https://localhost:{port}/v1/x", [], b"{}")
            assert await response.read() == b'{"over":"tls"}'
            response.release()
        assert pool.idle_count() == 1
        await pool.close()
        # A certificate from a CA the gateway does not trust: refused, with the reason.
        stranger = UpstreamPool(ssl.create_default_context())
        with pytest.raises(UpstreamError, match="TLS with localhost"):
            await stranger.request("POST", f"https://localhost:{port}/v1/x", [], b"{}")
        await stranger.close()
        server.close()

    run(main())
