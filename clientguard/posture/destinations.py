"""Where a base URL sends an agent's requests: through clientguard, to a local model, or to a provider."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

Destination = Literal["clientguard", "local_model", "provider", "unknown"]

# Ports of local model servers: traffic there stays on the machine but is not a clientguard gateway.
LOCAL_MODEL_PORTS = {11434: "ollama", 1234: "lmstudio", 8080: "llama.cpp"}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _split(url: object):
    """urlsplit of a URL or of a bare `host:port`; None when it is not a string or does not parse."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        return urlsplit(text)
    except ValueError:
        return None


def host_of(url: object) -> str | None:
    """The host of a URL (or of a bare `host:port`), lower-cased, or None when there is none."""
    parts = _split(url)
    host = parts.hostname if parts is not None else None
    return host.lower() if host else None


def port_of(url: object) -> int | None:
    parts = _split(url)
    if parts is None:
        return None
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_unspecified_host(host: str | None) -> bool:
    """0.0.0.0 / :: : a server bound there listens on every network interface."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def classify(url: object) -> Destination:
    """A loopback URL on a local-model port is a local model; any other loopback URL is a gateway."""
    if not url or not isinstance(url, str):
        return "unknown"
    host = host_of(url)
    if host is None:
        return "unknown"
    if is_loopback_host(host):
        return "local_model" if port_of(url) in LOCAL_MODEL_PORTS else "clientguard"
    return "provider"
