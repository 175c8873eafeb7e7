"""The per-client vault: deterministic, typed placeholders and the in-memory map to restore them.

A placeholder looks like ``CG_AWS_ACCESS_KEY_ID_k3v9q2ma``: the fixed prefix ``CG_``, the finding's
upper-snake label (so the model still knows it handles "an AWS key"), an underscore, and eight
lowercase base32 characters of HMAC-SHA256(client key, label + value). Only ``[A-Za-z0-9_]`` is used,
so a placeholder never needs JSON escaping and an escape sequence can never split one.

The client key lives in a file of its own (mode 0600) under the clientguard data directory; the same
value therefore gets the same placeholder across requests and restarts, which keeps conversation
history coherent and provider prompt caches warm. Raw values are kept in memory only, for restoring
this process's own placeholders; a placeholder whose value this process never saw stays as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import stat
import threading
from pathlib import Path

from clientguard.datadir import data_dir

from clientguard.errors import ClientguardError

PREFIX = "CG_"
HASH_CHARS = 8
MAX_LABEL = 40
#: Longest placeholder the grammar allows; bounds what a streaming restorer ever holds back.
MAX_PLACEHOLDER_LEN = len(PREFIX) + MAX_LABEL + 1 + HASH_CHARS

#: A complete placeholder: CG_, label segments in upper case and digits, then 8 lowercase base32 chars.
PLACEHOLDER_RE = re.compile(r"CG_(?:[A-Z0-9]+_)+[a-z2-7]{8}")
#: Text that could still grow into a placeholder (used on the tail of a stream).
PARTIAL_PLACEHOLDER_RE = re.compile(r"C(?:G(?:_(?:(?:[A-Z0-9]+_)*[A-Z0-9]*|(?:[A-Z0-9]+_)+[a-z2-7]{0,7}))?)?")

KEY_BYTES = 32


class VaultError(ClientguardError):
    """The vault key cannot be read, created, or is not safe to use."""


def normalize_label(label: str) -> str:
    """Turn a finding label into the placeholder's type part: upper-snake, at most 40 characters."""
    cleaned = re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_")
    cleaned = cleaned[:MAX_LABEL].rstrip("_")
    return cleaned or "VALUE"


def vault_directory() -> Path:
    """Where vault keys live: $CLIENTGUARD_HOME/vaults, else the user data directory's vaults/."""
    return data_dir() / "vaults"


def key_path_for(client: str, directory: Path | None = None) -> Path:
    """The key file of one client: a readable slug plus a short hash of the exact name (no collisions)."""
    slug = re.sub(r"[^a-z0-9]+", "-", client.lower()).strip("-")[:40] or "client"
    digest = hashlib.sha256(client.encode("utf-8")).hexdigest()[:10]
    return (directory or vault_directory()) / f"{slug}-{digest}.key"


def _load_or_create_key(path: Path) -> bytes:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise VaultError(f"cannot create the vault directory {path.parent}: {exc.strerror or exc}") from exc
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise VaultError(f"cannot create the vault key {path}: {exc.strerror or exc}") from exc
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as exc:
        raise VaultError(f"cannot read the vault key {path}: {exc.strerror or exc}") from exc
    if os.name == "posix" and mode & 0o077:
        raise VaultError(
            f"the vault key {path} is readable by other users (mode {mode:o})",
            hint=f"run: chmod 600 {path}",
        )
    if len(data) != KEY_BYTES:
        raise VaultError(
            f"the vault key {path} is {len(data)} bytes, expected {KEY_BYTES}; it is damaged",
            hint="delete it to start a new vault (placeholders from earlier sessions will no longer restore)",
        )
    return data


class Vault:
    """One client's placeholders: value -> placeholder by keyed hash, placeholder -> value in memory."""

    def __init__(self, client: str, key: bytes):
        if len(key) < 16:
            raise VaultError("a vault key must be at least 16 bytes")
        self.client = client
        self._key = key
        self._values: dict[str, str] = {}
        self._tokens: dict[tuple[str, str], str] = {}  # (label, value) -> placeholder: no HMAC twice
        self._lock = threading.Lock()

    @classmethod
    def open(cls, client: str, directory: Path | None = None) -> "Vault":
        """The vault of `client`, creating its key file (0600) on first use."""
        return cls(client, _load_or_create_key(key_path_for(client, directory)))

    @property
    def fingerprint_key(self) -> bytes:
        """A key for finding fingerprints, derived from (and not revealing) the vault key."""
        return hmac.new(self._key, b"clientguard fingerprint key", hashlib.sha256).digest()

    def placeholder(self, label: str, value: str) -> str:
        """The placeholder standing for `value`; the same value and label always give the same one."""
        token = self._tokens.get((label, value))
        if token is not None:
            return token
        kind = normalize_label(label)
        mac = hmac.new(self._key, f"{kind}\x00{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        token = f"{PREFIX}{kind}_{base64.b32encode(mac[:5]).decode('ascii').lower()}"
        known = self._values.get(token)
        if known is None:
            with self._lock:
                self._values.setdefault(token, value)
        elif known != value:  # pragma: no cover - a 40-bit HMAC collision within one client
            raise VaultError(f"placeholder collision for a {kind} value; refusing to pseudonymize ambiguously")
        self._tokens[(label, value)] = token
        return token

    def value_of(self, placeholder: str) -> str | None:
        """The original behind a placeholder this process created, else None."""
        return self._values.get(placeholder)

    def __len__(self) -> int:
        return len(self._values)

    def restore(self, text: str, *, json_escape: bool = False, only: str | None = None) -> str:
        """Replace every known placeholder in `text` by its value (JSON-escaped inside JSON text); with
        `only`, just the placeholders that start with it (the others stay as they are)."""
        if PREFIX not in text:
            return text
        out: list[str] = []
        pos = 0
        search = PLACEHOLDER_RE.search
        while True:
            m = search(text, pos)
            if m is None:
                break
            value = self._values.get(m.group(0))
            if value is not None and only is not None and not m.group(0).startswith(only):
                out.append(text[pos:m.end()])  # withheld: the placeholder stays
                pos = m.end()
                continue
            if value is None:
                # Unknown here: may still hide a known placeholder that starts later (e.g. "CG_CG_X_...").
                out.append(text[pos:m.start() + 1])
                pos = m.start() + 1
                continue
            out.append(text[pos:m.start()])
            out.append(json.dumps(value, ensure_ascii=False)[1:-1] if json_escape else value)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)
