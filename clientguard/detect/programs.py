"""Compiled rule patterns kept between runs, so a scan does not compile the same expressions every time.

Python compiles a regular expression in Python code: `re._parser` parses it and `re._compiler` turns the
tree into a program for the C matcher, which `_sre.compile` wraps as a pattern object. For the built-in
rules that costs 0.2 to 2 ms a pattern, and a scan of a real repository needs the 200 to 300 that get a
candidate (each in a str and a bytes form): 0.08 to 0.15 s, a quarter to a half of the scan of a
repository of a few megabytes, paid again on every run.

A program depends only on the pattern, its flags and the Python build. So when the rules cache is written
(once per exact rule files, see rules.load_rules), the programs of every built-in rule's patterns are
computed with the same two functions `re.compile` uses and kept beside it, in a file stamped with the
Python version and the matcher's magic number and with a CRC-32; later runs hand them straight to
`_sre.compile` (a few microseconds each). `_sre` checks a program only in part (a damaged one can crash
it), so a file is used whole and intact or not at all: written atomically, read only when its stamp and
checksum match. Anything unexpected (another Python, a damaged or missing file, a program the matcher
refuses) falls back to `re.compile`, which gives the same pattern object. Patterns not in the file (a client's identifiers, one's own rules) are compiled as usual
and never written.
"""

from __future__ import annotations

import marshal
import re
import struct
import sys
import threading
import zlib
from array import array
from collections.abc import Iterable
from pathlib import Path

try:  # CPython's own compiler pieces: present in every CPython 3.11+, absent elsewhere
    import _sre
    from re import _compiler, _parser

    _USABLE = _sre.CODESIZE == 4 and array("I").itemsize == 4 and callable(getattr(_compiler, "_code", None))
except (ImportError, AttributeError):  # pragma: no cover - not CPython
    _USABLE = False

#: Bumped when the layout of the file changes.
_FORMAT = 1
#: A file starts with this, then the CRC-32 of the rest and the size of the stamp, then the stamp and the programs.
_MAGIC = b"CGSRE\x00\x01\n"

Source = str | bytes
Program = tuple[int, bytes, int, dict[str, int]]


def _stamp() -> tuple[object, ...]:
    return (_FORMAT, sys.version, getattr(_sre, "MAGIC", None), getattr(_sre, "CODESIZE", None)) if _USABLE else ()


def program(source: Source, flags: int) -> Program:
    """What `re.compile(source, flags)` hands to `_sre.compile`: the final flags, the code (as 32-bit words),
    the number of groups and the group names (re.error for a pattern that does not compile)."""
    parsed = _parser.parse(source, flags)
    code = _compiler._code(parsed, flags)
    return (flags | parsed.state.flags, array("I", code).tobytes(), parsed.state.groups - 1,
            dict(parsed.state.groupdict))


def _pattern(source: Source, kept: Program) -> re.Pattern:
    """The pattern object of a kept program, made as `re.compile` makes it (errors as `_sre` raises them)."""
    final, code, groups, groupindex = kept
    indexgroup: list[str | None] = [None] * (groups + 1)
    for name, index in groupindex.items():
        indexgroup[index] = name
    return _sre.compile(source, final, array("I", code).tolist(), groups, dict(groupindex), tuple(indexgroup))


def dump(sources: Iterable[tuple[Source, int]]) -> bytes | None:
    """The file for these patterns (None when this Python cannot use one); a pattern that does not compile is
    left out (it is reported where it is compiled)."""
    if not _USABLE:
        return None
    entries: dict[tuple[Source, int], Program] = {}
    for source, flags in sources:
        key = (source, int(flags))
        if key in entries:
            continue
        try:
            entries[key] = program(source, int(flags))
        except (re.error, OverflowError, RecursionError, ValueError, TypeError):
            continue
    stamp = marshal.dumps(_stamp())
    body = stamp + marshal.dumps(entries)
    return _MAGIC + struct.pack("<II", zlib.crc32(body), len(stamp)) + body


_CHECK = (r"(?i)(?P<name>ab+c)[ \t]*=[ \t]*(?P<value>\w{2,4})", b"x(?P<n>[0-9]{2})y")


def _agrees() -> bool:
    """Whether a program handed to `_sre.compile` as done here gives what `re.compile` gives, on this Python
    (asked once, before the first file is used: the call is CPython's own, not a public interface)."""
    try:
        for source in _CHECK:
            made, want = _pattern(source, program(source, 0)), re.compile(source)
            subject = "ABBC = xy12 abc=q" if isinstance(source, str) else b"x12y x3y x45y"
            if (made.pattern, made.flags, made.groups, dict(made.groupindex)) != \
                    (want.pattern, want.flags, want.groups, dict(want.groupindex)) or \
                    [(m.span(), m.groups()) for m in made.finditer(subject)] != \
                    [(m.span(), m.groups()) for m in want.finditer(subject)]:
                return False
        return True
    except Exception:  # noqa: BLE001 - any surprise: do without
        return False


class Programs:
    """The programs of one file (read on first use), and `compile` that uses them."""

    def __init__(self, path: Path | None = None, data: bytes | None = None):
        self._path = path
        self._data = data
        self._entries: dict[tuple[Source, int], Program] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[tuple[Source, int], Program]:
        entries = self._entries
        if entries is not None:
            return entries
        with self._lock:
            if self._entries is None:
                self._entries = {}
                try:
                    raw = self._data if self._data is not None else (
                        self._path.read_bytes() if self._path is not None else None)
                    if raw is not None and _USABLE and raw[:len(_MAGIC)] == _MAGIC and _agrees():
                        # The matcher does not check a program fully: a damaged one could crash it, so the
                        # programs are only taken whole and intact.
                        crc, stamp_size = struct.unpack_from("<II", raw, len(_MAGIC))
                        body = memoryview(raw)[len(_MAGIC) + 8:]
                        if zlib.crc32(body) == crc and marshal.loads(body[:stamp_size]) == _stamp():
                            found = marshal.loads(body[stamp_size:])
                            if isinstance(found, dict):
                                self._entries = found
                except (OSError, EOFError, ValueError, TypeError, AttributeError, struct.error):
                    pass  # no file, or not one this Python wrote: compile as usual
                self._data = None
            return self._entries

    def __len__(self) -> int:
        return len(self._load())

    def compile(self, source: Source, flags: int) -> re.Pattern:
        """`re.compile(source, flags)`, from the kept program when there is one."""
        entry = self._load().get((source, int(flags)))
        if entry is not None:
            try:
                return _pattern(source, entry)
            except (TypeError, ValueError, RuntimeError, OverflowError, IndexError):
                pass  # a program this matcher refuses: compile it
        return re.compile(source, flags)


#: The programs of the built-in rules in use (set by rules.load_rules from the rules cache).
_current = Programs()


def use(programs: Programs) -> None:
    global _current
    _current = programs


def compile_pattern(source: Source, flags: int) -> re.Pattern:
    return _current.compile(source, flags)
