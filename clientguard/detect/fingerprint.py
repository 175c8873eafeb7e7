"""Keyed fingerprints: a finding is identified by HMAC-SHA256 of its value, never by the value."""

from __future__ import annotations

import hmac
import os

from clientguard.datadir import data_dir

FINGERPRINT_HEX = 16


def fingerprint(key: bytes, value: str) -> str:
    """Return the keyed fingerprint of a value (16 hex characters of HMAC-SHA256).

    ``hmac.digest`` is the one-shot form (OpenSSL's HMAC in one call): the same bytes as ``hmac.new`` in
    ~2.2 us instead of ~3.7, paid for every finding and every placeholder of every request."""
    return hmac.digest(key, value.encode("utf-8", "surrogatepass"), "sha256")[:FINGERPRINT_HEX // 2].hex()


def load_or_create_key(name: str = "default") -> bytes:
    """Read the named 32-byte key from the user's data directory, creating it (mode 0600) if absent."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.lower()) or "default"
    path = data_dir() / "keys" / f"{safe}.key"
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
