"""Per-API stream adapters around the one redaction core (Chat Completions, Responses, Messages)."""

from __future__ import annotations

from typing import Protocol

from clientguard.gateway.sse import SSEEvent


class StreamAdapter(Protocol):
    """Restores one SSE response stream event by event, one restorer per text channel."""

    def on_event(self, ev: SSEEvent) -> list[bytes]:
        """Bytes to send to the agent for this upstream event (possibly extra flush events first)."""

    def finish(self) -> list[bytes]:
        """The upstream stream ended: flush whatever is held back."""


def adapter_for(api: str | None, provider: str, vault) -> StreamAdapter:
    """The stream adapter for an API; other paths of a provider get its generic event restorer."""
    from clientguard.gateway.formats.anthropic import AnthropicStream
    from clientguard.gateway.formats.openai_chat import ChatStream
    from clientguard.gateway.formats.openai_responses import ResponsesStream

    if api == "responses":
        return ResponsesStream(vault)
    if api in ("messages", "count_tokens") or (api is None and provider == "anthropic"):
        return AnthropicStream(vault)
    if api == "chat":
        return ChatStream(vault)
    return ResponsesStream(vault) if provider == "openai" else AnthropicStream(vault)
