"""Refusals the gateway answers itself, in the error shape of the provider the agent talks to.

The agent shows these messages to its user, so each says what happened (rule ids, files, the clause),
and how to fix it, and never contains a value that was found.
"""

from __future__ import annotations

import json
from typing import Literal

Provider = Literal["openai", "anthropic"]

_OPENAI_TYPES = {
    400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
    404: "invalid_request_error", 413: "invalid_request_error", 415: "invalid_request_error",
    426: "invalid_request_error", 500: "server_error", 502: "server_error", 503: "server_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 415: "invalid_request_error",
    426: "invalid_request_error", 500: "api_error", 502: "api_error", 503: "api_error",
}


class RequestRefused(Exception):
    """The gateway answers this request itself with an error (nothing is forwarded)."""

    def __init__(self, status: int, code: str, message: str, *, verdict: str = "error",
                 reasons: list[dict] | None = None, files: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.verdict = verdict
        self.reasons = reasons or []
        self.files = files or []


def error_body(provider: Provider, status: int, code: str, message: str) -> bytes:
    """The JSON body of an error as `provider` would send it."""
    if provider == "anthropic":
        payload: dict = {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}
    else:
        payload = {"error": {"message": message, "type": _OPENAI_TYPES.get(status, "server_error"),
                             "param": None, "code": code}}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def stream_error_event(provider: Provider, api: str | None, code: str, message: str) -> bytes:
    """An SSE error event for a failure after the stream has started."""
    if provider == "anthropic":
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    if api == "responses":
        data = {"type": "error", "code": code, "message": message, "param": None}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    data = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return b"data: " + json.dumps(data).encode() + b"\n\n"
