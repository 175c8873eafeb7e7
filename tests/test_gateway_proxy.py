"""Outbound proxies (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) and an extra CA bundle (SSL_CERT_FILE).

The proxy here is a real CONNECT proxy on 127.0.0.1: it takes every host name it is asked for to a
server on 127.0.0.1 (as a client network's proxy resolves names the gateway's machine cannot), records
what it was asked and every byte it carried, and pipes the rest. A "provider" behind it serves TLS with a
certificate for a provider-like name, issued by a throwaway CA (trustme), so the tunnel is checked end to
end: the proxy carries ciphertext only.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import ssl
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest
import trustme

from _gateway_support import FAKE_OPENAI_KEY, Canaries, running_stack
from clientguard.errors import InputError
from clientguard.gateway.proxy import ProxySettings
from clientguard.gateway.recording import RecordingUpstream
from clientguard.gateway.upstream import UpstreamError, UpstreamPool
from test_gateway_upstream import _length_answer, _read_request, run

PROVIDER = "api.provider.test"


# -- the environment, read ------------------------------------------------------------------------

def test_proxies_are_read_from_the_usual_variables() -> None:
    settings = ProxySettings.from_environ({"https_proxy": "http://proxy.corp.test:3128", "HTTP_PROXY": "proxy.corp.test:8080"})
    assert (settings.https.host, settings.https.port, settings.https.variable) == ("proxy.corp.test", 3128, "https_proxy")
    assert (settings.http.host, settings.http.port) == ("proxy.corp.test", 8080)  # a bare host:port is http://
    assert settings.https.authorization is None
    every = ProxySettings.from_environ({"ALL_PROXY": "http://all.corp.test"})
    assert every.https.port == every.http.port == 80 and every.https.variable == "ALL_PROXY"
    assert not ProxySettings.from_environ({})  # nothing set: connect directly
    # The upper-case name wins, as in curl.
    both = ProxySettings.from_environ({"HTTPS_PROXY": "http://upper.test:1", "https_proxy": "http://lower.test:2"})
    assert both.https.host == "upper.test"


def test_proxy_credentials_become_basic_auth_and_are_never_shown() -> None:
    settings = ProxySettings.from_environ({"HTTPS_PROXY": "http://jo%40corp:s3cr%3At@proxy.corp.test:3128"})
    assert settings.https.authorization == "Basic " + base64.b64encode(b"jo@corp:s3cr:t").decode()
    for shown in (settings.https.label, settings.describe()):
        assert "s3cr" not in shown and "jo" not in shown
        assert "proxy.corp.test:3128" in shown


@pytest.mark.parametrize(("value", "message"), [
    ("socks5://proxy.corp.test:1080", "HTTPS_PROXY names a socks5:// proxy"),
    ("https://proxy.corp.test:443", "HTTPS_PROXY names a https:// proxy"),
    ("http://proxy.corp.test:99999", "HTTPS_PROXY has a bad port"),
    ("http://:3128", "HTTPS_PROXY has no host"),
])
def test_a_proxy_setting_that_cannot_be_used_is_a_clear_error(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ProxySettings.from_environ({"HTTPS_PROXY": value})


def test_loopback_and_no_proxy_hosts_are_reached_directly() -> None:
    settings = ProxySettings.from_environ({"HTTPS_PROXY": "http://proxy.corp.test:3128",
                                           "HTTP_PROXY": "http://proxy.corp.test:3128",
                                           "NO_PROXY": ".internal.test, llm.corp.test:8443"})
    assert settings.for_target("https", "api.openai.com", 443).host == "proxy.corp.test"
    # A local model's upstream never goes through another machine, whatever the variables say.
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost", "ollama.localhost"):
        assert settings.for_target("http", host, 11434) is None, host
    assert settings.for_target("https", "git.internal.test", 443) is None  # a suffix
    assert settings.for_target("https", "internal.test", 443) is None
    assert settings.for_target("https", "llm.corp.test", 8443) is None  # host:port
    assert settings.for_target("https", "llm.corp.test", 443) is not None
    everything = ProxySettings.from_environ({"HTTPS_PROXY": "http://proxy.corp.test:3128", "no_proxy": "*"})
    assert everything.for_target("https", "api.anthropic.com", 443) is None


# -- a real CONNECT proxy on loopback -----------------------------------------------------------------

class TunnelProxy:
    """A CONNECT proxy on 127.0.0.1 that takes every name to `target_port` on 127.0.0.1."""

    def __init__(self, target_port: int, *, require: str | None = None):
        self.target_port = target_port
        self.require = require  # the Proxy-Authorization value it insists on, if any
        self.asked: list[tuple[str, str | None]] = []  # (request line, Proxy-Authorization)
        self.carried = bytearray()  # every byte it passed on, both ways
        self.server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> "TunnelProxy":
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    def close(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.carried += data
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        auth = next((line.split(":", 1)[1].strip() for line in lines[1:]
                     if line.lower().startswith("proxy-authorization:")), None)
        self.asked.append((lines[0], auth))
        if self.require is not None and auth != self.require:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        if not lines[0].startswith("CONNECT "):
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))


def _provider_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(PROVIDER).configure_cert(context)
    return context


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def _provider(ca: trustme.CA, payload: bytes, seen: list[bytes]) -> asyncio.base_events.Server:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head, body = await _read_request(reader)
                seen.append(head + body)
                writer.write(_length_answer(payload))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handler, "127.0.0.1", 0, ssl=_provider_tls(ca))


def _with_proxy(body: Callable[[TunnelProxy, list[bytes], trustme.CA], Awaitable[None]], *,
                require: str | None = None) -> None:
    ca = trustme.CA()

    async def main() -> None:
        seen: list[bytes] = []
        provider = await _provider(ca, b'{"via":"tunnel"}', seen)
        proxy = await TunnelProxy(provider.sockets[0].getsockname()[1], require=require).start()
        try:
            await body(proxy, seen, ca)
        finally:
            proxy.close()
            provider.close()

    run(main())


def test_https_goes_through_a_connect_tunnel_with_tls_end_to_end() -> None:
    async def body(proxy: TunnelProxy, seen: list[bytes], ca: trustme.CA) -> None:
        pool = UpstreamPool(_trusting(ca), proxies=ProxySettings.from_environ({"HTTPS_PROXY": proxy.url}))
        for n in range(2):
            response = await pool.request("POST", f"https://{PROVIDER}/v1/responses", [("authorization", "Bearer k")],
                                          b'{"input":"canary-plaintext-%d"}' % n)
            assert response.status == 200
            assert await response.read() == b'{"via":"tunnel"}'
            response.release()
            gc.collect()  # nothing left over from opening the tunnel may close it (a StreamWriter did)
            await asyncio.sleep(0.05)
        await pool.close()
        # One tunnel, kept alive for both requests, to the name the gateway was given.
        assert proxy.asked == [(f"CONNECT {PROVIDER}:443 HTTP/1.1", None)]
        assert len(seen) == 2 and b"canary-plaintext-1" in seen[1]
        assert f"Host: {PROVIDER}".encode() in seen[0]
        # The proxy carried only ciphertext: neither the prompt nor the key nor the answer in the clear.
        for clear in (b"canary-plaintext", b"Bearer k", b"tunnel", b"/v1/responses"):
            assert clear not in proxy.carried
        assert len(proxy.carried) > 1000  # (it did carry the TLS records)

    _with_proxy(body)


def test_a_proxy_that_wants_credentials_gets_them_and_a_refusal_is_clear() -> None:
    wanted = "Basic " + base64.b64encode(b"consultant:pr0xy-pass").decode()

    async def body(proxy: TunnelProxy, seen: list[bytes], ca: trustme.CA) -> None:
        anonymous = UpstreamPool(_trusting(ca), proxies=ProxySettings.from_environ({"HTTPS_PROXY": proxy.url}))
        with pytest.raises(UpstreamError) as refused:
            await anonymous.request("POST", f"https://{PROVIDER}/v1/messages", [], b"{}")
        message = str(refused.value)
        assert f"refused the tunnel to {PROVIDER}:443: 407 Proxy Authentication Required" in message
        assert proxy.url.removeprefix("http://") in message and "(HTTPS_PROXY)" in message
        await anonymous.close()
        with_user = proxy.url.replace("http://", "http://consultant:pr0xy-pass@")
        signed = UpstreamPool(_trusting(ca), proxies=ProxySettings.from_environ({"HTTPS_PROXY": with_user}))
        response = await signed.request("POST", f"https://{PROVIDER}/v1/messages", [], b"{}")
        assert await response.read() == b'{"via":"tunnel"}'
        response.release()
        await signed.close()
        assert proxy.asked[-1] == (f"CONNECT {PROVIDER}:443 HTTP/1.1", wanted)
        assert b"pr0xy-pass" not in b"".join(seen)  # the proxy's credentials stay with the proxy

    _with_proxy(body, require=wanted)


def test_an_unreachable_proxy_and_an_untrusted_provider_are_clear_errors() -> None:
    async def body(proxy: TunnelProxy, seen: list[bytes], ca: trustme.CA) -> None:
        closed = TunnelProxy(0)
        await closed.start()
        dead_url = closed.url
        closed.close()
        await asyncio.sleep(0)
        pool = UpstreamPool(_trusting(ca), proxies=ProxySettings.from_environ({"HTTPS_PROXY": dead_url}))
        with pytest.raises(UpstreamError, match=r"cannot connect to the proxy http://127\.0\.0\.1:\d+ \(HTTPS_PROXY\)"):
            await pool.request("POST", f"https://{PROVIDER}/v1/x", [], b"{}")
        await pool.close()
        # Through a working proxy, the provider's certificate is still checked against the name.
        stranger = UpstreamPool(ssl.create_default_context(), proxies=ProxySettings.from_environ({"HTTPS_PROXY": proxy.url}))
        with pytest.raises(UpstreamError, match=f"TLS with {PROVIDER}:443 through the proxy .* failed"):
            await stranger.request("POST", f"https://{PROVIDER}/v1/x", [], b"{}")
        await stranger.close()
        assert seen == []

    _with_proxy(body)


def _answer_once(seen: list[bytes], payload: bytes) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A handler that keeps the request's head and answers it with `payload`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await _read_request(reader)
        seen.append(head)
        writer.write(_length_answer(payload))
        await writer.drain()
        writer.close()

    return handler


def test_http_upstreams_go_to_an_http_proxy_in_absolute_form_and_loopback_ones_directly() -> None:
    async def main() -> None:
        asked: list[bytes] = []
        direct_seen: list[bytes] = []
        proxy = await asyncio.start_server(_answer_once(asked, b'{"from":"proxy"}'), "127.0.0.1", 0)
        proxy_url = f"http://user:pw@127.0.0.1:{proxy.sockets[0].getsockname()[1]}"
        local_server = await asyncio.start_server(_answer_once(direct_seen, b'{"from":"local model"}'), "127.0.0.1", 0)
        local_port = local_server.sockets[0].getsockname()[1]
        pool = UpstreamPool(None, proxies=ProxySettings.from_environ({"HTTP_PROXY": proxy_url}))
        response = await pool.request("POST", "http://models.corp.test:8000/v1/chat/completions?x=1", [], b"{}")
        assert await response.read() == b'{"from":"proxy"}'
        response.release()
        response = await pool.request("POST", f"http://127.0.0.1:{local_port}/v1/chat/completions", [], b"{}")
        assert await response.read() == b'{"from":"local model"}'
        response.release()
        await pool.close()
        assert asked[0].startswith(b"POST http://models.corp.test:8000/v1/chat/completions?x=1 HTTP/1.1\r\n")
        assert b"Host: models.corp.test:8000\r\n" in asked[0]
        assert b"Proxy-Authorization: Basic " + base64.b64encode(b"user:pw") in asked[0]
        assert len(asked) == 1 and direct_seen[0].startswith(b"POST /v1/chat/completions HTTP/1.1")
        proxy.close()
        local_server.close()

    run(main())


# -- the gateway behind a proxy, with the real openai SDK ---------------------------------------------

@contextmanager
def _provider_behind_proxy(tmp_path: Path, monkeypatch, require: str | None = None) -> Iterator[tuple[RecordingUpstream, TunnelProxy]]:
    """A recording upstream serving TLS as PROVIDER, a CONNECT proxy to it (in a thread of its own), and
    the environment a gateway started now reads: HTTPS_PROXY at the proxy, SSL_CERT_FILE at the CA."""
    ca = trustme.CA()
    pem = tmp_path / "provider.pem"
    ca.issue_cert(PROVIDER).private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca_file = tmp_path / "client-network-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    upstream = RecordingUpstream(tls_certfile=str(pem), url_host=PROVIDER).start()
    loop = asyncio.new_event_loop()
    proxy = loop.run_until_complete(TunnelProxy(upstream.port, require=require).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield upstream, proxy
    finally:
        loop.call_soon_threadsafe(proxy.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        upstream.stop()


def test_the_gateway_reaches_a_provider_through_the_proxy_and_redacts_as_ever(tmp_path: Path, monkeypatch) -> None:
    canaries = Canaries.generate()
    with _provider_behind_proxy(tmp_path, monkeypatch) as (upstream, proxy), \
            running_stack(tmp_path, upstream=upstream) as stack:
        assert stack.gateway.gateway.proxies.https is not None
        client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        reply = client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": canaries.sentence()}])
        assert reply.choices[0].message.content
        assert upstream.requests, "the provider behind the proxy got nothing"
        assert stack.leaked(canaries) == []
        assert any(line.startswith(f"CONNECT {PROVIDER}:") for line, _ in proxy.asked)
        for canary in canaries.all():
            assert canary.encode() not in proxy.carried


def test_a_proxy_refusal_reaches_the_agent_as_a_provider_shaped_502(tmp_path: Path, monkeypatch) -> None:
    with _provider_behind_proxy(tmp_path, monkeypatch, require="Basic bm9ib2R5Om5vdGhpbmc=") as (upstream, _proxy), \
            running_stack(tmp_path, upstream=upstream) as stack:
        client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello"}])
        assert failed.value.status_code == 502
        assert "407 Proxy Authentication Required" in str(failed.value)
        assert upstream.requests == []


def test_serve_stops_at_once_on_a_bad_proxy_or_ca_file(tmp_path: Path) -> None:
    from _gateway_support import write_policy

    policy = write_policy(tmp_path / "repo")
    cases = [
        ({"HTTPS_PROXY": "socks5://127.0.0.1:1080"}, "HTTPS_PROXY names a socks5:// proxy"),
        ({"SSL_CERT_FILE": str(tmp_path / "missing.pem")}, "SSL_CERT_FILE="),
    ]
    for extra, message in cases:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CLIENTGUARD_HOME": str(tmp_path / "home"), **extra}
        done = subprocess.run([sys.executable, "-m", "clientguard.cli", "serve", "--policy", str(policy), "--port", "0"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr

