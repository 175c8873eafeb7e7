"""The gateway as an ASGI application: a request in, inspected, redacted or refused, forwarded, restored.

    agent ─▶ classify path ─▶ read + decode body ─▶ collect text segments ─▶ detect (one pass)
          ─▶ protected content? policy verdict? ─▶ refuse in the provider's error shape
          ─▶ replace findings by vault placeholders ─▶ forward (upstream.py, streaming) ─▶ ledger
          ─▶ restore placeholders event by event ─▶ agent

Everything before forwarding fails closed: if any step raises, nothing leaves and the agent gets a
provider-shaped 5xx naming the cause.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import ssl
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import certifi

from clientguard import __version__
from clientguard.detect import Detector, Finding, fingerprint, load_or_create_key, select_non_overlapping
from clientguard.errors import ClientguardError, InputError
from clientguard.gateway import segments as seg
from clientguard.gateway.body import decode_body, read_body
from clientguard.gateway.config import GatewayConfig
from clientguard.gateway.errors import Provider, RequestRefused, error_body, stream_error_event
from clientguard.gateway.formats import adapter_for
from clientguard.gateway.known import KnownValues
from clientguard.gateway.protected import ProtectedIndex
from clientguard.gateway.routing import DEFAULT_UPSTREAMS, Route, classify, upstream_url
from clientguard.gateway.scancache import ScanCache
from clientguard.gateway.sse import SSEParser, json_bytes, json_loads
from clientguard.gateway.stats import GatewayStats
from clientguard.gateway.proxy import ProxySettings
from clientguard.gateway.upstream import UpstreamError, UpstreamPool, UpstreamResponse
from clientguard.ledger import EgressRecord, Ledger, LedgerError, default_ledger_path
from clientguard.policy import Account, Policy, Verdict, decide, find_policy, load_catalog, load_policy
from clientguard.redact import Vault

log = logging.getLogger("clientguard.gateway")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

#: Request headers never forwarded: hop-by-hop, recomputed, or ours.
_DROP_REQUEST = frozenset({
    "host", "content-length", "content-encoding", "accept-encoding", "connection", "keep-alive",
    "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "proxy-authorization",
    "x-clientguard-token",
})
_DROP_RESPONSE = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})
_DROP_RESPONSE_BYTES = frozenset(h.encode() for h in _DROP_RESPONSE)
#: What a failed upstream exchange raises: connection and protocol errors, and read/connect timeouts.
UPSTREAM_ERRORS = (UpstreamError, OSError, asyncio.TimeoutError)
#: Headers whose values agents fill with workspace metadata (absolute paths, repository names).
_INSPECTED_HEADERS = ("x-codex-turn-metadata",)
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: Seconds between ledger fsyncs when no audit clause asks for one per append.
FLUSH_INTERVAL = 1.0


@dataclass
class Exchange:
    """One request's state as it moves through the gateway."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    route: Route
    started: float = field(default_factory=time.perf_counter)
    agent: str = "unknown"
    account: Account | None = None
    verdict: Verdict | None = None
    redaction: seg.Redaction = field(default_factory=seg.Redaction)
    files: list[str] = field(default_factory=list)
    body: bytes = b""
    upstream: str = ""
    out_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def provider(self) -> Provider:
        return self.route.provider


def _agent_name(headers: dict[str, str]) -> str:
    raw = headers.get("originator") or headers.get("x-app") and f"claude-{headers['x-app']}" or headers.get("user-agent", "")
    name = raw.split()[0].split("/")[0] if raw else "unknown"
    return "".join(c for c in name if c.isalnum() or c in "._-")[:64] or "unknown"


def _found_summary(counts: Counter) -> str:
    """Rule ids with counts, e.g. "aws-access-key-id x1, client-identifier x3" (never values)."""
    return ", ".join(f"{rule} x{n}" for rule, n in sorted(counts.items()))


def _json_error(exc: ValueError) -> str:
    """Where and why a body is not JSON, never quoting it (it may hold a secret)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8: byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if "integer string conversion" in str(exc):
        # Python refuses to read integers of more than sys.get_int_max_str_digits() digits (4300).
        return f"a number of more than {sys.get_int_max_str_digits()} digits"
    return type(exc).__name__


def _upstream_reason(exc: BaseException) -> str:
    """What went wrong with the upstream, for the agent to show: the upstream client's own messages
    name hosts, ports, proxies and statuses, never request or answer content."""
    if isinstance(exc, UpstreamError) and str(exc):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return type(exc).__name__


def upstream_tls_context(env) -> ssl.SSLContext:
    """How the gateway verifies its upstreams: certifi's CA bundle (the same on every platform), plus the
    file ``SSL_CERT_FILE`` names if set (a client network that inspects TLS signs with its own CA)."""
    context = ssl.create_default_context(cafile=certifi.where())
    extra = env.get("SSL_CERT_FILE", "").strip()
    if extra:
        try:
            context.load_verify_locations(cafile=extra)
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise InputError(f"SSL_CERT_FILE={extra}: cannot load CA certificates from it: {reason}",
                             hint="point it at a PEM file of CA certificates, or unset it") from None
    return context


#: Files of the client repository looked through for credential files at start, at most (a git checkout lists
#: its files at once; a policy kept in a large directory that is not one would otherwise be walked whole).
SAVED_CREDENTIALS_WALK_LIMIT = 500_000


class Gateway:
    """The ASGI app. Build it from a GatewayConfig; it loads the policy, vault, detector and ledger."""

    def __init__(self, config: GatewayConfig):
        self.config = config
        self.policy = self._load_policy(config.policy)
        self.catalog = load_catalog()
        self.client_name = self.policy.client.name
        self.default_account = self._pick_account(config.account)
        self.vault = Vault.open(self.client_name, config.vault_dir)
        self.known = KnownValues()
        self._know_repo_path()
        # Identifiers share the PII database: compiled once at start, one pass fewer on every request. A
        # long request's two passes run at once on two cores: the agent waits on them.
        self.detector = Detector.create(self.policy.client.identifiers, engine=config.engine,  # type: ignore[arg-type]
                                        identifiers_apart=False, parallel_passes=True)
        self.scans = ScanCache(self.detector)
        self.saved_credential_files = self._know_saved_credentials()
        # Whether a file a tool call names saves credentials: asked of every file name of every request (agents
        # resend the same names turn after turn), so the answers are remembered.
        self._credential_file = functools.lru_cache(maxsize=4096)(self.detector.applies_in_file)
        self.protected = ProtectedIndex.build(self.policy.repo_root, self.policy.client.protected_paths)
        self._self_test()
        self.upstreams = {**DEFAULT_UPSTREAMS, **{k: v.rstrip("/") for k, v in config.upstreams.items()}}
        unknown = sorted(set(config.upstreams) - set(DEFAULT_UPSTREAMS))
        if unknown:
            raise InputError(f"unknown upstream name(s) {', '.join(unknown)}; use openai=URL or anthropic=URL")
        # Read now, so that a bad proxy variable or CA file stops `serve` at once with its name.
        self.proxies = ProxySettings.from_environ(os.environ)
        self.tls = upstream_tls_context(os.environ)
        self.audit_required = bool(self.policy.contract.audit_log_required)
        ledger_path = Path(config.ledger_path) if config.ledger_path else default_ledger_path(self.client_name)
        self.ledger: Ledger | None
        try:
            # With an audit clause every append is fsynced before the request leaves; without one an
            # append survives a gateway crash at once and a power loss within FLUSH_INTERVAL seconds.
            self.ledger = Ledger.open(ledger_path, durability="full" if self.audit_required else "normal")
        except LedgerError:
            if self.audit_required:
                raise
            log.warning("cannot open the ledger %s; requests are forwarded without records", ledger_path)
            self.ledger = None
        self.ledger_path = ledger_path
        self.otel = self._otel(config.otel_endpoint)
        self.stats = GatewayStats()
        self.client: UpstreamPool | None = None
        self._background: set[asyncio.Future] = set()
        # The ledger's writer thread: entries with an audit clause (fsynced), flushes, and appends that
        # find the SQLite lock held (see _append_soon); one thread, so appends keep their order.
        self._ledger_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clientguard-ledger")
        self._unflushed = False
        self._verdicts: dict[str, Verdict] = {}
        self._flusher: asyncio.Task | None = None

    # -- set-up -----------------------------------------------------------------------------------

    @staticmethod
    def _load_policy(policy: Any) -> Policy:
        if isinstance(policy, Policy):
            return policy
        if policy is None:
            found = find_policy(Path.cwd())
            if found is None:
                raise InputError(
                    f"no clientguard.toml found in {Path.cwd()} or any parent directory",
                    hint="pass --policy FILE, or run `clientguard init` in the client's repository",
                )
            return load_policy(found)
        return load_policy(Path(policy))

    def _pick_account(self, name: str | None) -> Account:
        wanted = name or self.policy.gateway.account
        if wanted:
            return self.policy.account(wanted)
        if len(self.policy.accounts) == 1:
            return self.policy.accounts[0]
        raise InputError(
            f"{self.policy.path}: several accounts and none chosen for the gateway",
            hint="add [gateway] account = \"NAME\" to the policy or pass --account NAME; accounts: "
            + ", ".join(a.name for a in self.policy.accounts),
        )

    def _self_test(self) -> None:
        """Refuse to start unless a planted key and the client's name are replaced and restored."""
        canary = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        planted = [canary] + self.policy.client.identifiers[:1]
        doc = {"messages": [{"role": "user", "content": "deploy with key " + " and ".join(planted)}]}
        segs = seg.collect(doc)
        findings = self.detector.scan_many(segs.texts)
        seg.apply(segs, findings, self.vault, select_non_overlapping, seg.Redaction())
        sent = doc["messages"][0]["content"]
        missed = [p for p in planted if p in sent]
        if missed or self.vault.restore(sent) != segs.texts[0]:
            raise ClientguardError(
                "the gateway's self-test failed: a planted "
                + ("AWS key" if canary in missed else "client identifier" if missed else "value")
                + " was not " + ("replaced" if missed else "restored") + "; refusing to start",
                hint="check the detection rules (`clientguard scan` on a test file) and the policy's identifiers",
            )

    def _know_repo_path(self) -> None:
        """Treat the client repository's absolute path as an identifier (agents send it as cwd/workdir)."""
        key = load_or_create_key("default")  # the detector's default fingerprint key
        root = self.policy.repo_root
        for path in dict.fromkeys((str(root.absolute()), str(root.resolve()))):
            if len(path) >= 6 and path.count("/") >= 2:
                self.known.add(path, Finding(
                    rule_id="client-repo-path", title="Client repository path", kind="identifier",
                    severity="medium", start=0, end=0, fingerprint=fingerprint(key, path), label="CLIENT_REPO",
                ))

    def _know_saved_credentials(self) -> list[str]:
        """Passwords the client repository's credential files save (an SFTP client's settings, a .pgpass line,
        git's credential store, a Rails master key: the detector's rules for named files) are found wherever a
        request carries them, as values replaced before are: a request names no files, so those rules cannot
        judge its text. Read at start; returns the files that gave values."""
        if not self.detector.file_rules:
            return []
        from clientguard.detect.scanner import Skipped, decode, iter_source_files, read_bytes  # noqa: PLC0415

        files = []
        for n, sf in enumerate(iter_source_files(self.policy.repo_root)):
            if n >= SAVED_CREDENTIALS_WALK_LIMIT:
                log.warning("%s: more than %d files; credential files beyond them were not read (their saved "
                            "passwords are still found where a rule finds them)", self.policy.repo_root, n)
                break
            if not self.detector.applies_in_file(sf.relpath):
                continue
            data = read_bytes(sf, 1 << 20)
            if isinstance(data, Skipped):
                continue
            text = decode(data)[0]
            found = self.detector.scan_named_file(text, sf.relpath)
            for f in found:
                self.known.add(text[f.start:f.end], f)
            if found:
                files.append(sf.relpath)
        return files

    def _with_named_file_findings(self, texts: list[str], findings: list[list], files: list[str]) -> list[list]:
        """When a tool call in the request names a file that saves credentials (an agent read ~/.pgpass or
        sftp-config.json: Claude Code's Read tool, any tool's file_path or path argument, a word of a shell
        command), that file's rules judge every text of the request, since its content is somewhere among them
        (a tool result)."""
        named = [f for f in dict.fromkeys(files) if self._credential_file(f)]
        if not named:
            return findings
        from clientguard.detect.scanner import with_named_file_findings  # noqa: PLC0415

        out = list(findings)
        for name in named:
            for i, text in enumerate(texts):
                extra = self.detector.scan_named_file(text, name)
                if extra:
                    out[i] = with_named_file_findings(out[i], extra)  # (it makes a new list)
        return out

    @staticmethod
    def _otel(endpoint: str | None):
        if not endpoint:
            return None
        try:
            from clientguard.ledger.otel import OtelExporter
        except ImportError as exc:
            raise InputError(f"--otel-endpoint given, but OpenTelemetry export is not available: {exc}") from None
        return OtelExporter(endpoint)

    def account_for(self, provider: str) -> Account | None:
        """The account whose terms apply to a request for `provider`."""
        chosen = self.default_account
        if chosen.provider == provider or chosen.is_local(self.catalog):
            return chosen
        for account in self.policy.accounts:
            if account.provider == provider:
                return account
        return None

    # -- ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            # The WebSocket transport is not served; the client falls back to HTTP.
            await receive()
            await send({"type": "websocket.close", "code": 1008, "reason": "clientguard serves HTTP only"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open the upstream connection pool (inside the serving event loop)."""
        if self.client is None:
            # Our own HTTP/1.1 client rather than aiohttp or httpx: a third of aiohttp's cost per request
            # on loopback (see upstream.py), most of what the gateway added to time to first token. It
            # forwards what the agent sent and adds nothing of ours (no user agent or accept headers).
            self.client = UpstreamPool(self.tls, read_timeout=self.config.upstream_timeout, proxies=self.proxies)
        if self._flusher is None and self.ledger is not None and not self.audit_required:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_ledger_periodically())

    async def _flush_ledger_periodically(self) -> None:
        """At "normal" durability, fsync the ledger once a second when something was appended."""
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            if self._unflushed and self.ledger is not None:
                self._unflushed = False
                try:
                    await self._in_writer(self.ledger.flush)
                except LedgerError as exc:
                    log.error("ledger flush failed: %s", exc.message)

    async def shutdown(self) -> None:
        """Finish pending ledger writes and close connections."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.otel is not None:
            try:
                self.otel.close()
            except Exception:  # noqa: BLE001 - exporter shutdown must not block ours
                log.warning("OpenTelemetry exporter did not close cleanly")
        self._ledger_pool.shutdown(wait=True)
        if self.ledger is not None:
            if self._unflushed:
                try:
                    self.ledger.flush()
                except LedgerError as exc:
                    log.error("ledger flush failed: %s", exc.message)
            self.ledger.close()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        hmap = dict(headers)
        if path.startswith("/_clientguard/") and self._token_ok(hmap):
            await self._internal(path, method, send)
            return
        ex = Exchange(method, path, scope.get("query_string", b"").decode("latin-1"), headers,
                      classify(method, path, hmap))
        ex.agent = _agent_name(hmap)
        self.stats.requests += 1
        try:
            if not self._token_ok(hmap):
                raise RequestRefused(401, "clientguard_token", "clientguard: this gateway needs the header "
                                     "x-clientguard-token (it listens beyond loopback).")
            if hmap.get("upgrade", "").lower() == "websocket":
                raise RequestRefused(
                    426, "websocket_not_supported",
                    "clientguard serves the Responses API over HTTP only; fall back to HTTPS POST "
                    "(Codex: set supports_websockets = false on the model provider).",
                )
            length = hmap.get("content-length")
            raw = await read_body(receive, self.config.max_body, int(length) if length and length.isdigit() else None)
            self._prepare(ex, raw, hmap)
        except RecursionError:
            # JSON nested hundreds of levels deep: the readers and the walk over it are recursive. No
            # provider accepts such a body either; say what is wrong instead of "internal error".
            await self._refuse(ex, RequestRefused(
                400, "invalid_json", "clientguard: the request body nests JSON too deeply to inspect (about "
                "900 levels or more), so nothing was forwarded.",
            ), send)
            return
        except RequestRefused as refused:
            await self._refuse(ex, refused, send)
            return
        except ConnectionAbortedError:
            return
        except ClientguardError as exc:
            await self._refuse(ex, RequestRefused(500, "clientguard_error", f"clientguard could not inspect this "
                                                  f"request, so nothing was forwarded: {exc.message}"), send)
            return
        except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected
            log.error("inspection failed: %s", type(exc).__name__)
            await self._refuse(ex, RequestRefused(
                500, "clientguard_internal_error",
                f"clientguard could not inspect this request ({type(exc).__name__}), so nothing was forwarded.",
            ), send)
            return
        await self._forward_watching(ex, receive, send)

    def _token_ok(self, hmap: dict[str, str]) -> bool:
        token = self.config.token
        return token is None or hmac.compare_digest(hmap.get("x-clientguard-token", "").encode(), token.encode())

    # -- inspection ---------------------------------------------------------------------------------

    def _prepare(self, ex: Exchange, raw: bytes, hmap: dict[str, str]) -> None:
        """Decode, inspect, decide and redact. Raises RequestRefused when the request must not leave."""
        body = decode_body(raw, hmap.get("content-encoding"), self.config.max_body)
        doc: Any = None
        if body.strip():
            try:
                doc = json_loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                if ex.route.api is not None:
                    raise RequestRefused(400, "invalid_json", f"clientguard: the request body is not valid JSON "
                                         f"({_json_error(exc)}); nothing was forwarded.") from None
                raise RequestRefused(
                    415, "uninspectable_body",
                    f"clientguard: the body of {ex.method} {ex.path} is not JSON, so it cannot be inspected; "
                    "nothing was forwarded.",
                ) from None
        segs = seg.collect(doc) if doc is not None else seg.Segments()
        header_slots: list[tuple[int, str]] = []
        for i, (name, value) in enumerate(ex.headers):
            if name in _INSPECTED_HEADERS and value:
                header_slots.append((i, value))
        texts = segs.texts + [v for _i, v in header_slots]
        findings = self.scans.scan_many(texts) if texts else []
        if (segs.files or segs.command_words) and self.detector.file_rules:
            findings = self._with_named_file_findings(texts, findings, segs.files + segs.command_words)
        for text, fs in zip(texts, findings):
            for f in fs:
                # Learn this request's values first: one found with its context (KEY=... in a tool's
                # output) is then also found bare elsewhere in the same request (the replayed tool call).
                self.known.add(text[f.start:f.end], f)
        if len(self.known):
            # Values replaced before (and restored into answers) are found again even without context.
            findings = [list(fs) + more if more else fs for fs, more in zip(findings, self.known.find_many(texts))]
        ex.files = list(dict.fromkeys(segs.files))
        protected = self.protected.files_in(segs.texts)

        account = ex.account = self.account_for(ex.provider)
        if account is None:
            raise RequestRefused(
                400, "clientguard_no_account",
                f"clientguard: the policy {self.policy.path} has no account for provider {ex.provider}, so it cannot "
                f"tell whether this client's code may go there; nothing was forwarded. Fix: add an [[accounts]] entry "
                f"with provider = \"{ex.provider}\" (and its plan).",
                verdict="block",
            )
        verdict = self._verdicts.get(account.name)
        if verdict is None:  # decide() depends on the policy and the account only: once per account
            verdict = self._verdicts[account.name] = decide(self.policy, account, "local", self.catalog)
        ex.verdict = verdict
        if protected:
            ex.files = list(dict.fromkeys(protected + ex.files))
            raise RequestRefused(
                400, "clientguard_protected_content",
                f"clientguard blocked this request: it carries content of the protected file(s) "
                f"{', '.join(protected)} ([client] protected_paths in {self.policy.path}). Protected files never "
                "leave this machine, not even pseudonymized. Fix: start a new conversation without that content, "
                "or remove the file from protected_paths if the client allows it.",
                verdict="block",
                reasons=[{"clause": "client.protected_paths", "fact": f"content of {p}", "source": str(self.policy.path)}
                         for p in protected],
                files=protected,
            )
        target = self._target(ex, verdict, findings)
        ex.upstream = upstream_url(target, ex.route.path, ex.query)

        changed = seg.apply(segs, findings[: len(segs.texts)], self.vault, select_non_overlapping, ex.redaction,
                            self.known.add)
        out_headers = [(k, v) for k, v in ex.headers if k not in _DROP_REQUEST]
        for (i, value), fs in zip(header_slots, findings[len(segs.texts):]):
            if fs:
                new = seg.redact_text(value, fs, self.vault, select_non_overlapping, ex.redaction, self.known.add)
                name = ex.headers[i][0]
                out_headers = [(k, new if k == name else v) for k, v in out_headers]
        out_headers.append(("accept-encoding", "identity"))
        ex.out_headers = out_headers
        if changed:
            ex.body = json_bytes(doc)
        else:
            ex.body = body

    def _target(self, ex: Exchange, verdict: Verdict, findings: list) -> str:
        """The base URL this request goes to, or a refusal when the verdict forbids the provider."""
        account = ex.account
        assert account is not None
        if account.is_local(self.catalog) and account.base_url:
            return account.base_url
        if verdict.action == "allow":
            return self.upstreams[ex.provider]
        local = verdict.local_account
        if verdict.action == "route_local" and local is not None and local.base_url:
            return local.base_url
        found = Counter(f.rule_id for fs in findings for f in select_non_overlapping(fs))
        found_text = f" Found in this request: {_found_summary(found)}." if found else ""
        reasons = "; ".join(f"{r.clause}: {r.fact.rstrip('.')}" for r in verdict.reasons) or "the policy forbids this provider"
        fixes = " ".join(f"Fix: {f}" for f in verdict.fixes)
        why = ("the policy routes this client to a local model, but no local account with a base_url is configured. "
               if verdict.action == "route_local" else "")
        raise RequestRefused(
            400, "clientguard_blocked",
            f"clientguard blocked this request for client {self.client_name} on account {account.name} "
            f"({account.provider} {account.plan}): {why}{reasons}.{found_text} {fixes}".rstrip(),
            verdict=verdict.action,
            reasons=[r.to_dict() for r in verdict.reasons],
        )

    # -- answering ----------------------------------------------------------------------------------

    async def _refuse(self, ex: Exchange, refused: RequestRefused, send: Send) -> None:
        if refused.verdict in ("block", "route_local"):
            self.stats.blocked += 1
        else:
            self.stats.errors += 1
        self.stats.files.update(refused.files)
        log.info("%s %s -> %d %s", ex.method, ex.route.path, refused.status, refused.code)
        if ex.route.api is not None or refused.verdict != "error":
            record = self._record(ex, refused.verdict, refused.status, reasons=refused.reasons, sent=False)
            ok = await self._write_record(record, wait=self.audit_required)
            if not ok and self.audit_required:
                refused = RequestRefused(503, "clientguard_ledger_unavailable", refused.message +
                                         " (The audit ledger could not be written either.)")
        body = error_body(ex.provider, refused.status, refused.code, refused.message)
        await send({"type": "http.response.start", "status": refused.status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"x-clientguard", refused.code.encode()),
        ]})
        await send({"type": "http.response.body", "body": body})

    async def _internal(self, path: str, method: str, send: Send) -> None:
        if path == "/_clientguard/health":
            payload: dict = {"status": "ok", "client": self.client_name, "version": __version__,
                             "account": self.default_account.name, "ledger": str(self.ledger_path)}
            status = 200
        elif path == "/_clientguard/stats":
            payload = self.stats.as_dict()
            payload["scan_cache"] = {"hits": self.scans.hits, "misses": self.scans.misses, "entries": len(self.scans)}
            status = 200
        else:
            payload, status = {"error": f"unknown clientguard endpoint {path}"}, 404
        body = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    # -- ledger -------------------------------------------------------------------------------------

    def _record(self, ex: Exchange, verdict: str, status: int | None, *, reasons: list[dict] | None = None,
                sent: bool = True) -> EgressRecord:
        account = ex.account
        v = ex.verdict
        prompt = None
        if sent and self.policy.ledger.keep_prompts and ex.body:
            prompt = ex.body.decode("utf-8", errors="replace")
        return EgressRecord(
            ts=datetime.now(timezone.utc),
            client=self.client_name,
            agent=ex.agent,
            provider=account.provider if account else ex.provider,
            endpoint=ex.route.path,
            account=account.name if account else "",
            plan=account.plan if account else "",
            mode="local",
            verdict=verdict,
            reasons=reasons if reasons is not None else ([r.to_dict() for r in v.reasons] if v else []),
            redactions=ex.redaction.as_records(),
            files=ex.files[:200],
            bytes_sent=len(ex.body) if sent else 0,
            request_sha256=hashlib.sha256(ex.body).hexdigest() if sent else None,
            status=status,
            prompt=prompt,
            duration_ms=round((time.perf_counter() - ex.started) * 1000, 3),
        )

    def _append(self, record: EgressRecord, *, now: bool = False) -> bool | None:
        """Write one entry; False when it cannot be written.

        On the writer thread it waits for the write lock; with `now` (on the event loop) it does not,
        and returns None when another writer holds the lock.
        """
        if self.ledger is None:
            return False
        try:
            entry = self.ledger.try_append_entry(record) if now else self.ledger.append_entry(record)
        except LedgerError as exc:
            log.error("ledger write failed: %s", exc.message)
            return False
        if entry is None:
            return None
        self._unflushed = True
        if self.otel is not None:
            try:
                # With the entry, the collector also keeps its sequence number and chain hash (an anchor).
                self.otel.export(record, entry)
            except Exception as exc:  # noqa: BLE001 - telemetry is best effort; the ledger is the record
                log.warning("OpenTelemetry export failed: %s", type(exc).__name__)
        return True

    async def _write_record(self, record: EgressRecord, *, wait: bool) -> bool:
        """Append a record; with `wait` the caller needs to know it is durable before going on."""
        pending = self._in_writer(self._append, record)
        if wait:
            return bool(await pending)
        return True

    def _in_writer(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run `fn` on the ledger's writer thread; `drain` and `shutdown` wait for it."""
        pending = asyncio.get_running_loop().run_in_executor(self._ledger_pool, fn, *args)
        self._background.add(pending)
        pending.add_done_callback(self._background.discard)
        return pending

    def _append_soon(self, ex: Exchange, verdict: str) -> asyncio.Future | None:
        """Append the entry for a forwarded request: here and now when the ledger is free (a SQLite
        insert, ~0.15 ms, while the upstream works), else on the writer thread; its future, if any.

        Here rather than always on the thread: handing every entry to a thread cost the event loop more
        than the insert itself (GIL hand-overs), ~0.5 ms a request in bench/gateway.py.
        """
        if not self._background:  # nothing queued on the writer, so appending here keeps the order
            if self._append(self._record(ex, verdict, None), now=True) is not None:
                return None
        return self._in_writer(self._record_and_append, ex, verdict)

    def _record_and_append(self, ex: Exchange, verdict: str) -> bool:
        """On the writer thread: build the entry (hashing the body there too) and append it."""
        return bool(self._append(self._record(ex, verdict, None)))

    async def drain(self) -> None:
        """Wait for pending background ledger writes (tests and shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- forwarding ---------------------------------------------------------------------------------

    async def _forward_watching(self, ex: Exchange, receive: Receive, send: Send) -> None:
        """Forward, cancelling the upstream request if the agent disconnects.

        An unexpected failure before the answer started still reaches the agent as a provider-shaped
        error; after that, the stream is simply ended.
        """
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._forward_cancellable(ex, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the agent must get an answer it can show
            log.error("forwarding failed: %s", type(exc).__name__)
            if not started:
                body = error_body(ex.provider, 500, "clientguard_internal_error",
                                  f"clientguard failed while forwarding this request ({type(exc).__name__}).")
                await send({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})

    async def _forward_cancellable(self, ex: Exchange, receive: Receive, send: Send) -> None:
        # Plain asyncio tasks rather than an anyio task group: the same cancellation for a sixth of the
        # cost (~12 µs against ~75 µs a request, measured).
        forward = asyncio.ensure_future(self._forward(ex, send))

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    forward.cancel()
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            await forward
        except asyncio.CancelledError:
            this = asyncio.current_task()
            if this is not None and this.cancelling():
                raise  # the server is stopping: not ours to swallow
            # The agent went away; the upstream request was cancelled with the forward.
        finally:
            watcher.cancel()

    async def _forward(self, ex: Exchange, send: Send) -> None:
        verdict = ex.verdict.action if ex.verdict else "allow"
        if self.audit_required:
            if not await self._write_record(self._record(ex, verdict, None), wait=True):
                await self._refuse(ex, RequestRefused(
                    503, "clientguard_ledger_unavailable",
                    f"clientguard: the contract requires an audit log, and the ledger {self.ledger_path} cannot be "
                    "written; nothing was forwarded. Fix: check the disk and the ledger file, then retry.",
                ), send)
                return
        assert self.client is not None, "the gateway was not started"
        # Without an audit clause the entry is written once the request is on its way, while the
        # upstream works on it (a model takes far longer to answer than the ~0.2 ms this takes). The
        # answer's last byte waits for it, so an agent never holds a complete answer whose request the
        # ledger lacks. (Writing it after the first streamed bytes instead measured no better in
        # bench/gateway.py: the upstream there answers at once, so the write lands before the first
        # text delta either way.)
        entry = _Entry(None if self.audit_required or self.ledger is None
                       else lambda: self._append_soon(ex, verdict))
        try:
            response = await self.client.request(
                ex.method, ex.upstream, ex.out_headers,
                ex.body if (ex.body or ex.method not in ("GET", "HEAD", "OPTIONS")) else None,
                after_send=entry.write,  # recorded once it left, whatever becomes of the answer
            )
        except UPSTREAM_ERRORS as exc:
            self.stats.errors += 1
            body = error_body(ex.provider, 502, "clientguard_upstream_unreachable",
                              f"clientguard could not reach the upstream {ex.upstream.split('?')[0]}: "
                              f"{_upstream_reason(exc)}.")
            await entry.settled()
            await send({"type": "http.response.start", "status": 502, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self._answer(ex, response, send, entry)
        finally:
            # Back to the pool when read to the end; closed (so the upstream stops) when not.
            response.release()

    async def _answer(self, ex: Exchange, response: UpstreamResponse, send: Send, entry: _Entry) -> None:
        """Pass the upstream's answer back: restored when JSON or SSE, as it is otherwise."""
        self.stats.forwarded += 1
        for kind, n in ex.redaction.by_kind().items():
            self.stats.by_kind[kind] += n
        for rule, n in ex.redaction.by_rule().items():
            self.stats.by_rule[rule] += n
        self.stats.files.update(ex.files)
        log.info("%s %s -> %d %s (%d redactions)", ex.method, ex.route.path, response.status,
                 ex.provider, ex.redaction.total)
        headers = [(k, v) for k, v in response.raw_headers if k not in _DROP_RESPONSE_BYTES]
        ctype = response.headers.get("content-type", "")
        if "text/event-stream" in ctype:
            await self._stream_back(ex, response, headers, send, entry)
        elif "json" in ctype or not ctype:
            await self._whole_back(response, headers, send, entry)
        else:
            await self._raw_back(response, headers, send, entry)

    async def _whole_back(self, response: UpstreamResponse, headers: list[tuple[bytes, bytes]],
                          send: Send, entry: _Entry) -> None:
        data = await response.read()
        if data and "json" in response.headers.get("content-type", "") and b"CG_" in data:
            try:
                doc = json_loads(data)
            except ValueError:
                doc = None
            if doc is not None and seg.restore_json(doc, self.vault):
                data = json_bytes(doc)
        headers.append((b"content-length", str(len(data)).encode()))
        await entry.settled()
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _raw_back(self, response: UpstreamResponse, headers: list[tuple[bytes, bytes]],
                        send: Send, entry: _Entry) -> None:
        """Bodies that are neither JSON nor SSE (files, plain text) pass through as they arrive."""
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        async for chunk in response:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await entry.settled()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream_back(self, ex: Exchange, response: UpstreamResponse,
                           headers: list[tuple[bytes, bytes]], send: Send, entry: _Entry) -> None:
        adapter = adapter_for(ex.route.api, ex.provider, self.vault)
        parser = SSEParser()
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        try:
            async for chunk in response:
                out: list[bytes] = []
                for event in parser.feed(chunk):
                    out.extend(adapter.on_event(event))
                if out:
                    await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
            out = []
            for event in parser.close():
                out.extend(adapter.on_event(event))
            out.extend(adapter.finish())
            await entry.settled()
            await send({"type": "http.response.body", "body": b"".join(out), "more_body": False})
        except UPSTREAM_ERRORS as exc:
            message = f"clientguard: the upstream stream broke off ({_upstream_reason(exc)})."
            await entry.settled()
            await send({"type": "http.response.body", "more_body": False,
                        "body": stream_error_event(ex.provider, ex.route.api, "clientguard_upstream_error", message)})
        except Exception as exc:  # noqa: BLE001 - a restore failure ends the stream with a visible error
            log.error("restoring the stream failed: %s", type(exc).__name__)
            message = f"clientguard could not restore the response stream ({type(exc).__name__})."
            await entry.settled()
            await send({"type": "http.response.body", "more_body": False,
                        "body": stream_error_event(ex.provider, ex.route.api, "clientguard_restore_error", message)})


class _Entry:
    """The ledger entry of a forwarded request (no audit clause): `write` starts it as the request leaves
    (once; nothing when it never left), `settled` waits until it is written (on the writer thread when
    the ledger was busy)."""

    __slots__ = ("_write", "_future")

    def __init__(self, write: Callable[[], asyncio.Future | None] | None):
        self._write = write
        self._future: asyncio.Future | None = None

    def write(self) -> None:
        if self._write is not None:
            write, self._write = self._write, None
            self._future = write()

    async def settled(self) -> None:
        pending = self._future
        if pending is not None and not pending.done():
            await asyncio.shield(pending)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    return host in _LOOPBACK or host.startswith("127.")
