"""Read who is signed in, locally and safely: JWT payloads without the signature, masked e-mails."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class TokenUnreadable(ValueError):
    """The token is not a JWT whose payload is base64url JSON."""


def jwt_payload(token: str) -> dict[str, Any]:
    """Decode the payload (middle part) of a JWT. Nothing is verified or sent anywhere."""
    if not isinstance(token, str):
        raise TokenUnreadable("the token is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenUnreadable(f"expected 3 dot-separated parts, found {len(parts)}")
    segment = parts[1]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise TokenUnreadable("the payload is not base64url-encoded JSON") from exc
    if not isinstance(payload, dict):
        raise TokenUnreadable("the payload is not a JSON object")
    return payload


def mask_email(email: object) -> str | None:
    """`jane.doe@example.com` -> `j***@example.com`; None for anything that is not an address."""
    if not isinstance(email, str) or "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return None
    return f"{local[0]}***@{domain}"
