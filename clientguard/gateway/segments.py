"""The redaction core shared by every API adapter: find the text a request carries, replace findings.

A request body is walked as JSON; every string value is a segment, except values that are not text
for the model (ids, model names, tool names, types, roles) and opaque data that must pass through
byte-identical (encrypted reasoning, thinking blocks and their signatures, base64 images, PDFs and other
files that are not text). A file of a text media type attached as base64 is decoded and inspected like
any string, and encoded again if something in it was replaced.
Unknown item and block types are walked like any other, so their strings are inspected too.
Strings that hold a JSON document (tool-call ``arguments``) are parsed and their strings become
segments of their own; the document is re-encoded only if something in it was replaced.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from clientguard.redact import PLACEHOLDER_RE, Vault

#: Keys whose string values are never text for the model (and must stay stable for the APIs).
SKIP_KEYS = frozenset({
    "model", "id", "call_id", "tool_call_id", "tool_use_id", "item_id", "type", "role", "status",
    "encrypted_content", "signature", "prompt_cache_key", "previous_response_id", "media_type",
    "object", "tool_choice", "service_tier", "truncation", "effort", "verbosity", "detail", "format_type",
})
#: Item / block types that are opaque or signed: passed through untouched in both directions.
OPAQUE_TYPES = frozenset({"reasoning", "thinking", "redacted_thinking"})
#: Keys holding a JSON document as a string (function-call arguments).
JSON_STRING_KEYS = frozenset({"arguments"})
#: Keys whose values name files an agent read or wrote (recorded in the ledger, never redacted for that).
FILE_KEYS = frozenset({"file_path", "path", "filename", "notebook_path"})
_MAX_FILES = 200
#: Keys whose values are shell commands (Claude Code's Bash `command`, Codex's shell `command` list): the words
#: of a command may name a file whose content the request carries (`cat ~/.pgpass`).
COMMAND_KEYS = frozenset({"command", "cmd"})
_WORD = re.compile(r"[^\s'\"`|;&<>()]+")
#: Media types of files attached as base64 whose content is text: decoded, inspected like any segment and
#: encoded again when something in them was replaced. Other files (PDFs, images, archives) stay opaque.
_TEXT_MEDIA = re.compile(r"text/[\w.+-]+|application/(?:json|xml|x-yaml|yaml|toml|sql|csv|javascript|x-sh|"
                         r"x-python|x-ndjson|ld\+json|[\w.-]+\+(?:json|xml))", re.IGNORECASE)
#: Larger attachments than this are left opaque rather than decoded (the request's own size limit applies).
_MAX_ATTACHED_TEXT = 8 << 20
#: Byte order marks an attached text file may open with, and the encoding each one names.
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _attached_text(data: str) -> tuple[str, Callable[[str], bytes]] | None:
    """The text of a base64 attachment (of a text media type) and how to encode it back to its own encoding,
    or None (not base64, or too large).

    UTF-8, or what a byte order mark names; UTF-16 without one (every other byte a NUL, which is valid UTF-8
    too, where no address or key would be found); else the code page charset-normalizer finds (Excel writes
    CSV exports in Windows-1252); else Latin-1, which reads any bytes back unchanged, so a file the detector
    cannot place is still searched for what is ASCII in it (addresses, keys, most names)."""
    if len(data) > _MAX_ATTACHED_TEXT:
        return None
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    bom, codec = next(((b, c) for b, c in _BOMS if raw.startswith(b)), (b"", "utf-8"))
    body = raw[len(bom):]
    if not bom and b"\x00" in body[:8192]:
        from clientguard.detect.scanner import utf16_by_nuls

        codec = utf16_by_nuls(body) or codec
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        if bom:
            return None
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
        codec = best.encoding if best is not None else "latin-1"
        try:
            text = body.decode(codec)
            if text.encode(codec) != body:
                raise ValueError
        except (UnicodeError, LookupError, ValueError):
            codec = "latin-1"
            text = body.decode(codec)
    return text, lambda new: bom + new.encode(codec, errors="strict")


def _base64_of(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class _JsonDoc:
    container: Any
    key: Any
    parsed: Any
    first_slot: int
    end_slot: int = 0


@dataclass
class Segments:
    """Every text segment of a request, with where to write its redacted form back."""

    slots: list[tuple[Any, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    docs: list[_JsonDoc] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: Words of shell commands in tool calls (paths among them), for the rules of files that save credentials.
    command_words: list[str] = field(default_factory=list)

    #: Segments whose redacted text is written back encoded (a base64 attachment): slot index -> encoder.
    encoders: dict[int, Callable[[str], str]] = field(default_factory=dict)

    def add(self, container: Any, key: Any, text: str) -> None:
        self.slots.append((container, key))
        self.texts.append(text)

    def add_attachment(self, container: Any, key: Any, value: str, media_type: object = None) -> bool:
        """A base64 attachment (``data`` next to ``media_type``, or a ``data:`` URL): its text becomes a segment
        when it is text; False (left opaque) otherwise."""
        prefix = ""
        if media_type is None:  # data:MEDIA;base64,PAYLOAD
            comma = value.find(",", 0, 201)
            if comma < 0 or not value.startswith("data:") or not value.endswith(";base64", 0, comma):
                return False
            prefix, media_type = value[:comma + 1], value[5:comma].split(";", 1)[0]
        # The media type first: an image's megabytes are not even copied.
        if not isinstance(media_type, str) or not _TEXT_MEDIA.fullmatch(media_type.strip()):
            return False
        attached = _attached_text(value[len(prefix):] if prefix else value)
        if attached is None:
            return False
        text, encode = attached
        self.encoders[len(self.slots)] = lambda new: prefix + _base64_of(encode(new))
        self.add(container, key, text)
        return True


def _walk(node: Any, segs: Segments) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        # "type" can be a JSON Schema property (a dict) inside tool parameters, so check it is a string.
        if isinstance(kind, str) and kind in OPAQUE_TYPES:
            return
        # A chat participant's "name" is text; a tool's or function's name must stay as the agent defined it.
        has_role = node.get("role") not in (None, "tool", "function")
        is_base64 = node.get("type") == "base64"
        for key, value in node.items():
            if isinstance(value, str):
                if not value or key in SKIP_KEYS or (key == "name" and not has_role):
                    continue
                if is_base64 and key == "data":
                    segs.add_attachment(node, key, value, node.get("media_type") or "")
                    continue
                if value.startswith("data:") and ";base64," in value[:200]:
                    segs.add_attachment(node, key, value)
                    continue
                if key in FILE_KEYS and len(segs.files) < _MAX_FILES and len(value) <= 1024:
                    segs.files.append(value)
                if key in COMMAND_KEYS and len(segs.command_words) < _MAX_FILES:
                    segs.command_words.extend(_WORD.findall(value[:4096])[:_MAX_FILES])
                if key in JSON_STRING_KEYS and value[:1] in ("{", "["):
                    try:
                        parsed = json.loads(value)
                    except ValueError:
                        parsed = None
                    if isinstance(parsed, (dict, list)):
                        doc = _JsonDoc(node, key, parsed, len(segs.slots))
                        holder = [parsed]
                        _walk(holder, segs)
                        doc.parsed = holder
                        doc.end_slot = len(segs.slots)
                        segs.docs.append(doc)
                        continue
                segs.add(node, key, value)
            elif isinstance(value, (dict, list)):
                if key in COMMAND_KEYS and isinstance(value, list) and len(segs.command_words) < _MAX_FILES:
                    segs.command_words.extend(w for part in value[:64] if isinstance(part, str)
                                              for w in _WORD.findall(part[:4096])[:_MAX_FILES])
                _walk(value, segs)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str):
                if value.startswith("data:") and ";base64," in value[:200]:
                    segs.add_attachment(node, i, value)
                elif value:
                    segs.add(node, i, value)
            elif isinstance(value, (dict, list)):
                _walk(value, segs)


def collect(body: Any) -> Segments:
    """All text segments of a parsed request body."""
    segs = Segments()
    _walk(body, segs)
    return segs


@dataclass
class Redaction:
    """What one request's redaction did: counts per (rule, kind, label, fingerprint)."""

    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_records(self) -> list[dict]:
        """Ledger form: rule_id, kind, label, fingerprint, count. Never the value."""
        return [
            {"rule_id": rule, "kind": kind, "label": label, "fingerprint": fp, "count": n}
            for (rule, kind, label, fp), n in sorted(self.counts.items())
        ]

    def by_kind(self) -> Counter:
        out: Counter = Counter()
        for (_rule, kind, _label, _fp), n in self.counts.items():
            out[kind] += n
        return out

    def by_rule(self) -> Counter:
        out: Counter = Counter()
        for (rule, _kind, _label, _fp), n in self.counts.items():
            out[rule] += n
        return out


def redact_text(text: str, findings: Iterable[Any], vault: Vault, select, summary: Redaction,
                remember: Callable[[str, Any], None] | None = None) -> str:
    """Replace each selected finding in `text` by its vault placeholder (`remember` sees each value)."""
    chosen = select(findings)
    if not chosen:
        return text
    out: list[str] = []
    pos = 0
    for f in chosen:
        if f.start < pos:
            continue
        value = text[f.start:f.end]
        if not value or PLACEHOLDER_RE.fullmatch(value):
            continue  # already a placeholder: redaction is idempotent
        out.append(text[pos:f.start])
        out.append(vault.placeholder(f.label, value))
        if remember is not None:
            remember(value, f)
        summary.counts[(f.rule_id, f.kind, f.label, f.fingerprint)] += 1
        pos = f.end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def apply(segs: Segments, findings: Sequence[Sequence[Any]], vault: Vault, select, summary: Redaction,
          remember: Callable[[str, Any], None] | None = None) -> bool:
    """Write redacted segments back into the body; re-encode JSON documents that changed."""
    changed_slots: set[int] = set()
    for i, fs in enumerate(findings):
        if not fs:
            continue
        new = redact_text(segs.texts[i], fs, vault, select, summary, remember)
        if new != segs.texts[i]:
            container, key = segs.slots[i]
            encode = segs.encoders.get(i)
            container[key] = new if encode is None else encode(new)
            changed_slots.add(i)
    if not changed_slots:
        return False
    # Innermost documents were registered last; re-encode them first.
    for doc in reversed(segs.docs):
        if any(doc.first_slot <= i < doc.end_slot for i in changed_slots):
            doc.container[doc.key] = json.dumps(doc.parsed[0], ensure_ascii=False, separators=(",", ":"))
    return True


#: Tools whose call makes the agent fetch a URL from this machine (Claude Code's WebFetch, MCP fetch
#: servers), by the last part of their name. A model can be talked into putting a value into such a URL
#: (a prompt injection in a file it read): the placeholder, restored, would carry the original to any
#: host. In their arguments only the client's identifiers are restored (its own domains, say); secrets
#: and personal data stay placeholders.
FETCH_TOOLS = frozenset({"webfetch", "web_fetch", "fetch", "fetch_url", "url_fetch", "fetch_webpage",
                         "http_get", "http_request"})
#: What a fetch tool's arguments get restored: the placeholders of client identifiers only.
FETCH_TOOL_RESTORES = "CG_CLIENT_"


def is_fetch_tool(name: object) -> bool:
    """Whether a tool of this name fetches URLs (``WebFetch``, ``mcp__fetch__fetch``, ``fetch.fetch_url``)."""
    if not isinstance(name, str) or not name:
        return False
    last = name.replace(".", "__").replace("/", "__").rsplit("__", 1)[-1].lower()
    return last in FETCH_TOOLS


def restore_only_for(tool_name: object) -> str | None:
    """The `only` argument of Vault.restore for a tool call's arguments: None restores everything."""
    return FETCH_TOOL_RESTORES if is_fetch_tool(tool_name) else None


def restore_json(node: Any, vault: Vault, only: str | None = None) -> bool:
    """Restore known placeholders in every string of a response object; True if anything changed.

    Opaque items (reasoning, thinking) are left byte-identical; ``arguments`` and ``partial_json``
    strings are JSON documents, so their restored values are JSON-escaped. A call of a fetch tool (a
    dict naming one, with ``input`` or ``arguments``) gets only the client's identifiers restored.
    """
    changed = False
    if isinstance(node, dict):
        kind = node.get("type")
        # "type" can be a JSON Schema property (a dict) inside tool parameters, so check it is a string.
        if isinstance(kind, str) and kind in OPAQUE_TYPES:
            return False
        if only is None and ("input" in node or "arguments" in node):
            only = restore_only_for(node.get("name"))
        for key, value in node.items():
            if isinstance(value, str):
                if "CG_" in value and key not in ("encrypted_content", "signature"):
                    new = vault.restore(value, json_escape=key in ("arguments", "partial_json"), only=only)
                    if new != value:
                        node[key] = new
                        changed = True
            elif isinstance(value, (dict, list)):
                changed = restore_json(value, vault, only) or changed
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str):
                if "CG_" in value:
                    new = vault.restore(value, only=only)
                    if new != value:
                        node[i] = new
                        changed = True
            elif isinstance(value, (dict, list)):
                changed = restore_json(value, vault, only) or changed
    return changed
