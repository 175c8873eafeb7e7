"""Which API a request speaks and where it goes: routes match on the path alone (query kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Api = Literal["responses", "chat", "messages", "count_tokens"]
Provider = Literal["openai", "anthropic"]

DEFAULT_UPSTREAMS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}

_APIS: dict[str, tuple[Api, Provider]] = {
    "/responses": ("responses", "openai"),
    "/chat/completions": ("chat", "openai"),
    "/messages": ("messages", "anthropic"),
    "/messages/count_tokens": ("count_tokens", "anthropic"),
}


@dataclass(frozen=True)
class Route:
    """A classified request: the API (None for other paths), the provider, and the path to forward."""

    api: Api | None
    provider: Provider
    path: str


def classify(method: str, path: str, headers: dict[str, str]) -> Route:
    """Classify by path: optional /openai or /anthropic prefix, optional /v1, then the API endpoint."""
    provider: Provider | None = None
    rest = path or "/"
    for prefix in ("openai", "anthropic"):
        if rest == f"/{prefix}" or rest.startswith(f"/{prefix}/"):
            provider = prefix  # type: ignore[assignment]
            rest = rest[len(prefix) + 1:] or "/"
            break
    had_v1 = rest == "/v1" or rest.startswith("/v1/")
    tail = rest[3:] if had_v1 else rest
    tail_key = tail.rstrip("/") or "/"
    known = _APIS.get(tail_key) if method == "POST" else None
    if known is not None:
        api, api_provider = known
        return Route(api=api, provider=provider or api_provider, path="/v1" + tail_key)
    if provider is None:
        provider = "anthropic" if ("x-api-key" in headers or "anthropic-version" in headers) else "openai"
    return Route(api=None, provider=provider, path=("/v1" + tail) if had_v1 else rest)


def upstream_url(base: str, route_path: str, query: str) -> str:
    """Join an upstream base URL and the forwarded path.

    A base without a path (``http://127.0.0.1:9000``) receives the whole path (``/v1/messages``);
    a base ending in ``/v1`` (``https://api.openai.com/v1``) receives the path after ``/v1``.
    """
    parts = urlsplit(base)
    base_path = parts.path.rstrip("/")
    origin = f"{parts.scheme}://{parts.netloc}"
    path = route_path
    if base_path.endswith("/v1") and (path == "/v1" or path.startswith("/v1/")):
        path = path[3:] or "/"
    url = origin + base_path + path
    return f"{url}?{query}" if query else url
