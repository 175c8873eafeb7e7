"""Outbound proxies for the gateway's upstream connections, read from the usual environment variables.

A consultant working from a client's network often has to reach the providers through the client's
proxy. The gateway follows the conventions curl, Python and Node tools share:

* ``HTTPS_PROXY`` (or ``https_proxy``) for https upstreams, ``HTTP_PROXY`` (or ``http_proxy``) for http
  ones, ``ALL_PROXY`` (or ``all_proxy``) for either when the specific one is unset. The proxy is spoken
  to over plain HTTP (``http://[user:password@]host[:port]``): https upstreams go through a CONNECT
  tunnel, so TLS runs end to end between the gateway and the provider; http upstreams are sent in
  absolute form.
* ``NO_PROXY`` (or ``no_proxy``): hosts, domain suffixes and addresses reached directly (``*``: all).
* Loopback upstreams (``localhost``, ``127.0.0.0/8``, ``::1``) are always reached directly: a local model
  that a contract routes sensitive prompts to must never be reached through someone else's machine.

A proxy that asks for credentials gets them as ``Proxy-Authorization: Basic``, from the proxy URL. They
are never logged or shown: messages and the banner name the proxy by host and port only.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from urllib.request import proxy_bypass_environment

from clientguard.errors import InputError

__all__ = ["Proxy", "ProxySettings"]


@dataclass(frozen=True)
class Proxy:
    """One proxy: where it listens, the Proxy-Authorization value (None without credentials), and which
    variable named it."""

    host: str
    port: int
    authorization: str | None
    variable: str

    @property
    def label(self) -> str:
        """How messages name the proxy: never with its credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port} ({self.variable})"


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _parse(variable: str, value: str) -> Proxy:
    # A bare host:port (as some tools write it) means http://host:port.
    parts = urlsplit(value if "://" in value else f"http://{value}")
    scheme = parts.scheme.lower()
    if scheme != "http":
        raise InputError(
            f"{variable} names a {scheme}:// proxy; clientguard speaks to proxies over http:// only",
            hint="https upstreams still use TLS end to end, through the proxy's CONNECT tunnel",
        )
    try:
        port = parts.port or 80
    except ValueError:
        raise InputError(f"{variable} has a bad port; expected http://host:port") from None
    if not parts.hostname:
        raise InputError(f"{variable} has no host; expected http://host:port")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return Proxy(parts.hostname, port, authorization, variable)


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ProxySettings:
    """Which proxy, if any, each upstream is reached through."""

    https: Proxy | None = None
    http: Proxy | None = None
    no_proxy: str = ""

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "ProxySettings":
        """The settings the environment asks for; InputError (naming the variable) for a value that
        cannot be used."""
        every = _first(env, "ALL_PROXY", "all_proxy")
        https = _first(env, "HTTPS_PROXY", "https_proxy") or every
        http = _first(env, "HTTP_PROXY", "http_proxy") or every
        no_proxy = _first(env, "NO_PROXY", "no_proxy")
        return cls(
            https=_parse(*https) if https else None,
            http=_parse(*http) if http else None,
            no_proxy=no_proxy[1] if no_proxy else "",
        )

    def __bool__(self) -> bool:
        return self.https is not None or self.http is not None

    def for_target(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy to reach ``scheme://host:port`` through, or None to connect directly."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or is_loopback(host):
            return None
        if self.no_proxy:
            # The standard library's reading of NO_PROXY (names, .suffixes, host:port entries, "*").
            target = host if ":" in host else f"{host}:{port}"
            if self.no_proxy.strip() == "*" or proxy_bypass_environment(target, {"no": self.no_proxy}):
                return None
        return proxy

    def describe(self) -> str:
        """One line for the banner: the proxies in use and what bypasses them (no credentials)."""
        parts = []
        if self.https is not None:
            parts.append(f"https via {self.https.label}")
        if self.http is not None:
            parts.append(f"http via {self.http.label}")
        bypass = "loopback" + (f", NO_PROXY={self.no_proxy}" if self.no_proxy else "")
        return "; ".join(parts) + f"; direct: {bypass}"
