"""Key stores: binary files that hold private keys or passwords (keystores.toml), told by name and first bytes.

`clientguard scan` skips binary files; a PKCS#12 or Java key store, a KeePass database or a GnuPG secret key ring
committed to a repository is still a secret that must not leave the machine, so those are reported instead.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from clientguard.datadir import data_dir, prune, write_cache_file
from clientguard.errors import InputError

KEYSTORES_FILE = Path(__file__).with_name("keystores.toml")
#: The markers, in the data directory's cache, that a content of KEYSTORES_FILE passed validation.
MARKER_GLOB = "keystores-*.checked"
#: The most of a file's start any kind's magic needs.
HEAD_BYTES = 16


@dataclass(frozen=True)
class KeyStoreKind:
    """One kind of key store, as keystores.toml describes it (validated by the model of `_spec`)."""

    id: str
    title: str
    severity: str
    names: tuple[str, ...]
    magic: tuple[str, ...]
    source: str
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]

    def matches_head(self, head: bytes) -> bool:
        return any(head.startswith(bytes.fromhex(m)) for m in self.magic)


@lru_cache(maxsize=1)
def _spec() -> Any:
    """The pydantic model a kind is validated with. Built only when the file's content has not been validated
    before (see `kinds`): importing pydantic took ~100 ms of every `clientguard scan`'s start."""
    from pydantic import BaseModel, ConfigDict, Field, field_validator

    class KeyStoreSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
        title: str = Field(min_length=1)
        severity: str = Field(pattern=r"^(low|medium|high|critical)$")
        names: tuple[str, ...] = Field(min_length=1)
        magic: tuple[str, ...] = Field(min_length=1)
        source: str = Field(min_length=1)
        examples: tuple[str, ...] = Field(min_length=2)
        counter_examples: tuple[str, ...] = Field(min_length=1)

        @field_validator("magic", "examples", "counter_examples")
        @classmethod
        def _hex(cls, values: tuple[str, ...]) -> tuple[str, ...]:
            for v in values:
                if not re.fullmatch(r"(?:[0-9a-f]{2})+", v):
                    raise ValueError(f"{v!r} is not lower-case hex of whole bytes")
            return values

    return KeyStoreSpec


def _checked_marker(raw: bytes) -> Path | None:
    """The file whose presence says this exact content passed validation (keyed by the content and by this
    module's source, which holds the model); None when there is no data directory."""
    digest = hashlib.sha256(raw + b"\0" + Path(__file__).read_bytes()).hexdigest()[:32]
    try:
        return data_dir() / "cache" / f"keystores-{digest}.checked"
    except OSError:
        return None


def _validated(entries: list) -> list[KeyStoreKind]:
    from pydantic import ValidationError

    found = []
    for n, entry in enumerate(entries, 1):
        try:
            spec = _spec()(**entry)
        except (ValidationError, TypeError) as exc:
            what = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()) \
                if isinstance(exc, ValidationError) else str(exc)
            where = entry.get("id", "?") if isinstance(entry, dict) else "?"
            raise InputError(f"{KEYSTORES_FILE}: store {n} ({where}): {what}") from None
        found.append(KeyStoreKind(**spec.model_dump()))
    return found


@lru_cache(maxsize=1)
def kinds() -> tuple[KeyStoreKind, ...]:
    try:
        raw = KEYSTORES_FILE.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{KEYSTORES_FILE}: {exc}") from None
    entries = data.get("store", [])
    marker = _checked_marker(raw)
    if marker is not None and marker.exists():
        found = [KeyStoreKind(**{k: tuple(v) if isinstance(v, list) else v for k, v in e.items()}) for e in entries]
    else:
        found = _validated(entries)
        if marker is not None:
            try:
                write_cache_file(marker, b"")
                prune(marker.parent, MARKER_GLOB, 2)
            except OSError:
                pass  # a read-only data directory only costs the validation next time
    ids = [k.id for k in found]
    if len(set(ids)) != len(ids):
        raise InputError(f"{KEYSTORES_FILE}: a key store id is defined twice")
    return tuple(found)


@lru_cache(maxsize=1)
def _names() -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(n) for k in kinds() for n in k.names))


def _file_name(relpath: str) -> str:
    return relpath.rpartition("/")[2].lower()


def may_be_key_store(relpath: str) -> bool:
    """Whether the file's name is one a key store kind names (one regex: asked of every file a scan reads)."""
    return _names().match(_file_name(relpath)) is not None


def key_store_kind(relpath: str, head: bytes) -> KeyStoreKind | None:
    """The kind of key store the file is, by its name and its first bytes, if any."""
    name = _file_name(relpath)
    for kind in kinds():
        if any(fnmatch.fnmatchcase(name, n) for n in kind.names) and kind.matches_head(head):
            return kind
    return None
