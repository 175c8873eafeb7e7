"""Routing: the API is chosen by path alone, and the upstream URL joins bases with or without /v1."""

from __future__ import annotations

import pytest

from clientguard.gateway.routing import classify, upstream_url


@pytest.mark.parametrize("path, api, provider, forwarded", [
    ("/v1/responses", "responses", "openai", "/v1/responses"),
    ("/responses", "responses", "openai", "/v1/responses"),
    ("/v1/chat/completions", "chat", "openai", "/v1/chat/completions"),
    ("/v1/messages", "messages", "anthropic", "/v1/messages"),
    ("/messages/count_tokens", "count_tokens", "anthropic", "/v1/messages/count_tokens"),
    ("/anthropic/v1/messages", "messages", "anthropic", "/v1/messages"),
    ("/openai/v1/responses", "responses", "openai", "/v1/responses"),
])
def test_api_paths_are_recognized_with_or_without_prefixes(path, api, provider, forwarded) -> None:
    route = classify("POST", path, {})
    assert (route.api, route.provider, route.path) == (api, provider, forwarded)


def test_other_paths_are_kept_and_the_provider_guessed_from_headers() -> None:
    assert classify("GET", "/v1/models", {"x-api-key": "k"}).provider == "anthropic"
    route = classify("GET", "/v1/models", {"authorization": "Bearer k"})
    assert (route.api, route.provider, route.path) == (None, "openai", "/v1/models")
    assert classify("HEAD", "/", {}).path == "/"


def test_get_on_an_api_path_is_not_treated_as_the_api() -> None:
    assert classify("GET", "/v1/responses", {}).api is None


@pytest.mark.parametrize("base, path, query, url", [
    ("https://api.openai.com/v1", "/v1/responses", "", "https://api.openai.com/v1/responses"),
    ("https://api.anthropic.com", "/v1/messages", "beta=true", "https://api.anthropic.com/v1/messages?beta=true"),
    ("http://127.0.0.1:11434", "/v1/chat/completions", "", "http://127.0.0.1:11434/v1/chat/completions"),
    ("http://proxy.local/openai/v1", "/v1/models", "", "http://proxy.local/openai/v1/models"),
])
def test_upstream_url_joins_bases_with_and_without_v1(base, path, query, url) -> None:
    assert upstream_url(base, path, query) == url
