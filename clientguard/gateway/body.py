"""Reading a request body within a size limit and undoing its content encoding (gzip, deflate, br, zstd)."""

from __future__ import annotations

import zlib
from typing import Awaitable, Callable

import brotli
import zstandard

from clientguard.gateway.errors import RequestRefused

Receive = Callable[[], Awaitable[dict]]


def _too_big(size_hint: str, limit: int) -> RequestRefused:
    return RequestRefused(
        413, "request_too_large",
        f"clientguard: the request body is {size_hint}, over the gateway's limit of {limit} bytes; "
        "nothing was forwarded. Fix: start the gateway with a larger --max-body, or send less context.",
    )


async def read_body(receive: Receive, limit: int, declared_length: int | None) -> bytes:
    """Read the whole body, refusing (413) as soon as it exceeds `limit` bytes."""
    if declared_length is not None and declared_length > limit:
        raise _too_big(f"{declared_length} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("client disconnected while sending the body")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_big(f"more than {limit} bytes", limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _unsupported(encoding: str, why: str) -> RequestRefused:
    return RequestRefused(
        415, "unsupported_content_encoding",
        f"clientguard: cannot decode the request body (Content-Encoding: {encoding}): {why}. "
        "An undecodable body cannot be inspected, so nothing was forwarded. "
        "Fix: send the body uncompressed or as gzip, deflate, br or zstd.",
    )


def _gunzip(data: bytes, limit: int, wbits: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise _too_big(f"more than {limit} bytes once decompressed", limit)
    if not d.eof:
        raise zlib.error("truncated stream")
    return out


def _decode_one(data: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return _gunzip(data, limit, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return _gunzip(data, limit, zlib.MAX_WBITS)
        except zlib.error:  # some clients send raw deflate without the zlib header
            return _gunzip(data, limit, -zlib.MAX_WBITS)
    if encoding == "br":
        d = brotli.Decompressor()
        out = d.process(data)
        if len(out) > limit:
            raise _too_big(f"more than {limit} bytes once decompressed", limit)
        if not d.is_finished():
            raise brotli.error("truncated stream")
        return out
    if encoding == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
        out = reader.read(limit + 1)
        if len(out) > limit:
            raise _too_big(f"more than {limit} bytes once decompressed", limit)
        return out
    raise _unsupported(encoding, "unknown encoding")


def decode_body(data: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo every listed content encoding (last applied first); 415 if any cannot be undone."""
    if not content_encoding:
        return data
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    for encoding in reversed(encodings):
        if encoding == "identity":
            continue
        try:
            data = _decode_one(data, encoding, limit)
        except RequestRefused:
            raise
        except (zlib.error, brotli.error, zstandard.ZstdError, OSError, ValueError) as exc:
            raise _unsupported(encoding, f"{type(exc).__name__}: {exc}") from None
    return data
