"""A recording model provider on loopback: speaks the three APIs the agents use and remembers every request.

`RecordingUpstream` stands where OpenAI or Anthropic would stand behind the gateway. It answers
OpenAI Responses (`/v1/responses`, what Codex speaks), OpenAI Chat Completions (`/v1/chat/completions`)
and Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`), streamed and not, plus
`GET /v1/models`. It records each request (method, path, query, headers, body) so a test can prove
what reached the provider, and it follows a small script so real agents do a tool round trip:

* while the last input item is not a tool result and the request offers a tool it knows
  (Codex `exec_command`, Claude Code `Bash`, a `read_file`-style function), it asks the agent to
  `cat` a configurable file;
* with `write_file` set, after that first tool result it asks the agent to write every placeholder it
  saw into that file (Codex: `printf` through `exec_command`; Claude Code: `Write`), so a test can
  check what the agent puts on disk;
* once a tool result is present (or no tool is offered), it answers with text that repeats every
  placeholder it saw in the request and every string it was asked to echo, streamed in deltas of
  5 to 7 characters so that placeholders get split across events.

A request header ``x-recording-delay-ms: N`` (at most 10,000) makes it wait N milliseconds before it
answers, as a model thinks before its first token; a gateway forwards the header unchanged, so a
benchmark can time the same wait direct and through it.

Routes match on the end of the path, so `/v1/responses`, `/responses` and `/openai/v1/responses` all
work. A WebSocket upgrade on `GET .../responses` gets 426, as from a provider that only speaks HTTP;
Codex then falls back to HTTPS at once.

Run it alone with ``python -m clientguard.gateway.recording --port 9100``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# The vault owns the placeholder grammar; the upstream echoes exactly what the vault would restore.
from clientguard.redact.vault import PLACEHOLDER_RE

DELTA_SIZES: tuple[int, ...] = (5, 6, 7)
"""Sizes the answers are cut into; uneven on purpose so placeholders land across event borders."""

ANTHROPIC_MODELS = ("claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5")
OPENAI_MODELS = ("gpt-5.1", "gpt-5.1-codex", "gpt-4.1")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the upstream received it (body decoded if it was gzip, deflate, br or zstd)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any | None
    received_at: float

    @property
    def text(self) -> str:
        """The decoded body as text (invalid UTF-8 replaced), for searching."""
        return self.body.decode("utf-8", errors="replace")

    def contains(self, needle: str) -> bool:
        """Whether `needle` occurs anywhere in the body (raw or JSON-escaped) or in any header."""
        escaped = json.dumps(needle)[1:-1]
        haystacks = [self.text, *self.headers.values(), self.path, self.query]
        return any(needle in h or escaped in h for h in haystacks)

    def placeholders(self) -> list[str]:
        """Placeholder-looking tokens in the body, in order of first appearance, without repeats."""
        return list(dict.fromkeys(PLACEHOLDER_RE.findall(self.text)))


@dataclass
class UpstreamScript:
    """How the upstream behaves: which file the tool call reads, what to echo, how to pace streams."""

    tool_file: str = "notes.txt"
    tool_calls: bool = True
    echo: list[str] = field(default_factory=list)
    event_delay: float = 0.0
    thinking: bool = True
    write_file: str | None = None


@dataclass(frozen=True)
class ToolChoice:
    """The tool call the script makes: tool name and its arguments."""

    name: str
    arguments: dict[str, Any]


class RecordingUpstream:
    """A real HTTP server on 127.0.0.1 (free port) that plays a model provider and records requests.

    Use as a context manager::

        with RecordingUpstream(tool_file="notes.txt") as up:
            httpx.post(f"{up.url}/v1/chat/completions", json={...})
            up.requests[-1].json
    """

    def __init__(
        self,
        *,
        tool_file: str = "notes.txt",
        tool_calls: bool = True,
        echo: Sequence[str] = (),
        event_delay: float = 0.0,
        thinking: bool = True,
        write_file: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_certfile: str | None = None,
        url_host: str | None = None,
    ) -> None:
        self.script = UpstreamScript(
            tool_file=tool_file, tool_calls=tool_calls, echo=list(echo), event_delay=event_delay,
            thinking=thinking, write_file=write_file,
        )
        self.host = host
        self._port = port
        # Serve https with this PEM file (certificate chain and key), under the name `url_host` in `url`
        # (a provider-like name that a proxy, not DNS, takes to this loopback address).
        self.tls_certfile = tls_certfile
        self.url_host = url_host or host
        self._requests: list[RecordedRequest] = []
        self._errors: list[tuple[int, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = build_app(self)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._socket is None:
            raise RuntimeError("RecordingUpstream is not started")
        return self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL without a path, e.g. ``http://127.0.0.1:40123``."""
        return f"{'https' if self.tls_certfile else 'http'}://{self.url_host}:{self.port}"

    def start(self) -> RecordingUpstream:
        """Bind, start serving in a background thread, and return once the server accepts connections."""
        if self._server is not None:
            return self
        sock = listening_socket(self.host, self._port)
        self._socket = sock
        config = uvicorn.Config(
            self.app, log_level="error", access_log=False, ws="none", lifespan="off", timeout_keep_alive=30,
            timeout_graceful_shutdown=3, ssl_certfile=self.tls_certfile,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="recording-upstream", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the recording upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> RecordingUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the current thread until interrupted (used by ``python -m``)."""
        sock = listening_socket(self.host, self._port)
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="error", access_log=False, ws="none", lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])

    # -- recorded traffic ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the recorded requests (and any queued errors)."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()

    def queue_error(self, status: int, body: Any) -> None:
        """Answer the next model request with this status and JSON body instead of the script."""
        with self._lock:
            self._errors.append((status, body))

    def find(self, needle: str) -> list[RecordedRequest]:
        """Requests whose body or headers contain `needle` (raw or JSON-escaped)."""
        return [r for r in self.requests if r.contains(needle)]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_error(self) -> tuple[int, Any] | None:
        with self._lock:
            return self._errors.pop(0) if self._errors else None

    def next_id(self, prefix: str) -> str:
        """A short unique id such as ``resp_000007``."""
        return f"{prefix}_{next(self._ids):06d}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket with TCP_NODELAY (inherited by accepted connections on Linux),
    so every stream event leaves as soon as it is written."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


# -- request decoding ----------------------------------------------------------------------------


def decode_body(raw: bytes, content_encoding: str) -> bytes:
    """Undo the request's Content-Encoding (gzip, deflate, br, zstd), last coding applied first."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip() and c.strip() != "identity"]
    data = raw
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            data = gzip.decompress(data)
        elif coding == "deflate":
            data = zlib.decompress(data)
        elif coding == "br":
            import brotli

            data = brotli.decompress(data)
        elif coding == "zstd":
            import zstandard

            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        else:
            raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return data


# -- the script ----------------------------------------------------------------------------------


def answer_text(
    placeholders: Sequence[str], echo: Sequence[str], tool_file: str, after_tool: bool, wrote: str | None = None
) -> str:
    """The upstream's text answer: a fixed sentence plus everything it was told to repeat."""
    seen = " ".join(placeholders) if placeholders else "(none)"
    opening = "Hello from the recording upstream."
    if after_tool:
        opening = f"I read {tool_file}." + (f" I wrote {wrote}." if wrote else "")
    lines = [opening, f"Placeholders seen: {seen}"]
    if echo:
        lines.append("Echo: " + " ".join(echo))
    return "\n".join(lines)


def split_deltas(text: str, sizes: Sequence[int] = DELTA_SIZES) -> list[str]:
    """Cut `text` into consecutive pieces whose lengths cycle through `sizes`."""
    pieces: list[str] = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= len(text):
            break
        pieces.append(text[pos : pos + size])
        pos += size
    return pieces


def _function_tool_names(tools: Any, *, api: str) -> list[str]:
    names: list[str] = []
    if not isinstance(tools, list):
        return names
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        if api == "chat":
            fn = tool.get("function")
            if tool.get("type") == "function" and isinstance(fn, dict) and isinstance(fn.get("name"), str):
                names.append(fn["name"])
        elif api == "responses":
            if tool.get("type") == "function" and isinstance(tool.get("name"), str):
                names.append(tool["name"])
        elif isinstance(tool.get("name"), str) and "input_schema" in tool:  # Anthropic client tools
            names.append(tool["name"])
    return names


def choose_tool(tool_names: Sequence[str], tool_file: str, notes: Sequence[str]) -> ToolChoice | None:
    """The tool call the script makes given the tools the request offers, or None if none fits."""
    note = " ".join(notes)
    if "exec_command" in tool_names:  # Codex
        return ToolChoice("exec_command", {"cmd": f"cat {tool_file}"})
    if "shell" in tool_names:  # older Codex
        return ToolChoice("shell", {"command": ["cat", tool_file]})
    if "Bash" in tool_names:  # Claude Code; the description is shown to the user, so it may carry echoes
        description = f"Show {tool_file}" + (f" ({note})" if note else "")
        return ToolChoice("Bash", {"command": f"cat {tool_file}", "description": description})
    name = "read_file" if "read_file" in tool_names else (tool_names[0] if tool_names else None)
    if name is None:
        return None
    args: dict[str, Any] = {"path": tool_file}
    if note:
        args["note"] = note
    return ToolChoice(name, args)


def choose_write_tool(
    tool_names: Sequence[str], path: str, lines: Sequence[str], cwd: str | None
) -> ToolChoice | None:
    """A tool call that writes `lines` into `path`, so a test can check what lands on the agent's disk."""
    content = "".join(f"{line}\n" for line in lines)
    if "exec_command" in tool_names:  # Codex: a shell command; single quotes keep restored spaces intact
        words = " ".join(f"'{line}'" for line in lines)
        return ToolChoice("exec_command", {"cmd": f"printf '%s\\n' {words} > {path}"})
    if "Write" in tool_names:  # Claude Code's Write wants an absolute path
        target = f"{cwd}/{path}" if cwd else path
        return ToolChoice("Write", {"file_path": target, "content": content})
    if "write_file" in tool_names:
        return ToolChoice("write_file", {"path": path, "content": content})
    return None


_CWD_PATTERNS = (
    re.compile(r"<cwd>([^<\\\"]+)</cwd>"),  # Codex <environment_context>
    re.compile(r"Primary working directory: ([^\s\\\"]+)"),  # Claude Code's system prompt
)


def working_directory(text: str) -> str | None:
    """The agent's working directory as its request states it (possibly as placeholders), if found."""
    for pattern in _CWD_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def count_tool_results(api: str, body: dict[str, Any]) -> int:
    """How many tool results the request carries in its whole history."""
    if api == "responses":
        items = body.get("input")
        kinds = ("function_call_output", "custom_tool_call_output")
        return sum(1 for i in items if isinstance(i, dict) and i.get("type") in kinds) if isinstance(items, list) else 0
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    if api == "chat":
        return sum(1 for m in messages if isinstance(m, dict) and m.get("role") in ("tool", "function"))
    return sum(
        1
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("content"), list)
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_result"
    )


def _responses_has_tool_result(body: dict[str, Any]) -> bool:
    items = body.get("input")
    if not isinstance(items, list) or not items:
        return False
    last = items[-1]
    return isinstance(last, dict) and last.get("type") in ("function_call_output", "custom_tool_call_output")


def _chat_has_tool_result(body: dict[str, Any]) -> bool:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    return isinstance(last, dict) and last.get("role") in ("tool", "function")


def _messages_has_tool_result(body: dict[str, Any]) -> bool:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return False
    content = last.get("content")
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def has_tool_result(api: str, body: dict[str, Any]) -> bool:
    """Whether the request's last input is a tool result (`api`: "responses", "chat" or "messages")."""
    check = {
        "responses": _responses_has_tool_result,
        "chat": _chat_has_tool_result,
        "messages": _messages_has_tool_result,
    }[api]
    return check(body)


@dataclass(frozen=True)
class Plan:
    """What to answer: a tool call, or text."""

    tool: ToolChoice | None
    text: str


def plan_answer(upstream: RecordingUpstream, recorded: RecordedRequest, api: str) -> Plan:
    """Decide between a tool call and a text answer for one model request."""
    body = recorded.json if isinstance(recorded.json, dict) else {}
    script = upstream.script
    placeholders = recorded.placeholders()
    has_result = has_tool_result(api, body)
    results = count_tool_results(api, body)
    offered = _function_tool_names(body.get("tools"), api=api)
    tool = None
    if script.tool_calls and not has_result:
        tool = choose_tool(offered, script.tool_file, [*placeholders, *script.echo])
    elif script.tool_calls and script.write_file and results == 1:
        lines = [*placeholders, *script.echo]
        tool = choose_write_tool(offered, script.write_file, lines, working_directory(recorded.text))
    wrote = script.write_file if script.write_file and results >= 2 else None
    return Plan(tool=tool, text=answer_text(placeholders, script.echo, script.tool_file, has_result, wrote))


# -- wire formats --------------------------------------------------------------------------------


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event; `event` None gives a data-only event (Chat Completions style)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def _usage_tokens(recorded: RecordedRequest, text: str) -> tuple[int, int]:
    return max(1, len(recorded.body) // 4), max(1, len(text) // 4)


class ResponsesFormat:
    """OpenAI Responses: items, output_text, function_call, and the event sequence Codex accepts."""

    @staticmethod
    def output_item(upstream: RecordingUpstream, plan: Plan) -> dict[str, Any]:
        if plan.tool is not None:
            return {
                "type": "function_call",
                "id": upstream.next_id("fc"),
                "call_id": upstream.next_id("call"),
                "name": plan.tool.name,
                "arguments": json.dumps(plan.tool.arguments),
                "status": "completed",
            }
        return {
            "type": "message",
            "id": upstream.next_id("msg"),
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": plan.text, "annotations": []}],
        }

    @staticmethod
    def response(rid: str, model: str, status: str, output: list[Any], usage: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "id": rid,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
        }

    @classmethod
    def json_body(
        cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan, model: str
    ) -> dict[str, Any]:
        item = cls.output_item(upstream, plan)
        return cls.response(upstream.next_id("resp"), model, "completed", [item], cls.usage(recorded, plan))

    @staticmethod
    def usage(recorded: RecordedRequest, plan: Plan) -> dict[str, Any]:
        tin, tout = _usage_tokens(recorded, plan.text)
        return {
            "input_tokens": tin,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": tout,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": tin + tout,
        }

    @classmethod
    def events(cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan, model: str) -> Iterator[bytes]:
        rid = upstream.next_id("resp")
        seq = itertools.count()

        def ev(kind: str, **fields: Any) -> bytes:
            return sse(kind, {"type": kind, "sequence_number": next(seq), **fields})

        yield ev("response.created", response=cls.response(rid, model, "in_progress", [], None))
        yield ev("response.in_progress", response=cls.response(rid, model, "in_progress", [], None))
        item = cls.output_item(upstream, plan)
        if item["type"] == "function_call":
            started = {**item, "arguments": "", "status": "in_progress"}
            yield ev("response.output_item.added", output_index=0, item=started)
            for piece in split_deltas(item["arguments"]):
                yield ev("response.function_call_arguments.delta", item_id=item["id"], output_index=0, delta=piece)
            yield ev(
                "response.function_call_arguments.done", item_id=item["id"], output_index=0, arguments=item["arguments"]
            )
        else:
            text = plan.text
            started = {**item, "status": "in_progress", "content": []}
            part = {"type": "output_text", "text": "", "annotations": []}
            common = {"item_id": item["id"], "output_index": 0, "content_index": 0}
            yield ev("response.output_item.added", output_index=0, item=started)
            yield ev("response.content_part.added", **common, part=part)
            for piece in split_deltas(text):
                yield ev("response.output_text.delta", **common, delta=piece, logprobs=[])
            yield ev("response.output_text.done", **common, text=text, logprobs=[])
            yield ev("response.content_part.done", **common, part={**part, "text": text})
        yield ev("response.output_item.done", output_index=0, item=item)
        done = cls.response(rid, model, "completed", [item], cls.usage(recorded, plan))
        yield ev("response.completed", response=done)


class ChatFormat:
    """OpenAI Chat Completions: chunks keyed by choice index, tool_calls keyed by call index, [DONE]."""

    @staticmethod
    def usage(recorded: RecordedRequest, plan: Plan) -> dict[str, Any]:
        tin, tout = _usage_tokens(recorded, plan.text)
        return {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}

    @classmethod
    def json_body(
        cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan, model: str
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if plan.tool is not None:
            message["tool_calls"] = [
                {
                    "id": upstream.next_id("call"),
                    "type": "function",
                    "function": {"name": plan.tool.name, "arguments": json.dumps(plan.tool.arguments)},
                }
            ]
            finish = "tool_calls"
        else:
            message["content"] = plan.text
            finish = "stop"
        return {
            "id": upstream.next_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": cls.usage(recorded, plan),
        }

    @classmethod
    def events(cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan, model: str) -> Iterator[bytes]:
        body = recorded.json if isinstance(recorded.json, dict) else {}
        cid = upstream.next_id("chatcmpl")
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse(
                None,
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                },
            )

        yield chunk({"role": "assistant", "content": ""})
        if plan.tool is not None:
            arguments = json.dumps(plan.tool.arguments)
            first = {"index": 0, "id": upstream.next_id("call"), "type": "function"}
            yield chunk({"tool_calls": [{**first, "function": {"name": plan.tool.name, "arguments": ""}}]})
            for piece in split_deltas(arguments):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            yield chunk({}, "tool_calls")
        else:
            for piece in split_deltas(plan.text):
                yield chunk({"content": piece})
            yield chunk({}, "stop")
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            yield sse(
                None,
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": cls.usage(recorded, plan),
                },
            )
        yield sse(None, "[DONE]")


class MessagesFormat:
    """Anthropic Messages: content blocks, text_delta, tool_use with input_json_delta, ping, signed thinking."""

    SIGNATURE = "EXAMPLEc2lnbmF0dXJlLWZyb20tdGhlLXJlY29yZGluZy11cHN0cmVhbQ=="
    THINKING = "The user wants the file; reading it first."

    @staticmethod
    def wants_thinking(upstream: RecordingUpstream, recorded: RecordedRequest) -> bool:
        body = recorded.json if isinstance(recorded.json, dict) else {}
        thinking = body.get("thinking")
        return (
            upstream.script.thinking
            and isinstance(thinking, dict)
            and thinking.get("type") in ("enabled", "adaptive")
        )

    @classmethod
    def blocks(cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if plan.tool is not None:
            if cls.wants_thinking(upstream, recorded):
                blocks.append({"type": "thinking", "thinking": cls.THINKING, "signature": cls.SIGNATURE})
            tool_id = upstream.next_id("toolu")
            blocks.append({"type": "tool_use", "id": tool_id, "name": plan.tool.name, "input": plan.tool.arguments})
        else:
            blocks.append({"type": "text", "text": plan.text})
        return blocks

    @staticmethod
    def message(mid: str, model: str, content: list[Any], stop: str | None, usage: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }

    @classmethod
    def json_body(
        cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan, model: str
    ) -> dict[str, Any]:
        tin, tout = _usage_tokens(recorded, plan.text)
        stop = "tool_use" if plan.tool is not None else "end_turn"
        return cls.message(
            upstream.next_id("msg"), model, cls.blocks(upstream, recorded, plan), stop,
            {"input_tokens": tin, "output_tokens": tout},
        )

    @staticmethod
    def _event(kind: str, **fields: Any) -> bytes:
        return sse(kind, {"type": kind, **fields})

    @classmethod
    def _delta(cls, index: int, **delta: Any) -> bytes:
        return cls._event("content_block_delta", index=index, delta=delta)

    @classmethod
    def events(
        cls, upstream: RecordingUpstream, recorded: RecordedRequest, plan: Plan, model: str
    ) -> Iterator[bytes]:
        tin, tout = _usage_tokens(recorded, plan.text)
        start_usage = {
            "input_tokens": tin, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1,
        }
        yield cls._event("message_start", message=cls.message(upstream.next_id("msg"), model, [], None, start_usage))
        for index, block in enumerate(cls.blocks(upstream, recorded, plan)):
            kind = block["type"]
            if kind == "thinking":
                empty = {"type": "thinking", "thinking": "", "signature": ""}
                yield cls._event("content_block_start", index=index, content_block=empty)
                yield cls._delta(index, type="thinking_delta", thinking=block["thinking"])
                yield cls._delta(index, type="signature_delta", signature=block["signature"])
            elif kind == "tool_use":
                yield cls._event("content_block_start", index=index, content_block={**block, "input": {}})
                yield cls._delta(index, type="input_json_delta", partial_json="")
                for piece in split_deltas(json.dumps(block["input"])):
                    yield cls._delta(index, type="input_json_delta", partial_json=piece)
            else:
                yield cls._event("content_block_start", index=index, content_block={"type": "text", "text": ""})
                yield cls._event("ping")
                for piece in split_deltas(block["text"]):
                    yield cls._delta(index, type="text_delta", text=piece)
            yield cls._event("content_block_stop", index=index)
        stop = "tool_use" if plan.tool is not None else "end_turn"
        delta = {"stop_reason": stop, "stop_sequence": None}
        yield cls._event("message_delta", delta=delta, usage={"output_tokens": tout})
        yield cls._event("message_stop")


FORMATS: dict[str, type[ResponsesFormat] | type[ChatFormat] | type[MessagesFormat]] = {
    "responses": ResponsesFormat,
    "chat": ChatFormat,
    "messages": MessagesFormat,
}

DEFAULT_MODEL = {"responses": "gpt-5.1", "chat": "gpt-4.1", "messages": "claude-opus-4-8"}


# -- errors in each provider's shape ---------------------------------------------------------------


def provider_error(api: str, status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    """An error body shaped like the provider behind `api` would send it."""
    if api == "messages":
        return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status)


# -- the ASGI app ------------------------------------------------------------------------------------


def _classify(path: str) -> str | None:
    """Which API a path belongs to, matching on its end so prefixes and a missing /v1 both work."""
    trimmed = path.rstrip("/")
    if trimmed.endswith("/messages/count_tokens"):
        return "count_tokens"
    if trimmed.endswith("/messages"):
        return "messages"
    if trimmed.endswith("/chat/completions"):
        return "chat"
    if trimmed.endswith("/responses"):
        return "responses"
    if trimmed.endswith("/models"):
        return "models"
    return None


#: The request header that makes the upstream think before it answers (milliseconds).
DELAY_HEADER = "x-recording-delay-ms"
MAX_DELAY_MS = 10_000


def build_app(upstream: RecordingUpstream) -> Starlette:
    """The Starlette app behind a RecordingUpstream; every path goes through one dispatcher."""

    async def dispatch(request: Request) -> Response:
        raw = await request.body()
        api = _classify(request.url.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = decode_body(raw, headers.get("content-encoding", ""))
        except (ValueError, OSError, zlib.error) as exc:
            body = raw
            decode_error: str | None = f"could not decode the request body: {exc}"
        else:
            decode_error = None
        parsed: Any | None = None
        parse_error: str | None = decode_error
        if body and decode_error is None:
            try:
                parsed = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                parse_error = f"request body is not valid JSON: {exc}"
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers=headers,
            body=body,
            json=parsed,
            received_at=time.time(),
        )
        upstream._record(recorded)

        if headers.get("upgrade", "").lower() == "websocket":
            # Like a provider that only speaks HTTP: refuse the upgrade so the client falls back at once.
            return provider_error(api or "responses", 426, "WebSocket transport is not supported here; use HTTPS POST.")
        if api is None:
            missing = f"no route for {request.method} {request.url.path}"
            return JSONResponse({"error": {"message": missing, "type": "not_found"}}, status_code=404)
        if api == "models":
            if request.method != "GET":
                return provider_error("responses", 405, "use GET for the model list")
            return JSONResponse(models_body(anthropic="anthropic-version" in headers))
        if request.method != "POST":
            return provider_error(api if api != "count_tokens" else "messages", 405, f"use POST for {request.url.path}")
        error_api = "messages" if api == "count_tokens" else api
        if parse_error is not None or not isinstance(parsed, dict):
            return provider_error(error_api, 400, parse_error or "request body must be a JSON object")
        queued = upstream._take_error()
        if queued is not None:
            return JSONResponse(queued[1], status_code=queued[0])
        if api == "count_tokens":
            return JSONResponse({"input_tokens": max(1, len(body) // 4)})
        delay = headers.get(DELAY_HEADER, "")
        if delay:
            if not delay.isdigit() or int(delay) > MAX_DELAY_MS:
                return provider_error(error_api, 400, f"{DELAY_HEADER} takes whole milliseconds up to {MAX_DELAY_MS}")
            await asyncio.sleep(int(delay) / 1000)

        plan = plan_answer(upstream, recorded, api)
        fmt = FORMATS[api]
        model = parsed.get("model") if isinstance(parsed.get("model"), str) else DEFAULT_MODEL[api]
        if parsed.get("stream") is True:
            return StreamingResponse(
                _paced(fmt.events(upstream, recorded, plan, model), upstream.script.event_delay),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "x-request-id": upstream.next_id("req")},
            )
        answer = fmt.json_body(upstream, recorded, plan, model)
        return JSONResponse(answer, headers={"x-request-id": upstream.next_id("req")})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", dispatch, methods=methods)])


async def _paced(events: Iterator[bytes], delay: float) -> AsyncIterator[bytes]:
    for event in events:
        yield event
        # Yield to the loop between events so each goes out as its own write, as from a real provider.
        await asyncio.sleep(delay)


def models_body(*, anthropic: bool) -> dict[str, Any]:
    """A model list in the shape the asking SDK expects."""
    if anthropic:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}
            for m in ANTHROPIC_MODELS
        ]
        return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1767225600, "owned_by": "recording-upstream"} for m in OPENAI_MODELS
        ],
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run a recording upstream in the foreground (for demos and the benchmark)."""
    parser = argparse.ArgumentParser(
        prog="python -m clientguard.gateway.recording", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tool-file", default="notes.txt", help="file the scripted tool call reads")
    parser.add_argument("--no-tool-calls", action="store_true", help="always answer with text")
    parser.add_argument("--echo", action="append", default=[], help="a string to repeat in every text answer")
    parser.add_argument("--event-delay", type=float, default=0.0, help="seconds between stream events")
    parser.add_argument("--write-file", default=None, help="after reading, have the agent write this file")
    args = parser.parse_args(argv)
    upstream = RecordingUpstream(
        tool_file=args.tool_file, tool_calls=not args.no_tool_calls, echo=args.echo,
        event_delay=args.event_delay, write_file=args.write_file, host=args.host, port=args.port,
    )
    print(f"recording upstream on http://{args.host}:{args.port}", flush=True)
    upstream.serve_forever()


if __name__ == "__main__":
    main()
