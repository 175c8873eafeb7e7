"""What the gateway adds: latency and time to first token, against calling the same upstream directly.

    .venv/bin/python bench/gateway.py [--quick] [--format json]

Starts four processes on 127.0.0.1: the recording upstream (``python -m clientguard.gateway.recording``),
two gateways (``clientguard serve``) in front of it, one for a contract without an audit clause and one
for a contract with ``audit_log_required`` (each request then waits for a durable, fsynced ledger entry
before it is forwarded: the "· audit clause" rows), and as a peer a plain pass-through proxy (starlette +
httpx streaming, no inspection) that shows what any Python hop costs. The same requests go all four
ways, interleaved in random order so drift on a shared machine hits each alike:

* non-streamed Chat Completions requests of 1 KB, 100 KB and 1 MB, each with a few planted secrets
  (an AWS-style key pair, customer e-mail addresses, the client's name) for the gateway to find and
  replace; latency is request sent to last byte received. Every request's text differs from all
  earlier ones (a numbered first line), so the gateway scans each one whole;
* a 100 KB conversation resent with one new message at the end, as agents do on every turn: the
  gateway's scan cache answers for the part it has seen;
* streamed requests (Responses, Chat Completions, Anthropic Messages) of 1 KB; time to first token is
  request sent to the first text delta received, and "headers to first token" the part of it after
  the response headers arrived (the stream path alone, without inspecting the request);
* the 100 KB requests and the streams again with an upstream that thinks THINK_MS milliseconds before it
  answers (the recording upstream's ``x-recording-delay-ms`` header, sent the same way direct and through
  the gateway), as every real model does: work the gateway does while the request is out (its ledger
  entry) then overlaps the wait, as it does in use, instead of delaying an upstream that answers at once.

"Added" is the gateway's percentile minus the direct percentile. Targets (DESIGN.md): p50 < 2 ms and
p99 < 10 ms added on 100 KB, < 1 ms added to time to first token. Request counts are bounded; all
traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
CLIENT_NAME = "Acme Health"
ACCOUNT = "openai-api"

POLICY_TEMPLATE = f"""\
[client]
name = "{CLIENT_NAME}"
identifiers = ["{CLIENT_NAME}", "acme-health.de"]

[contract]
nda = true
audit_log_required = {{audit}}

[[accounts]]
name = "{ACCOUNT}"
provider = "openai"
plan = "api"

[[accounts]]
name = "anthropic-api"
provider = "anthropic"
plan = "api"

[gateway]
account = "{ACCOUNT}"
"""

SOURCE_LINES = [
    "def load_settings(path: str) -> dict[str, str]:",
    "    \"\"\"Read key=value pairs, skipping comments.\"\"\"",
    "    result: dict[str, str] = {}",
    "    for line in open(path, encoding='utf-8'):",
    "        line = line.strip()",
    "        if not line or line.startswith('#'):",
    "            continue",
    "        key, _, value = line.partition('=')",
    "        result[key.strip()] = value.strip()",
    "    return result",
    "",
    "class RetryPolicy:",
    "    def __init__(self, attempts: int = 3, backoff: float = 0.5) -> None:",
    "        self.attempts = attempts",
    "        self.backoff = backoff",
    "",
]


@dataclass(frozen=True)
class Planted:
    """The secrets planted in every benchmark request (generated per run, never real)."""

    aws_key_id: str
    aws_secret: str
    email: str

    @classmethod
    def generate(cls) -> Planted:
        upper = string.ascii_uppercase + "234567"  # AWS key ids are base32
        return cls(
            aws_key_id="AKIA" + "".join(secrets.choice(upper) for _ in range(16)),
            aws_secret="".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40)),
            email=f"kunde.{secrets.token_hex(3)}@posteo.de",
        )


def code_text(size: int, planted: Planted) -> str:
    """About `size` bytes of ordinary source code with the planted secrets near the start, middle and end."""
    header = (
        f"# settings for {CLIENT_NAME}\n"
        f"AWS_ACCESS_KEY_ID = '{planted.aws_key_id}'\n"
        f"AWS_SECRET_ACCESS_KEY = '{planted.aws_secret}'\n"
    )
    tail = f"# escalations: {planted.email}\n"
    filler = "\n".join(SOURCE_LINES) + "\n"
    body = (filler * (max(0, size - len(header) - 2 * len(tail)) // len(filler) + 1))[
        : max(0, size - len(header) - 2 * len(tail))
    ]
    middle = len(body) // 2
    return header + body[:middle] + tail + body[middle:] + tail


_SEQUENCE = iter(range(1, 1 << 62))


def fresh_chat(text: str) -> bytes:
    """A non-streamed chat request for `text` whose content no earlier request had (a numbered first line)."""
    return json.dumps(chat_body(f"# request {next(_SEQUENCE)}\n{text}", stream=False)).encode()


def fresh_turn(history: str) -> bytes:
    """The same long conversation as before, plus one new user message, as agents send each turn."""
    body = chat_body(history, stream=False)
    body["messages"].append({"role": "user", "content": f"Now rename the function in step {next(_SEQUENCE)}."})
    return json.dumps(body).encode()


def unique(payload: bytes) -> bytes:
    """`payload` (a JSON request whose first text is "Review...") made unlike any earlier one."""
    return payload.replace(b'"Review', b'"(%d) Review' % next(_SEQUENCE), 1)


def chat_body(text: str, stream: bool) -> dict[str, Any]:
    return {
        "model": "gpt-4.1",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a careful coding assistant."},
            {"role": "user", "content": f"Review this file:\n{text}"},
        ],
    }


def responses_body(text: str) -> dict[str, Any]:
    return {
        "model": "gpt-5.1",
        "stream": True,
        "store": False,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Review:\n{text}"}]}],
    }


def messages_body(text: str) -> dict[str, Any]:
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 1024,
        "stream": True,
        "messages": [{"role": "user", "content": f"Review:\n{text}"}],
    }


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(url: str, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text(errors="replace") if log.exists() else ""
            raise SystemExit(f"{what} exited with {proc.returncode} before it was ready:\n{out[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer {url} within {timeout:.0f}s")


@dataclass
class Targets:
    """Base URLs of the upstream (direct), the peer proxy and the gateway."""

    direct: str
    proxy: str
    gateway: str
    audit: str  # a second gateway whose contract requires an audit log (a durable entry before forwarding)


def _spawn(argv: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[bytes]:
    # Output goes to a file: a pipe nobody reads would stall the server once it filled up.
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)


def start_processes(workdir: Path, procs: list[subprocess.Popen[bytes]]) -> Targets:
    """Upstream, peer proxy and the two gateways as separate processes, appended to `procs` as they start
    (so the caller stops those already running if a later one fails); returns their base URLs."""
    env = {**os.environ, "CLIENTGUARD_HOME": str(workdir / "home")}
    up_port, proxy_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{up_port}"
    procs.append(_spawn(
        [sys.executable, "-m", "clientguard.gateway.recording", "--port", str(up_port), "--no-tool-calls"],
        workdir / "upstream.log", env,
    ))
    wait_until(f"{upstream_url}/v1/models", procs[0], "the recording upstream", workdir / "upstream.log")
    procs.append(_spawn(
        [sys.executable, __file__, "--serve-peer-proxy", str(proxy_port), upstream_url], workdir / "proxy.log", env
    ))
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    wait_until(f"{proxy_url}/v1/models", procs[1], "the peer proxy", workdir / "proxy.log")
    urls = {}
    for name, audit in (("gateway", False), ("audit", True)):
        port = free_port()
        policy = workdir / name / "clientguard.toml"
        policy.parent.mkdir()
        policy.write_text(POLICY_TEMPLATE.replace("{audit}", "true" if audit else "false"), encoding="utf-8")
        procs.append(_spawn(
            [
                sys.executable, "-m", "clientguard.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--policy", str(policy), "--account", ACCOUNT,
                "--upstream", f"openai={upstream_url}/v1", "--upstream", f"anthropic={upstream_url}",
                "--ledger", str(workdir / name / "ledger.sqlite"),
            ],
            workdir / f"{name}.log", env, cwd=policy.parent,
        ))
        urls[name] = f"http://127.0.0.1:{port}"
        wait_until(f"{urls[name]}/_clientguard/health", procs[-1], f"the {name} gateway", workdir / f"{name}.log")
    return Targets(upstream_url, proxy_url, urls["gateway"], urls["audit"])


def serve_peer_proxy(port: int, upstream: str) -> None:
    """The peer: forward every request to `upstream` and stream the answer back, inspecting nothing."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from clientguard.gateway.recording import listening_socket

    hop = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "accept-encoding"}
    client = httpx.AsyncClient(base_url=upstream, timeout=60, limits=httpx.Limits(max_keepalive_connections=64))

    async def forward(request: Request) -> StreamingResponse:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in hop]
        outgoing = client.build_request(
            request.method, request.url.path, params=request.url.query, headers=headers, content=await request.body()
        )
        answer = await client.send(outgoing, stream=True)
        back = {k: v for k, v in answer.headers.items() if k.lower() not in hop | {"content-encoding"}}
        return StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, headers=back, background=BackgroundTask(answer.aclose)
        )

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "HEAD"])])
    config = uvicorn.Config(app, log_level="error", access_log=False, ws="none", lifespan="off")
    uvicorn.Server(config).run(sockets=[listening_socket("127.0.0.1", port)])


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- measuring ----------------------------------------------------------------------------------


def timed_post(client: httpx.Client, url: str, payload: bytes, headers: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = client.post(url, content=payload, headers=headers)
    body = response.content
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"POST {url} answered {response.status_code}: {body[:500]!r}")
    return elapsed, body


FIRST_TEXT = {
    "chat": lambda line: line.startswith("data: {") and '"content":"' in line and '"content":""' not in line,
    "responses": lambda line: line.startswith("data: ") and '"response.output_text.delta"' in line,
    "messages": lambda line: line.startswith("data: ") and '"text_delta"' in line,
}


def cpu_wait() -> float | None:
    """Seconds this thread has spent ready to run but waiting for a CPU (Linux schedstat), or None."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def timed_first_token(
    client: httpx.Client, url: str, payload: bytes, headers: dict[str, str], is_text: Callable[[str], bool]
) -> tuple[float, float, float | None]:
    """(request sent -> first text delta, response headers -> first text delta, time this client spent
    waiting for a CPU during the whole exchange, or None where the system does not tell), in seconds."""
    waited = cpu_wait()
    started = time.perf_counter()
    first: float | None = None
    with client.stream("POST", url, content=payload, headers=headers) as response:
        headers_at = time.perf_counter()
        if response.status_code != 200:
            raise SystemExit(f"POST {url} answered {response.status_code}: {response.read()[:500]!r}")
        for line in response.iter_lines():
            if first is None and is_text(line):
                first = time.perf_counter()
    if first is None:
        raise SystemExit(f"no text delta in the stream from {url}")
    now = cpu_wait()
    return first - started, first - headers_at, (now - waited) if now is not None and waited is not None else None


def http_client() -> httpx.Client:
    """A keep-alive client with TCP_NODELAY, as the agents' HTTP stacks (Node, reqwest) use."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(timeout=60, transport=transport, limits=httpx.Limits(max_keepalive_connections=4))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Row:
    """One measured case: direct, peer-proxy and gateway percentiles, in milliseconds."""

    case: str
    metric: str
    n: int
    direct_p50: float
    direct_p99: float
    proxy_p50: float
    proxy_p99: float
    gateway_p50: float
    gateway_p99: float
    target: str

    @property
    def added_p50(self) -> float:
        return self.gateway_p50 - self.direct_p50

    @property
    def added_p99(self) -> float:
        return self.gateway_p99 - self.direct_p99


def interleaved(n: int, samplers: dict[str, Callable[[], Any]]) -> dict[str, list[Any]]:
    """n samples from each sampler, the order shuffled within every round."""
    out: dict[str, list[Any]] = {name: [] for name in samplers}
    names = list(samplers)
    for _ in range(n):
        random.shuffle(names)
        for name in names:
            out[name].append(samplers[name]())
    return out


def row(case: str, metric: str, samples: dict[str, list[float]], target: str, gateway: str = "gateway") -> Row:
    def p(name: str, q: float) -> float:
        return percentile(samples[name], q) * 1000.0

    return Row(case, metric, len(samples["direct"]), p("direct", 50), p("direct", 99), p("proxy", 50),
               p("proxy", 99), p(gateway, 50), p(gateway, 99), target)


def both(case: str, metric: str, samples: dict[str, list[float]], target: str) -> list[Row]:
    """The row of the gateway without an audit clause, then the same case for the one with it."""
    return [row(case, metric, samples, target), row(f"{case} · audit clause", metric, samples, "", "audit")]


#: How long the upstream thinks in the "upstream thinks" rows: far less than any hosted model takes.
THINK_MS = 20


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    planted = Planted.generate()
    counts = {1_000: 300, 100_000: 200, 1_000_000: 30} if not quick else {1_000: 60, 100_000: 40, 1_000_000: 8}
    ttft_n = 200 if not quick else 40
    rows: list[Row] = []
    checks: dict[str, Any] = {}
    workdir = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        targets = start_processes(workdir, procs)
        openai_headers = {"content-type": "application/json", "authorization": "Bearer sk-bench-FAKE0000"}
        anthropic_headers = {"content-type": "application/json", "x-api-key": "sk-ant-bench-FAKE0000",
                             "anthropic-version": "2023-06-01"}
        with http_client() as dc, http_client() as pc, http_client() as gc, http_client() as ac:
            clients = {"direct": (dc, targets.direct), "proxy": (pc, targets.proxy), "gateway": (gc, targets.gateway),
                       "audit": (ac, targets.audit)}
            path = "/v1/chat/completions"
            for size, n in counts.items():
                text = code_text(size, planted)
                for _ in range(3):  # warm up connections, caches, the vault
                    for client, base in clients.values():
                        _, warm = timed_post(client, base + path, fresh_chat(text), openai_headers)
                # The upstream repeats the placeholders it received; through a gateway (warmed last) they
                # come back restored, so the planted key in the answer proves it was replaced and restored.
                answer = json.loads(warm)["choices"][0]["message"]["content"]
                checks[f"{size} B redacted and restored"] = planted.aws_key_id in answer and "CG_" not in answer
                # Every request differs from all before it (a fresh first line), so the gateway scans it
                # whole: its scan cache only answers for text it has seen.
                samples = interleaved(n, {
                    name: (lambda c=client, u=base + path: timed_post(c, u, fresh_chat(text), openai_headers)[0])
                    for name, (client, base) in clients.items()
                })
                label = f"chat, {size // 1000} KB" if size < 1_000_000 else "chat, 1 MB"
                rows.extend(both(label, "latency", samples, "p50 < 2 ms, p99 < 10 ms added" if size == 100_000 else ""))
            # What agents do on every turn: resend the conversation so far, with one new message at the end.
            history = code_text(100_000, planted)
            replay = interleaved(counts[100_000], {
                name: (lambda c=client, u=base + path: timed_post(c, u, fresh_turn(history), openai_headers)[0])
                for name, (client, base) in clients.items()
            })
            rows.append(row("chat, 100 KB history + new turn", "latency", replay, ""))
            small = code_text(1_000, planted)
            streams = {
                "responses": ("/v1/responses", responses_body(small), openai_headers),
                "chat": ("/v1/chat/completions", chat_body(small, stream=True), openai_headers),
                "messages": ("/v1/messages", messages_body(small), anthropic_headers),
            }
            for api, (path, body, headers) in streams.items():
                payload = json.dumps(body).encode()
                is_text = FIRST_TEXT[api]
                for _ in range(3):
                    for client, base in clients.values():
                        timed_first_token(client, base + path, unique(payload), headers, is_text)
                samples = interleaved(ttft_n, {
                    name: (lambda c=client, u=base + path: timed_first_token(c, u, unique(payload), headers, is_text))
                    for name, (client, base) in clients.items()
                })
                rows.extend(both(f"{api} stream, 1 KB", "time to first token",
                                 {k: [x[0] for x in v] for k, v in samples.items()}, "< 1 ms added"))
                # On a machine with fewer cores than busy processes, a third process in the path makes
                # the agent itself wait for a CPU: the benchmark client's own wait, per exchange.
                if all(x[2] is not None for v in samples.values() for x in v):
                    checks[f"{api} stream: client's wait for a CPU per exchange, mean ms"] = {
                        k: round(1000 * sum(x[2] for x in v) / len(v), 3) for k, v in samples.items()}
                # The stream path alone: from the response headers to the first text, which leaves out
                # inspecting the request and shows what restoring adds to each event.
                rows.append(row(f"{api} stream, 1 KB", "headers to first token",
                                {k: [x[1] for x in v] for k, v in samples.items()}, ""))
            # The same requests against an upstream that thinks before it answers, as models do.
            think = {"x-recording-delay-ms": str(THINK_MS)}
            label = f"upstream thinks {THINK_MS} ms"
            path = "/v1/chat/completions"
            text = code_text(100_000, planted)
            samples = interleaved(counts[100_000] // 2, {
                name: (lambda c=client, u=base + path: timed_post(c, u, fresh_chat(text), {**openai_headers, **think})[0])
                for name, (client, base) in clients.items()
            })
            rows.extend(both(f"chat, 100 KB · {label}", "latency", samples, ""))
            for api, (path, body, headers) in streams.items():
                payload = json.dumps(body).encode()
                is_text = FIRST_TEXT[api]
                samples = interleaved(ttft_n // 2, {
                    name: (lambda c=client, u=base + path: timed_first_token(c, u, unique(payload), {**headers, **think},
                                                                             is_text))
                    for name, (client, base) in clients.items()
                })
                rows.extend(both(f"{api} stream, 1 KB · {label}", "time to first token",
                                 {k: [x[0] for x in v] for k, v in samples.items()}, ""))
            stats = httpx.get(f"{targets.gateway}/_clientguard/stats", timeout=5).json()
            checks["gateway requests counted"] = stats.get("requests")
            checks["redactions by kind"] = stats.get("redactions", {}).get("by_kind")
    finally:
        stop_processes(procs)
        shutil.rmtree(workdir, ignore_errors=True)
    return rows, checks


def render(rows: list[Row], checks: dict[str, Any], console: Console) -> None:
    table = Table(title="clientguard gateway: added latency vs calling the upstream directly (ms, loopback); "
                        "added = gateway - direct")
    columns = ["case", "metric", "n", "direct p50", "direct p99", "peer proxy p50", "peer proxy p99",
               "gateway p50", "gateway p99", "added p50", "added p99", "target"]
    for name in columns:
        table.add_column(name, justify="left" if name in ("case", "metric", "target") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r.case, r.metric, str(r.n), f"{r.direct_p50:.2f}", f"{r.direct_p99:.2f}",
                      f"{r.proxy_p50:.2f}", f"{r.proxy_p99:.2f}", f"{r.gateway_p50:.2f}", f"{r.gateway_p99:.2f}",
                      f"[bold]{r.added_p50:+.2f}[/]", f"{r.added_p99:+.2f}", r.target)
    console.print(table)
    for name, value in checks.items():
        console.print(f"  {name}: {value}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(f"  machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end of the run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run, noisier figures)")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--seed", type=int, default=1, help="seed for the interleaving order")
    parser.add_argument("--serve-peer-proxy", nargs=2, metavar=("PORT", "UPSTREAM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_peer_proxy:
        serve_peer_proxy(int(args.serve_peer_proxy[0]), args.serve_peer_proxy[1])
        return
    random.seed(args.seed)
    rows, checks = run(args.quick)
    if args.format == "json":
        rows_out = [{**asdict(r), "added_p50": r.added_p50, "added_p99": r.added_p99} for r in rows]
        print(json.dumps({"rows": rows_out, "checks": checks, "cpus": os.cpu_count()}, indent=2))
    else:
        # A pipe gets 80 columns by default, too narrow for ten columns; a terminal keeps its own width.
        console = Console() if sys.stdout.isatty() else Console(width=230)
        render(rows, checks, console)
    if not all(v for k, v in checks.items() if k.endswith("restored")):
        print("the gateway did not redact and restore the planted secrets", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
