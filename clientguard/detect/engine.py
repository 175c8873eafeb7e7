"""The detection engine: one multi-pattern pass over text, Python validation only on candidate hits.

Two engines give identical findings:
- ``hyperscan``: every rule compiled into one hyperscan database (as a prefilter expression: a cheap
  superset of where the rule's matches lie) that reports where candidate matches end; the rule's Python
  regex then runs only on the lines around those ends;
- ``python``: each rule's regex over the whole text (used when hyperscan cannot be imported).
A finding's reported span is the rule's ``secret`` group when it has one, else the whole match.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Iterable, Literal, Sequence

try:  # re._parser is the 3.11+ home of sre_parse
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

from pathlib import Path

from clientguard.datadir import data_dir, prune, touch, write_cache_file
from clientguard.detect.fingerprint import fingerprint, load_or_create_key
from clientguard.detect.model import SEVERITY_RANK, Finding, Rule
from clientguard.detect.programs import compile_pattern
from clientguard.detect.rules import (
    ENDS_EXACTLY, HS_EXPRESSIONS, MATCHING, PY_FLAGS, SHAPES, builtin_rules, rule_flags,
)
from clientguard.detect.validators import VALIDATORS, shannon_entropy
from clientguard.detect.validators_secrets import key_rules_out

try:
    import hyperscan  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - exercised by the python-engine tests
    hyperscan = None

EngineName = Literal["auto", "hyperscan", "python"]
INLINE_ALLOW = "clientguard:allow"
#: The comments that silence the line they are on: clientguard's own, and those of the scanners a client's
#: repository may already use for the lines it has reviewed (detect-secrets' and ripsecrets' pragma in its
#: spellings, gitleaks', TruffleHog's). detect-secrets' "nextline" pragma silences the line after it.
_ALLOW_MARK = re.escape(INLINE_ALLOW) + r"|gitleaks:allow|trufflehog:ignore|pragma: ?(?:allow|white)list[ -]secret"
_ALLOW_NEXT = r"pragma: ?(?:allow|white)list[ -]nextline[ -]secret"
_ALLOW_RES = {str: (re.compile(_ALLOW_MARK), re.compile(_ALLOW_NEXT)),
              bytes: (re.compile(_ALLOW_MARK.encode()), re.compile(_ALLOW_NEXT.encode()))}
#: Cheap literals one of which every marker holds: a text without any is not searched line by line.
_ALLOW_HINTS = {str: (INLINE_ALLOW, "gitleaks:allow", "trufflehog:ignore", "list secret", "list-secret",
                      "nextline"),
                bytes: (INLINE_ALLOW.encode(), b"gitleaks:allow", b"trufflehog:ignore", b"list secret", b"list-secret",
                        b"nextline")}
#: Joins segments in scan_many; no rule matches across it (NUL is never part of a match we report).
SEGMENT_SEPARATOR = "\n\x00\n"
_SEPARATOR_BYTES = SEGMENT_SEPARATOR.encode()
KIND_RANK = {"secret": 2, "pii": 1, "identifier": 0}
IDENTIFIER_RULE_ID = "client-identifier"


def hyperscan_available() -> bool:
    return hyperscan is not None


#: What an identifier may not touch on either side: ASCII letters and digits, and the Latin, Greek and
#: Cyrillic letters beyond ASCII (Müller is no identifier inside Bäckermüller or Müllerß).
_LETTERS = "A-Za-z0-9À-ÖØ-öø-ɏͰ-ӿ"


def _any_case(word: str) -> str:
    """``word`` as a regex that matches it in any case. Rules are compiled with re.ASCII, whose IGNORECASE
    folds ASCII letters only, so each other letter gets its case forms spelled out (Müller: MÜLLER,
    müller; Straße: STRASSE). As alternations of whole characters, not classes: hyperscan reads the
    pattern as bytes, where a class of two-byte letters would stand for single bytes."""
    out = []
    for ch in word:
        if ch.isascii():
            out.append(re.escape(ch))
            continue
        forms = sorted({ch, ch.lower(), ch.upper(), ch.casefold(), ch.title()}, key=lambda f: (-len(f), f))
        out.append(re.escape(ch) if len(forms) == 1 else "(?:" + "|".join(re.escape(f) for f in forms) + ")")
    return "".join(out)


def identifier_rule(identifiers: Iterable[str]) -> Rule | None:
    """Build the rule matching the client's identifiers: case-insensitive, at word boundaries.

    Boundaries are letters and digits only, so an identifier is still found inside e-mail addresses,
    URLs, hostnames and snake_case names (``jane@acme-health.de``, ``acmehealth_billing``).
    """
    words = sorted({w.strip() for w in identifiers if w and w.strip()}, key=lambda w: (-len(w), w.lower()))
    if not words:
        return None
    alts = "|".join(r"\s+".join(_any_case(part) for part in w.split()) for w in words)
    pattern = rf"(?<![{_LETTERS}])(?:{alts})(?![{_LETTERS}])"
    return Rule(
        id=IDENTIFIER_RULE_ID, title="Client identifier", kind="identifier", severity="medium", pattern=pattern,
        keywords=(), entropy=None, validator=None, ignore_case=True, priority=0, label="CLIENT",
        max_length=max(len(w) for w in words) * 4 + 16, examples=(), counter_examples=(),
    )


class _Compiled:
    """A rule with what matching it needs, each part computed on first use: a rule that never gets a
    candidate from hyperscan (most of them, in most texts) is never compiled or analysed, which keeps
    the detector's start short (every `clientguard scan` pays it)."""

    __slots__ = ("rule", "label", "bkeywords", "rank", "_regex", "_width", "_newlines", "_literals",
                 "_ends_exactly")

    def __init__(self, rule: Rule):
        self.rule = rule
        self.label = rule.placeholder_label
        # How overlapping candidates are ranked, after the span's length (see Detector._kept).
        self.rank = (-SEVERITY_RANK[rule.severity], rule.id)
        self.bkeywords: tuple[bytes, ...] = tuple(k.encode("ascii") for k in rule.keywords if k.isascii())
        self._regex: re.Pattern[str] | None = None
        # Known from the rules cache for the built-in rules; worked out on first use for any other.
        self._width, self._newlines = SHAPES.get((rule.pattern, rule.ignore_case, rule.max_length), (-1, -1))
        self._literals: tuple[tuple[str, bool], ...] | None | object = _UNCOMPILED
        self._ends_exactly: bool | None = ENDS_EXACTLY.get((rule.pattern, rule.prefilter))

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = compile_pattern(_matching_pattern(self.rule), rule_flags(self.rule))
        return self._regex

    @property
    def width(self) -> int:
        """The longest match the rule reports."""
        if self._width < 0:
            self._width = _max_width(self.rule, self.regex)
        return self._width

    @property
    def newlines(self) -> int:
        """The most line breaks a match can hold (UNBOUNDED: no limit)."""
        if self._newlines < 0:
            self._newlines = _newline_bound(self.rule, self.regex)
        return self._newlines

    @property
    def ends_exactly(self) -> bool:
        """Whether every match of the pattern ends where its hyperscan expression ends (or one character
        before, where a neighbour was made consuming): true of an expression derived from the pattern,
        not of a rule's own `prefilter` or of one cut at a context separator (see _hs_expression)."""
        if self._ends_exactly is None:
            self._ends_exactly = _ends_exactly(self.rule)
        return self._ends_exactly

    @property
    def literals(self) -> tuple[tuple[str, bool], ...] | None:
        """Strings one of which every match holds, each with whether it is matched ignoring case (then
        lower-cased), or None when the pattern requires none (the pure-Python engine's prefilter)."""
        if self._literals is _UNCOMPILED:
            try:
                parsed = sre_parse.parse(self.rule.pattern, self.regex.flags)
                found = _required_literals(parsed, bool(self.regex.flags & re.IGNORECASE))
            except Exception:  # pragma: no cover - the pattern compiled already; no prefilter then
                found = None
            self._literals = tuple(sorted(found)) if found else None
        return self._literals  # type: ignore[return-value]


_NEWLINE = 10
_CATEGORIES_WITH_NEWLINE = {"CATEGORY_SPACE", "CATEGORY_NOT_DIGIT", "CATEGORY_NOT_WORD", "CATEGORY_NOT_LINEBREAK",
                            "CATEGORY_UNI_SPACE", "CATEGORY_UNI_NOT_DIGIT", "CATEGORY_UNI_NOT_WORD"}


def _set_has_newline(items) -> bool:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    hit = False
    for op, av in items:
        name = str(op)
        if name == "LITERAL" and av == _NEWLINE:
            hit = True
        elif name == "RANGE" and av[0] <= _NEWLINE <= av[1]:
            hit = True
        elif name == "CATEGORY" and str(av) in _CATEGORIES_WITH_NEWLINE:
            hit = True
    return hit != negate


#: A match may hold any number of line breaks.
UNBOUNDED = 1 << 30

_ASCII_SETS = {"CATEGORY_DIGIT": set(range(48, 58)), "CATEGORY_SPACE": {9, 10, 11, 12, 13, 32},
               "CATEGORY_WORD": set(range(48, 58)) | set(range(65, 91)) | set(range(97, 123)) | {95}}
_GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def _both_cases(chars: set[int]) -> set[int]:
    """The characters and the other case of each letter among them."""
    return chars | {ord(chr(c).swapcase()) for c in chars if chr(c).isalpha()}


def _first_chars(parsed) -> tuple[set[int] | None, bool]:
    """The characters a match of the parsed sequence can start with (None: too many to say), and whether it
    can match the empty string. Assertions consume nothing, so they are looked past."""
    out: set[int] = set()
    for op, av in parsed:
        name = str(op)
        nullable = False
        if name == "LITERAL":
            first: set[int] | None = {av}
        elif name == "IN":
            first = set()
            for iop, iav in av:
                iname = str(iop)
                if iname == "LITERAL":
                    first.add(iav)
                elif iname == "RANGE" and iav[1] - iav[0] <= 256:
                    first.update(range(iav[0], iav[1] + 1))
                elif iname == "CATEGORY" and str(iav) in _ASCII_SETS:
                    first |= _ASCII_SETS[str(iav)]
                else:
                    first = None  # a negated set, a wide range, another category
                    break
        elif name == "SUBPATTERN":
            first, nullable = _first_chars(av[-1])
            if first and av[1] & re.IGNORECASE:  # (?i:iban) starts with i or I
                first = _both_cases(first)
        elif name == "ATOMIC_GROUP":
            first, nullable = _first_chars(av)
        elif name == "BRANCH":
            first = set()
            for branch in av[1]:
                got, empty = _first_chars(branch)
                if got is None:
                    first = None
                    break
                first |= got
                nullable = nullable or empty
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            first, nullable = _first_chars(av[2])
            nullable = nullable or av[0] == 0
        elif name in ("ASSERT", "ASSERT_NOT", "AT"):
            first, nullable = set(), True
        else:
            first = None  # any character, a backreference, a conditional
        if first is None:
            return None, False
        out |= first
        if not nullable:
            return out, False
    return out, True


@lru_cache(maxsize=4096)
def _matching_pattern(rule: Rule) -> str:
    """The rule's pattern as Python runs it on a window: behind a lookahead of the characters a match can
    start with, when Python's `re` has no first character of its own to skip by (the pattern opens with a
    lookbehind, or ignores case). The lookahead changes no match; it spares `re` the pattern's alternatives
    and lookbehinds at every position where no match can start (on bench/scan.py's windows the generic
    unquoted-secret rule took 12.0 ms and takes 7.0, the rules that find a service by its name 5.6 -> 1.6 ms
    for `mite`, a word inside "limited")."""
    known = MATCHING.get((rule.pattern, rule.ignore_case))
    if known is not None:
        return known
    try:
        parsed = sre_parse.parse(rule.pattern, rule_flags(rule))
    except Exception:  # pragma: no cover - the pattern compiled already; keep it as it is
        return rule.pattern
    if not parsed.data:
        return rule.pattern
    opener = str(parsed.data[0][0])
    if not (rule.ignore_case or opener in ("ASSERT", "ASSERT_NOT", "AT")):
        return rule.pattern  # a literal or class first: `re` skips ahead by it already
    first, nullable = _first_chars(parsed.data)
    if nullable or not first or len(first) > 100 or max(first) > 127:
        return rule.pattern
    if rule.ignore_case:
        first = _both_cases(first)
    guard = "(?=[" + "".join(chr(c) if chr(c).isalnum() else f"\\x{c:02x}" for c in sorted(first)) + "])"
    flags_at_start = _GLOBAL_FLAGS.match(rule.pattern)  # global flags must stay first: (?x)...
    cut = flags_at_start.end() if flags_at_start else 0
    return rule.pattern[:cut] + guard + rule.pattern[cut:]


def _max_newlines(parsed, dotall: bool) -> int:
    """The most line breaks a match of a parsed pattern can consume (assertions only look)."""
    total = 0
    for op, av in parsed:
        name = str(op)
        if name == "LITERAL":
            n = 1 if av == _NEWLINE else 0
        elif name == "NOT_LITERAL":
            n = 1 if av != _NEWLINE else 0
        elif name == "ANY":
            n = 1 if dotall else 0
        elif name == "IN":
            n = 1 if _set_has_newline(av) else 0
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            inner = _max_newlines(av[2], dotall)
            n = 0 if inner == 0 else (UNBOUNDED if av[1] >= sre_parse.MAXREPEAT else inner * av[1])
        elif name == "SUBPATTERN":
            n = _max_newlines(av[-1], dotall)
        elif name == "BRANCH":
            n = max(_max_newlines(b, dotall) for b in av[1])
        elif name == "ATOMIC_GROUP":
            n = _max_newlines(av, dotall)
        elif name == "GROUPREF_EXISTS":
            n = max(_max_newlines(b, dotall) for b in av[1:] if b is not None)
        elif name == "GROUPREF":
            n = UNBOUNDED  # a backreference repeats text we cannot see: assume the worst
        else:
            n = 0  # anchors, assertions, boundaries
        total = min(UNBOUNDED, total + n)
    return total


def _required_literals(parsed, icase: bool) -> set[tuple[str, bool]] | None:
    """A set of literals one of which every match of the parsed sequence holds, as (text, ignoring case),
    choosing among the candidates the set whose shortest literal is longest; None when there is none.

    A run of literal characters is a candidate, and so is a group, an alternation whose every branch has
    one, or a repeat taken at least once. Assertions only look, so they end a run without adding to it.
    """
    candidates: list[set[tuple[str, bool]]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            candidates.append({("".join(run), icase)})
            run.clear()

    for op, av in parsed:
        name = str(op)
        if name == "LITERAL":
            ch = chr(av)
            run.append(ch.lower() if icase else ch)
            continue
        end_run()
        found: set[tuple[str, bool]] | None = None
        if name == "SUBPATTERN":
            sub = icase
            if av[1] & re.IGNORECASE:
                sub = True
            if av[2] & re.IGNORECASE:
                sub = False
            found = _required_literals(av[-1], sub)
        elif name == "BRANCH":
            branches = [_required_literals(b, icase) for b in av[1]]
            if all(branches):
                found = set().union(*branches)  # type: ignore[arg-type]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            found = _required_literals(av[2], icase)
        elif name == "ATOMIC_GROUP":
            found = _required_literals(av, icase)
        if found:
            candidates.append(found)
    end_run()
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(len(t) for t, _ in c), -len(c)))


def _newline_bound(rule: Rule, regex: re.Pattern[str]) -> int:
    try:
        parsed = sre_parse.parse(rule.pattern, regex.flags)
    except Exception:  # pragma: no cover - the pattern compiled already; be conservative
        return UNBOUNDED
    return _max_newlines(parsed, bool(regex.flags & re.DOTALL))


def _max_width(rule: Rule, regex: re.Pattern[str]) -> int:
    try:
        hi = sre_parse.parse(rule.pattern, regex.flags).getwidth()[1]
    except Exception:  # pragma: no cover - compile already succeeded; be conservative
        hi = rule.max_length
    return min(hi, rule.max_length)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_GROUP_NAME = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_UNCOMPILED = object()


def _bytes_regex(rule: Rule) -> re.Pattern[bytes] | None:
    """The rule's pattern compiled for bytes, matching exactly where the str regex matches on ASCII text.

    Rules are compiled with re.ASCII, so classes, boundaries and case folding only ever concern ASCII
    characters, as in a bytes pattern. A non-ASCII character in the pattern can never match in ASCII text
    (nor be the only thing a class lacks), so it becomes the byte 0x80, which ASCII text never holds
    either. Patterns the bytes compiler refuses (\\u escapes, say) keep only their str regex. Built from
    the rule alone: the str regex (0.3 ms a rule to compile) is never needed on an ASCII batch.
    """
    source = _bytes_source(rule)
    if source is None:
        return None
    try:
        bregex = compile_pattern(source, rule_flags(rule))
    except (re.error, ValueError):
        return None
    if set(bregex.groupindex) != set(_GROUP_NAME.findall(rule.pattern)):
        return None  # cannot happen for a faithful translation; never trust one that differs
    return bregex


def _bytes_source(rule: Rule) -> bytes | None:
    """The source of the rule's bytes regex (see _bytes_regex), or None when it has none."""
    if not PY_FLAGS & re.ASCII or re.search(r"\\[^\x00-\x7f]", rule.pattern):
        return None  # (an escaped non-ASCII character would turn into an escaped backslash)
    try:
        return _NON_ASCII.sub(lambda _m: "\\x80", _matching_pattern(rule)).encode("ascii")
    except UnicodeEncodeError:
        return None


def rule_sources(rule: Rule) -> list[tuple[str | bytes, int]]:
    """The patterns the engine compiles for a rule, with their flags (what programs.dump keeps)."""
    flags = rule_flags(rule)
    found: list[tuple[str | bytes, int]] = [(_matching_pattern(rule), flags)]
    source = _bytes_source(rule)
    if source is not None:
        found.append((source, flags))
    return found


def _compile(rule: Rule) -> _Compiled:
    return _Compiled(rule)


#: Counted repeats above this are loosened for hyperscan: large bounded repeats make its compile time and
#: memory explode (a PEM body of {64,4096} took minutes), while an open repeat is cheap. The Python regex
#: still decides, so a looser prefilter changes speed only, never findings.
HS_MAX_COUNTED_REPEAT = 32
_COUNTED = re.compile(r"(?<!\\)\{(\d+)(?:(,)(\d*))?\}")


def _loosen_repeat(m: re.Match[str]) -> str:
    lo = int(m.group(1))
    hi = (int(m.group(3)) if m.group(3) else None) if m.group(2) else lo
    if lo <= HS_MAX_COUNTED_REPEAT and (hi is None or hi <= HS_MAX_COUNTED_REPEAT):
        return m.group(0)
    return "{%d,}" % min(lo, HS_MAX_COUNTED_REPEAT)


def _group_end(p: str, i: int) -> int:
    """Index just past the group that opens at p[i] == '(' (escapes and character classes respected)."""
    depth = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(p, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(p)


def _class_end(p: str, i: int) -> int:
    """Index just past the character class that opens at p[i] == '['."""
    i += 1
    if i < len(p) and p[i] == "^":
        i += 1
    if i < len(p) and p[i] == "]":
        i += 1
    while i < len(p) and p[i] != "]":
        i += 2 if p[i] == "\\" else 1
    return i + 1


_LOOKAROUND = ("(?<!", "(?<=", "(?!", "(?=")
_OPTIONAL_QUANTIFIER = re.compile(r"(?:\*|\?|\{0,\d*\})[?+]?")


def _drop_lookarounds(p: str) -> str:
    out, i = [], 0
    while i < len(p):
        if p.startswith(_LOOKAROUND, i):
            i = _group_end(p, i)
            continue
        if p[i] == "\\":
            out.append(p[i:i + 2])
            i += 2
            continue
        if p[i] == "[":
            j = _class_end(p, i)
            out.append(p[i:j])
            i = j
            continue
        out.append(p[i])
        i += 1
    return "".join(out)


def _atom_end(p: str, i: int) -> int:
    if p[i] == "\\":
        return i + 2
    if p[i] == "[":
        return _class_end(p, i)
    if p[i] == "(":
        return _group_end(p, i)
    return i + 1


def _has_top_level_alternation(p: str) -> bool:
    i = 0
    while i < len(p):
        if p[i] == "|":
            return True
        i = _atom_end(p, i)
    return False


def _drop_optional_prefix(p: str) -> str:
    """Drop leading atoms that may repeat zero times: the pattern then ends wherever it ended before."""
    if _has_top_level_alternation(p):
        return p
    while p:
        end = _atom_end(p, 0)
        q = _OPTIONAL_QUANTIFIER.match(p, end)
        if q is None or q.end() >= len(p):
            break
        p = p[q.end():]
    return p


def _single_atom_negation(inner: str) -> str | None:
    """`[^...]` for a lookaround body that is one character class, escape or character; else None."""
    if inner.startswith("[") and not inner.startswith("[^") and _class_end(inner, 0) == len(inner):
        return "[^" + inner[1:]
    if (len(inner) == 2 and inner[0] == "\\") or (len(inner) == 1 and inner not in "()[]|.^$*+?{}"):
        return f"[^{inner}]"
    return None


def _consume_edge_assertions(p: str) -> str:
    """Turn a leading `(?<!C)` into `(?:^|[^C])` and a trailing `(?!C)` into `(?:$|[^C])` for a single
    character class C: the same ends as before, but hyperscan can use the neighbour to skip candidates
    (digits inside floats, say) instead of dropping the assertion."""
    if p.startswith("(?<!"):
        j = _group_end(p, 0)
        neg = _single_atom_negation(p[4:j - 1])
        if neg is not None:
            p = f"(?:^|{neg})" + p[j:]
    if p.endswith(")"):
        k = p.rfind("(?!")
        if k > 0 and _group_end(p, k) == len(p):
            neg = _single_atom_negation(p[k + 3:-1])
            if neg is not None:
                p = p[:k] + f"(?:$|{neg})"
    return p


def _alternatives(group: str) -> list[str]:
    """The top-level alternatives inside a `(?:...)` group's text."""
    inner, out, start, i = group[3:-1], [], 0, 0
    while i < len(inner):
        if inner[i] == "|":
            out.append(inner[start:i])
            start = i + 1
            i += 1
            continue
        i = _atom_end(inner, i)
    out.append(inner[start:])
    return out


def _consuming_context(alt: str) -> str | None:
    """An alternative with its lookbehinds dropped and its positive lookaheads of one character made consuming
    (`(?<=[ \t])(?=["'])` -> `["']`); None when a lookahead is longer than one character or could be a line
    break."""
    out, i = [], 0
    while i < len(alt):
        if alt.startswith(_LOOKAROUND, i):
            j = _group_end(alt, i)
            if alt.startswith("(?=", i):
                body = alt[i + 3:j - 1]
                try:
                    one_line = _max_newlines(sre_parse.parse(body), False) == 0
                except Exception:  # pragma: no cover - it was part of a pattern that compiled
                    one_line = False
                if _single_atom_negation(body) is None or not one_line:
                    return None
                out.append(body)
            i = j  # a lookbehind, or a negative lookahead: dropped, as everywhere else
            continue
        j = _atom_end(alt, i)
        out.append(alt[i:j])
        i = j
    return "".join(out)


def _end_at_context_separator(p: str) -> str:
    """Cut a pattern after a top-level separator group that has an alternative made of lookarounds only, e.g.
    `name...(?:=|:|(?<=[ \t])(?=["']))value`, its lookaheads made consuming.

    Dropped, such an alternative would be empty: the separator optional, and with a long value class the
    prefilter would end at every byte of a run of letters and digits after the name. Ending at the separator
    is enough for the windows (the value follows on the same line when the rest cannot hold a line break),
    and a lookahead's one character, consumed, moves the end by at most that character on the same line.
    Patterns whose part before the group requires no literal, or whose rest can span lines, are left as they are.
    """
    i = 0
    while i < len(p):
        end = _atom_end(p, i)
        atom = p[i:end]
        if atom.startswith("(?:") and end < len(p) and p[end] not in "*?{+":
            alts = _alternatives(atom)
            if any(_drop_lookarounds(a) == "" and a for a in alts) and any(_drop_lookarounds(a) for a in alts):
                made = [_consuming_context(a) for a in alts]
                if all(m for m in made) and _cut_is_safe(p[:i], p[end:]):
                    return p[:i] + "(?:" + "|".join(made) + ")"  # type: ignore[arg-type]
        i = end
    return p


def _cut_is_safe(before: str, rest: str) -> bool:
    """Whether a prefilter may end where `rest` begins: what precedes holds a literal of three characters or
    more (so it does not fire everywhere), and `rest` cannot hold a line break (so the window holds the match)."""
    try:
        head = _required_literals(sre_parse.parse(_drop_lookarounds(before), re.IGNORECASE), True)
        tail = _max_newlines(sre_parse.parse(rest), False)
    except Exception:  # an unbalanced fragment: keep the pattern whole
        return False
    return bool(head) and min(len(t) for t, _ in head) >= 3 and tail == 0


#: An expression that ends in an open run of one character class ([...]{n,}), perhaps then an optional group.
_TRAILING_RUN = re.compile(r"(\[(?!\^)(?:\\.|[^\]\\])+\])\{\d+,\}(\(\?:(?:\\.|[^()\\])*\)\?)?$")


def _end_at_run_end(expr: str) -> str:
    """Let an expression that ends in an open run of a character class (a PEM body, `[A-Za-z0-9+/=\\s]{32,}`,
    then an optional END line) end only where the run does: at the first character outside the class, or at
    the end of the data. Hyperscan reports every end a pattern can have, so the open run alone gave one
    candidate per byte of every private key (780,000 of the 1.7 million candidates on 156 repositories); the
    greedy Python pattern ends only at the run's end or after the optional group, both still ends here. Only
    a run the pattern leaves open is treated so (before large counts are loosened): a bounded one can end
    inside a longer run."""
    m = _TRAILING_RUN.search(expr)
    if m is None:
        return expr
    cls, optional = m.group(1), m.group(2)
    run_end = m.start(2) if optional else len(expr)  # just after the {n,}
    ends = ([optional[3:-2]] if optional else []) + ["[^" + cls[1:], "\\z"]
    return expr[:run_end] + "(?:" + "|".join(ends) + ")"


#: How the rules that find a service by its name open: the name starts a word, or a camelCase part.
_NAME_BOUNDARY = "(?-i:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))(?:"


def _name_at_its_boundary(expr: str) -> str:
    """Keep a service name's word boundary in the hyperscan form, which has no lookarounds: `(?-i:(?<![A-Za-z])
    |(?<=[a-z])(?=[A-Z]))(?:mite|...)` becomes "not after a letter, then the name", or "after a lower-case
    letter, the name starting with its capital" (`(?-i:[a-z]M)(?:ite)`). Dropped, the boundary let names
    fire inside words ("limited", "changeCount"): 47,000 candidates without a match on a third of 156
    repositories. Left as it was when an alternative does not start with a letter."""
    if not expr.startswith(_NAME_BOUNDARY):
        return expr
    group_start = len(_NAME_BOUNDARY) - 3
    end = _group_end(expr, group_start)
    alts = _alternatives(expr[group_start:end])
    if not alts or not all(a[:1].isascii() and a[:1].isalpha() and a[1:2] not in ("?", "*", "{", "+") for a in alts):
        return expr
    names = "|".join(alts)
    camel = "|".join(f"(?-i:{a[0].upper()})" + (f"(?:{a[1:]})" if a[1:] else "") for a in alts)
    return f"(?:(?:^|[^A-Za-z])(?:{names})|(?-i:[a-z])(?:{camel}))" + expr[end:]


def _unnamed_groups(pattern: str) -> str:
    """The pattern with its named groups made plain (hyperscan spells them the PCRE way, if at all)."""
    return _GROUP_NAME.sub("(", pattern)


def _hs_expression(rule: Rule) -> bytes:
    """The rule's pattern as a hyperscan prefilter: it must end wherever the Python pattern can end.

    Dropping zero-width assertions and leading optional atoms, and loosening large counted repeats, only
    adds candidate ends, and lets hyperscan run most patterns exactly and fast; Python decides after.
    """
    key = (rule.pattern, rule.prefilter)
    known = HS_EXPRESSIONS.get(key)
    if known is not None:
        return known
    if rule.prefilter:
        out = _COUNTED.sub(_loosen_repeat, rule.prefilter).encode("utf-8")
    else:
        expr = _end_at_context_separator(_unnamed_groups(rule.pattern))
        expr = _name_at_its_boundary(expr)
        expr = _consume_edge_assertions(expr)
        expr = _drop_lookarounds(expr)
        expr = _drop_optional_prefix(expr)
        out = _COUNTED.sub(_loosen_repeat, _end_at_run_end(expr)).encode("utf-8")
    HS_EXPRESSIONS[key] = out
    return out


def _ends_exactly(rule: Rule) -> bool:
    """See _Compiled.ends_exactly. Every other step of the derivation keeps each end of the pattern's
    matches an end of the expression: dropped lookarounds and optional prefixes, loosened counts, and
    a run that ends where it does."""
    if rule.prefilter:
        return False
    expr = _unnamed_groups(rule.pattern)
    return _end_at_context_separator(expr) == expr


def _hs_compile(exprs: list[bytes], flags: list[int]):
    db = hyperscan.Database()
    db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
    return db


def _exact_or_prefilter(expr: bytes, caseless: bool) -> int:
    """Flags for one expression: exact where hyperscan supports it, else prefilter mode (a superset)."""
    flags = hyperscan.HS_FLAG_CASELESS if caseless else 0
    try:
        _hs_compile([expr], [flags])
    except hyperscan.error:
        flags |= hyperscan.HS_FLAG_PREFILTER
    return flags


_TLS = threading.local()


def _hs_scan(db, data: bytes, handler) -> None:
    """Scan with this thread's own scratch space: hyperscan scratch must never be shared between threads."""
    per_thread = getattr(_TLS, "scratch", None)
    if per_thread is None:
        per_thread = _TLS.scratch = {}
    entry = per_thread.get(id(db))
    if entry is None or entry[0] is not db:
        entry = per_thread[id(db)] = (db, hyperscan.Scratch(db))
    db.scan(data, match_event_handler=handler, scratch=entry[1])


def _ends_of(db, groups: tuple[tuple[int, ...], ...], data: bytes) -> dict[tuple[int, ...], list[int]]:
    """Candidate match ends per group of rules, from one pass of one database over ``data``."""
    ends: dict[tuple[int, ...], list[int]] = {}

    def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
        group = groups[pid]
        got = ends.get(group)
        if got is None:
            ends[group] = [to]
        else:
            got.append(to)

    _hs_scan(db, data, on_match)
    return ends


#: Below this many bytes a text's passes run one after the other: handing one to a thread costs tens of
#: microseconds, what the pass itself costs on about 16 KB.
PARALLEL_PASS_MIN_BYTES = 32 * 1024
_POOL_LOCK = threading.Lock()
_POOL: list[ThreadPoolExecutor] = []


def _pass_pool() -> ThreadPoolExecutor:
    """The two threads that scan long texts' other databases (started on first use; a detector has three
    databases at most, so one text never waits for a thread)."""
    if not _POOL:
        with _POOL_LOCK:
            if not _POOL:
                _POOL.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="clientguard-hyperscan"))
    return _POOL[0]


#: Compiled databases kept in the cache: one per rule set in use (the built-in rules make two; files of
#: rules of one's own, more). Databases with client identifiers are never written (see _hs_database).
HS_CACHE_KEEP = 16
#: The compiled databases' files in the data directory's cache (never one with a client's identifiers).
HS_CACHE_GLOB = "hyperscan-*.db"


def _flags(caseless: tuple[bool, ...]) -> list[int]:
    return [hyperscan.HS_FLAG_CASELESS if ci else 0 for ci in caseless]


def _cache_path(exprs: tuple[bytes, ...], flags: list[int]) -> Path:
    digest = hashlib.sha256(repr((hyperscan.__version__, exprs, flags)).encode()).hexdigest()[:32]
    return data_dir() / "cache" / f"hyperscan-{digest}.db"


@lru_cache(maxsize=16)
def _hs_database(exprs: tuple[bytes, ...], caseless: tuple[bool, ...], persist: bool = True):
    """One all-matches database of every rule, compiled once per rule set and, with ``persist``, cached on
    disk (compiling the secrets database takes about 6.5 s with the built-in rules, loading it a few
    milliseconds). Each rule's expression is cheap enough that the candidate ends it reports stay few (rules
    can name a `prefilter` where their pattern is not).

    A database holding a client's identifiers is compiled in memory only (about 0.1 s): a compiled
    database keeps its literals readable, and the client's names have no business in a cache file.
    """
    flags = _flags(caseless)
    cache = _cache_path(exprs, flags) if persist else None
    if cache is not None:
        try:
            db = hyperscan.loadb(cache.read_bytes(), hyperscan.HS_MODE_BLOCK)
            touch(cache)
            return db
        except Exception:  # no cache yet, or one from another build: compile
            pass
    try:
        db = _hs_compile(list(exprs), flags)
    except hyperscan.error:
        # Some pattern needs prefilter mode: find which, one by one (rare; the rule tests keep it so).
        flags = [_exact_or_prefilter(e, ci) for e, ci in zip(exprs, caseless)]
        db = _hs_compile(list(exprs), flags)
    if cache is None:
        return db
    try:
        write_cache_file(cache, hyperscan.dumpb(db))
        prune(cache.parent, HS_CACHE_GLOB, HS_CACHE_KEEP)
    except OSError:
        pass  # a read-only data directory only costs the compile next time
    return db


#: Databases being compiled in the background (see prepare_databases), by _hs_database's arguments.
_IN_FLIGHT: dict[tuple, Future] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def _database_plan(rules: Sequence[Rule], identifiers_apart: bool):
    """The hyperscan databases a detector of ``rules`` scans with: for each, its rules' indices grouped by shared
    expression, the expressions with their caselessness, and whether it holds a client's identifiers."""
    kinds = [[i for i, r in enumerate(rules) if (r.database or r.kind) in group]
             for group in ((("secret",), ("pii",), ("identifier",)) if identifiers_apart
                           else (("secret",), ("pii", "identifier")))]
    plan = []
    for members in kinds:
        by_expr: dict[tuple[bytes, bool], list[int]] = {}
        for i in members:
            by_expr.setdefault((_hs_expression(rules[i]), rules[i].ignore_case), []).append(i)
        if by_expr:
            plan.append((tuple(tuple(g) for g in by_expr.values()), tuple(e for e, _ in by_expr),
                         tuple(ci for _, ci in by_expr), any(rules[i].kind == "identifier" for i in members)))
    return plan


def prepare_databases(rules: Sequence[Rule]) -> None:
    """Start compiling the databases a scan with ``rules`` will want, each on a thread of its own, when they are
    not in the cache yet. Hyperscan lets go of the GIL while it compiles, so on a first run the secrets' database
    (~6.5 s), the PII one and the rest of the rules' first preparation (~4 s of Python) overlap; `_database` waits
    for them. A database with a client's identifiers is never started here."""
    if hyperscan is None:
        return
    # the rules of a detector from `create` (rules for named files only get detectors of their own)
    for _, exprs, caseless, private in _database_plan([r for r in rules if not r.only_files], True):
        key = (exprs, caseless, True)
        if private or _cache_path(exprs, _flags(caseless)).exists():
            continue
        with _IN_FLIGHT_LOCK:
            if key in _IN_FLIGHT:
                continue
            future: Future = Future()
            _IN_FLIGHT[key] = future

        def compile_into(future: Future = future, key: tuple = key) -> None:
            try:
                future.set_result(_hs_database(*key))
            except BaseException as exc:  # handed to whoever waits for it
                future.set_exception(exc)

        threading.Thread(target=compile_into, name="clientguard-compile", daemon=True).start()


def _database(exprs: tuple[bytes, ...], caseless: tuple[bool, ...], persist: bool):
    """_hs_database, or the one prepare_databases is compiling."""
    with _IN_FLIGHT_LOCK:
        future = _IN_FLIGHT.pop((exprs, caseless, persist), None)
    if future is not None:
        return future.result()
    return _hs_database(exprs, caseless, persist)


class Detector:
    """Finds secrets, PII and client identifiers in text."""

    def __init__(self, rules: Sequence[Rule], *, fingerprint_key: bytes, engine: EngineName = "auto",
                 honor_inline_allow: bool = True, identifiers_apart: bool = True, parallel_passes: bool = False):
        if engine == "hyperscan" and hyperscan is None:
            raise RuntimeError("the hyperscan engine was asked for, but the hyperscan module cannot be imported")
        self.rules = list(rules)
        self._compiled = [_compile(r) for r in self.rules]
        self._key = fingerprint_key
        self._honor_allow = honor_inline_allow
        # Rules that apply only in the files they name (Rule.only_files), kept apart by `create`; each set
        # of them a file name selects gets a small pure-Python detector of its own on first use.
        self.file_rules: tuple[Rule, ...] = ()
        self._file_globs: list[tuple[Rule, object]] = []
        self._file_name: re.Pattern[str] | None = None
        self._file_glob = None
        self._file_detectors: dict[tuple[str, ...], Detector] = {}
        # A long text's databases scanned at once on two cores (see _candidate_ends): for the gateway, whose
        # request waits on the scan; `clientguard scan` runs whole batches in threads instead.
        self._parallel = parallel_passes
        self._allow_memo: tuple[object, bool] = (None, False)
        # What the value checks (entropy, validator) said of a rule's value: pure functions of the value,
        # asked again each time an agent resends its conversation (the same keys, e-mails and names).
        self._verdicts: dict[tuple[str | None, float | None, str], bool] = {}
        # Bytes regexes (for ASCII batches) are compiled on first use: most rules never have a candidate,
        # and compiling all of them would add ~60 ms to every start.
        self._bregexes: dict[int, re.Pattern[bytes] | None] = {}
        self.engine: str = "hyperscan" if (engine != "python" and hyperscan is not None) else "python"
        # Secrets (literal-anchored token formats) and PII (character classes and digits) go into separate
        # databases: two passes cost less than one over the mixture. A rule can name the other one
        # (`database`): e-mail's expression, anchored on its @, costs nothing measurable among the secrets
        # but doubled the PII pass's time on bench/scan.py's corpus. A database holding a client's
        # identifiers is compiled in memory at each start, never cached (see _hs_database). With
        # `identifiers_apart` they get a small one of their own (~0.01 s to compile), so the PII database
        # comes from the cache (a command's start: 0.13 s less) at the cost of a third pass (~0.3 ms per MB,
        # ~20 us on a cold 1 KB request); without it (the gateway, which starts once and then scans every
        # request) they share the PII database.
        # Rules with the same hyperscan expression (public and private IP addresses, say) share one
        # pattern of a database; those that also share their regex share windows and regex matches.
        self._dbs: list[tuple[object, tuple[tuple[int, ...], ...]]] = []
        self._twins: dict[tuple[int, ...], tuple[tuple[int, ...], ...]] = {}
        self._twins_py = self._regex_twins(range(len(self._compiled))) if self.engine == "python" else ()
        if self.engine == "hyperscan" and self._compiled:
            for pid_groups, exprs, caseless, private in _database_plan(self.rules, identifiers_apart):
                self._dbs.append((_database(exprs, caseless, not private), pid_groups))
                for group in pid_groups:
                    self._twins[group] = self._regex_twins(group)

    @classmethod
    def create(cls, identifiers: Iterable[str] = (), *, fingerprint_key: bytes | None = None,
               engine: EngineName = "auto", rules: Sequence[Rule] | None = None,
               honor_inline_allow: bool = True, identifiers_apart: bool = True,
               parallel_passes: bool = False) -> "Detector":
        """A detector with the built-in rules (or ``rules``) plus a rule for the client's identifiers."""
        chosen = list(builtin_rules() if rules is None else rules)
        ident = identifier_rule(identifiers)
        if ident is not None:
            chosen.append(ident)
        key = fingerprint_key if fingerprint_key is not None else load_or_create_key("default")
        detector = cls([r for r in chosen if not r.only_files], fingerprint_key=key, engine=engine,
                       honor_inline_allow=honor_inline_allow, identifiers_apart=identifiers_apart,
                       parallel_passes=parallel_passes)
        detector._keep_file_rules([r for r in chosen if r.only_files])
        return detector

    def fingerprint_of(self, value: str) -> str:
        """The keyed fingerprint this detector gives a value (as its findings carry)."""
        return fingerprint(self._key, value)

    def _keep_file_rules(self, rules: Sequence[Rule]) -> None:
        import fnmatch  # noqa: PLC0415

        self.file_rules = tuple(rules)
        # `scan` asks of every file whether one applies: the file name against the globs' last parts first (one
        # regex), the globs themselves (built on first need: most scans never meet such a file) only for the
        # few names that pass. Gitignore matching of every path, glob set by glob set, cost as much as a sixth
        # of a scan of source code.
        lasts = {g.rstrip("/").rpartition("/")[2] for r in rules for g in r.only_files}
        self._file_name = None if not lasts or any(not x or "**" in x for x in lasts) else \
            re.compile("|".join(fnmatch.translate(x) for x in sorted(lasts)))

    def _globs(self):
        if self._file_glob is None:
            from clientguard.paths import PathGlobs  # noqa: PLC0415

            self._file_globs = [(r, PathGlobs(r.only_files)) for r in self.file_rules]
            self._file_glob = PathGlobs([g for r in self.file_rules for g in r.only_files])
        return self._file_glob

    def applies_in_file(self, relpath: str) -> bool:
        """Whether some rule that applies only in named files (``file_rules``) applies in this one."""
        if not self.file_rules:
            return False
        if self._file_name is not None and not self._file_name.match(relpath.rpartition("/")[2]):
            return False
        return self._globs().matches(relpath)

    def scan_named_file(self, text: str, relpath: str) -> list[Finding]:
        """Findings of the ``file_rules`` whose globs name ``relpath``, in that file's text (the other rules are
        ``scan``'s). Those files are small and rare: a pure-Python detector scans them."""
        if not self.file_rules:
            return []
        self._globs()
        rules = tuple(r for r, globs in self._file_globs if globs.matches(relpath))
        if not rules:
            return []
        ids = tuple(r.id for r in rules)
        detector = self._file_detectors.get(ids)
        if detector is None:
            detector = self._file_detectors[ids] = Detector(rules, fingerprint_key=self._key, engine="python",
                                                            honor_inline_allow=self._honor_allow)
        return detector.scan(text)

    # -- public API ---------------------------------------------------------------------------------

    def scan(self, text: str, *, utf8: bytes | None = None) -> list[Finding]:
        """Findings in one text, sorted by start offset (``utf8``: the text's UTF-8 bytes, if at hand)."""
        return self._collect(text, utf8, [0], [len(text)])[0]

    def scan_many(self, texts: Sequence[str], *, utf8: Sequence[bytes | None] | None = None) -> list[list[Finding]]:
        """Findings per text, computed in one pass over all of them (``utf8``: each text's UTF-8 bytes,
        where at hand, so they need not be encoded again)."""
        if not texts:
            return []
        lengths = [len(t) for t in texts]
        if len(texts) == 1:
            return self._collect(texts[0], utf8[0] if utf8 is not None else None, [0], lengths)
        starts, pos = [], 0
        for n in lengths:
            starts.append(pos)
            pos += n + len(SEGMENT_SEPARATOR)
        joined = SEGMENT_SEPARATOR.join(texts)
        if utf8 is not None and all(b is not None for b in utf8):
            return self._collect(joined, _SEPARATOR_BYTES.join(utf8), starts, lengths)  # type: ignore[arg-type]
        return self._collect(joined, None, starts, lengths)

    def scan_ascii_many(self, datas: Sequence[bytes]) -> list[list[Finding]]:
        """Findings per ASCII-only byte string, in one pass over all of them; the same findings as
        ``scan_many`` on their decoded texts (offsets are character and byte offsets at once).

        A batch of ASCII files is joined and decoded once, as one narrow string: no text per file, no
        character-offset bookkeeping. Raises ``UnicodeDecodeError`` if a byte string is not ASCII.
        """
        if not datas:
            return []
        joined = _SEPARATOR_BYTES.join(datas)
        if not joined.isascii():
            raise UnicodeDecodeError("ascii", joined, 0, len(joined), "scan_ascii_many takes ASCII bytes only")
        starts, lengths, pos = [], [], 0
        for d in datas:
            n = len(d)
            starts.append(pos)
            lengths.append(n)
            pos += n + len(_SEPARATOR_BYTES)
        if not self._dbs:
            return self._collect(joined.decode("ascii"), joined, starts, lengths)
        # The rules' bytes regexes run on the joined bytes: no decoded copy of the batch at all.
        return self._collect(None, joined, starts, lengths)

    def _collect(self, joined: str | None, utf8: bytes | None, starts: list[int],
                 lengths: list[int]) -> list[list[Finding]]:
        """Findings per segment of ``joined`` (segments start at ``starts``, ``lengths`` characters long).

        ``joined`` None: ``utf8`` is ASCII and stands for the text (offsets in both are the same)."""
        if joined is None:
            spans = self._spans_ascii(utf8)  # type: ignore[arg-type]
        else:
            spans = self._spans_hyperscan(joined, utf8) if self._dbs else self._spans_python(joined)
        text: str | bytes = joined if joined is not None else utf8  # type: ignore[assignment]
        per_text: list[list[tuple[int, int, int]]] = [[] for _ in starts]
        for idx, s, e in spans:
            seg = bisect.bisect_right(starts, s) - 1
            if e > starts[seg] + lengths[seg]:
                continue  # crosses a segment boundary
            per_text[seg].append((idx, s, e))
        out: list[list[Finding]] = []
        for seg, candidates in enumerate(per_text):
            base = starts[seg]
            findings = []
            for idx, s, e in self._kept(candidates, text):
                c = self._compiled[idx]
                r = c.rule
                findings.append(Finding(  # positional: the fields' order (rule_id ... priority)
                    r.id, r.title, r.kind, r.severity, s - base, e - base,
                    fingerprint(self._key, joined[s:e] if joined is not None else utf8[s:e].decode("ascii")),  # type: ignore[index]
                    c.label, r.priority,
                ))
            out.append(sorted(findings, key=lambda f: (f.start, f.end, f.rule_id)) if len(findings) > 1 else findings)
        return out

    def _kept(self, candidates: list[tuple[int, int, int]], text: str | bytes) -> list[tuple[int, int, int]]:
        """The candidates that are reported: where candidates of one kind overlap, the most specific valid
        one (priority, then length, then severity). The rules' checks (entropy, validator, an inline allow)
        run in that order and only on candidates no better one has claimed: a generic rule's validator is
        not run for a span a service's rule already reports. The same result as checking all, then
        resolving overlaps."""
        compiled = self._compiled
        if len(candidates) == 1:
            idx, s, e = candidates[0]
            return candidates if self._passes(compiled[idx], text, s, e) else []
        kept = []
        # Only candidates that overlap, directly or through others, compete: each such cluster is ranked
        # on its own, and a candidate alone is only checked. The same result as ranking all at once, without
        # the cost of keeping every kept span in one sorted list (quadratic: a one-line export of 60,000
        # customer records has 240,000 findings).
        for cluster in _clusters(candidates):
            if len(cluster) == 1:
                idx, s, e = cluster[0]
                if self._passes(compiled[idx], text, s, e):
                    kept.append(cluster[0])
                continue
            ranked = sorted(cluster, key=lambda t: (
                -compiled[t[0]].rule.priority, t[1] - t[2], compiled[t[0]].rank, t[1]))
            taken: dict[str, _Intervals] = {}
            for idx, s, e in ranked:
                c = compiled[idx]
                spans = taken.get(c.rule.kind)
                if spans is None:
                    spans = taken[c.rule.kind] = _Intervals()
                if spans.overlaps(s, e) or not self._passes(c, text, s, e):
                    continue
                spans.add(s, e)
                kept.append((idx, s, e))
        return kept

    # -- engines ------------------------------------------------------------------------------------

    def _spans_python(self, text: str) -> set[tuple[int, int, int]]:
        """Each rule's regex, on the lines around the literals its every match holds (the whole text when
        a rule requires none, or they are everywhere): hyperscan's windows, with str.find for a prefilter."""
        lowered = text.lower()
        # Lower-casing keeps offsets unless a character changes length (İ): then windows from lowered
        # offsets would be wrong, and case-insensitive literals only decide whether a rule runs at all.
        same_offsets = len(lowered) == len(text)
        n = len(text)
        limit = n // 64 + 32  # more occurrences than this: scanning the whole text is cheaper
        out: set[tuple[int, int, int]] = set()
        for twins in self._twins_py:
            twins = [i for i in twins if not self._compiled[i].rule.keywords
                     or any(k in lowered for k in self._compiled[i].rule.keywords)]
            if not twins:
                continue
            c = self._compiled[twins[0]]
            spans: list[tuple[int, int]] | tuple[tuple[int, int]] = ((0, n),)
            literals = c.literals
            if literals is not None:
                hits = _occurrences(text, lowered, literals, limit)
                if hits is not None:
                    if not hits:
                        continue
                    if same_offsets or not any(icase for _, icase in literals):
                        spans = _literal_windows(text, hits, c.width, c.newlines)
            for ws, we in spans:
                for m in c.regex.finditer(text, ws, we):
                    for idx in twins:
                        self._accept(idx, self._compiled[idx], m, text, out)
        return out

    def _regex_twins(self, indices: Iterable[int]) -> tuple[tuple[int, ...], ...]:
        """The rules among ``indices`` grouped by pattern, flags and length bound (public and private
        addresses, say): the same regex, width and line breaks, so one run serves them all (told from the
        rules alone: nothing is compiled here)."""
        same: dict[tuple, list[int]] = {}
        for i in indices:
            r = self._compiled[i].rule
            same.setdefault((r.pattern, r.ignore_case, r.max_length), []).append(i)
        return tuple(tuple(t) for t in same.values())

    def _spans_hyperscan(self, text: str, data: bytes | None = None) -> set[tuple[int, int, int]]:
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        ends = self._candidate_ends(data)
        if not ends:
            return set()
        # ASCII: the windows are found in the bytes hyperscan saw, whose offsets are the text's. Otherwise the
        # candidate ends are turned into character offsets (in one ordered pass, so each stretch is decoded
        # once) and the windows found in the text: a window cut on a long line then reaches back the rule's
        # longest match in characters. Reaching back that many bytes times four (a character's most) made
        # windows on long non-ASCII lines (one-line translation files) up to four times too long, and the
        # generic rules' regexes cost about half a microsecond per character of window.
        ascii_ = len(data) == len(text)
        source: str | bytes = data
        if not ascii_:
            char_of = _char_offsets(data, sorted({e for got in ends.values() for e in got}))
            ends = {group: [char_of[e] for e in got] for group, got in ends.items()}
            source = text
        out: set[tuple[int, int, int]] = set()
        compiled = self._compiled
        for group in sorted(ends):
            group_ends = sorted(set(ends[group]))
            for twins in self._twins[group]:
                c = compiled[twins[0]]
                # A match lies on the lines just before its candidate end: as many as it can hold line
                # breaks, plus the line before when the prefilter consumed the break after the match.
                ahead = LOOKAHEAD if c.ends_exactly else None
                for ws, we in _windows(source, group_ends, c.width, c.newlines, ahead):
                    for m in c.regex.finditer(text, ws, we):
                        for idx in twins:
                            self._accept(idx, compiled[idx], m, text, out)
        return out

    def _spans_ascii(self, data: bytes) -> set[tuple[int, int, int]]:
        """``_spans_hyperscan`` for ASCII bytes: each rule's bytes regex runs on the windows of the bytes
        themselves (offsets are character offsets); a rule without one gets a text decoded on demand."""
        ends = self._candidate_ends(data)
        out: set[tuple[int, int, int]] = set()
        text: str | None = None
        compiled = self._compiled
        for group in sorted(ends):
            group_ends = sorted(set(ends[group]))
            for twins in self._twins[group]:
                c = compiled[twins[0]]
                ahead = LOOKAHEAD if c.ends_exactly else None
                windows = _windows(data, group_ends, c.width, c.newlines, ahead)
                bregex = self._bregexes.get(twins[0], _UNCOMPILED)
                if bregex is _UNCOMPILED:
                    bregex = self._bregexes[twins[0]] = _bytes_regex(c.rule)
                if bregex is not None:
                    for bs, be in windows:
                        for bm in bregex.finditer(data, bs, be):  # type: ignore[union-attr]
                            for idx in twins:
                                self._accept(idx, compiled[idx], bm, data, out)
                else:
                    if text is None:
                        text = data.decode("ascii")
                    for bs, be in windows:
                        for m in c.regex.finditer(text, bs, be):
                            for idx in twins:
                                self._accept(idx, compiled[idx], m, text, out)
        return out

    def _candidate_ends(self, data: bytes) -> dict[tuple[int, ...], list[int]]:
        """Candidate match ends per group of rules sharing a hyperscan expression (rule indices), from one
        pass of each hyperscan database over ``data``.

        With ``parallel_passes``, a long text's other databases are scanned on helper threads while this
        one scans the first: hyperscan lets go of the GIL while it scans, so the passes overlap on a second
        core (the same CPU time, less waiting). Their groups are distinct, so the results simply merge.
        """
        first, *others = self._dbs
        if self._parallel and others and len(data) >= PARALLEL_PASS_MIN_BYTES:
            pending = [_pass_pool().submit(_ends_of, db, groups, data) for db, groups in others]
            ends = _ends_of(*first, data)
            for future in pending:
                ends.update(future.result())
        else:
            ends = _ends_of(*first, data)
            for db, groups in others:
                ends.update(_ends_of(db, groups, data))
        return ends

    def _allow_possible(self, text: str | bytes) -> bool:
        """Whether an allow comment (``_ALLOW_MARK``) can occur in the text at all, asked once per text: finding
        each match's line on a multi-megabyte single line (minified code, one-line JSON) would otherwise cost
        a scan of the line per finding. The last answer is kept with its text (compared by identity)."""
        memo = self._allow_memo
        if memo[0] is text:
            return memo[1]
        found = any(hint in text for hint in _ALLOW_HINTS[type(text)])  # type: ignore[operator]
        self._allow_memo = (text, found)
        return found

    def _accept(self, idx: int, c: _Compiled, m: re.Match, text: str | bytes, out: set) -> None:
        """Keep a regex match as a candidate (rule, span of its value) if its length and keywords fit.
        `text` is a str, or the bytes of ASCII text (a match of the rule's bytes regex)."""
        r = c.rule
        if m.end() - m.start() > c.width or m.end() == m.start():
            return
        if "secret" in m.re.groupindex and m.start("secret") >= 0:
            s, e = m.span("secret")
        else:
            s, e = m.span()
        if s == e:
            return
        if r.keywords:
            whole = m.group(0).lower()
            if not any(k in whole for k in (c.bkeywords if isinstance(text, bytes) else r.keywords)):
                return
        out.add((idx, s, e))  # the value's own checks run later, in _passes, and only where needed

    def _passes(self, c: _Compiled, text: str | bytes, s: int, e: int) -> bool:
        """The checks of a candidate's value: entropy, the rule's validator, and no inline allow on its line.
        `text` is a str, or the bytes of ASCII text (offsets are the same)."""
        r = c.rule
        is_bytes = isinstance(text, bytes)
        if r.entropy is not None or r.validator is not None:
            value = text[s:e].decode("ascii") if is_bytes else text[s:e]
            key = (r.validator, r.entropy, value)
            ok = self._verdicts.get(key)
            if ok is None:
                ok = not (r.entropy is not None and shannon_entropy(value) < r.entropy) and (  # type: ignore[arg-type]
                    r.validator is None or bool(VALIDATORS[r.validator](value)))
                if len(self._verdicts) >= VERDICT_MEMO:
                    self._verdicts.clear()  # bounded; a scan of many distinct values simply starts over
                self._verdicts[key] = ok
            if not ok:
                return False
            # (not for the rules of named credential files: they count whatever value such a file saves, even
            # user="user" password="password")
            if r.kind == "secret" and not r.only_files and self._key_rules_out(text, s, e):
                return False
        return not (self._honor_allow and self._allowed_line(text, s, e))

    @staticmethod
    def _key_rules_out(text: str | bytes, s: int, e: int) -> bool:
        """Whether the name a secret's value is assigned to says it is none (HTPASSWD = "htpasswd", --next-token
        ...): see key_rules_out. Asked of values the rule's checks passed, so of few."""
        lo = max(0, s - 160)
        if isinstance(text, bytes):  # an ASCII batch's bytes
            text = text[lo:e].decode("ascii")
            s, e, lo = s - lo, e - lo, 0
        return key_rules_out(text[max(lo, text.rfind("\n", lo, s) + 1):s], text[s:e])

    def _allowed_line(self, text: str | bytes, s: int, e: int) -> bool:
        """Whether an allow comment silences the line of ``text[s:e]`` (or detect-secrets' nextline pragma the
        line before it). A line of ordinary length is searched directly, at a cost of its own length; a line
        longer than LONG_LINE (minified code, one-line JSON) only when the text holds a marker at all, which
        is asked once per text, so a multi-megabyte line with many findings is not searched once per finding."""
        newline = b"\n" if isinstance(text, bytes) else "\n"
        lo = max(0, s - LONG_LINE)
        ls = text.rfind(newline, lo, s) + 1  # type: ignore[arg-type]
        if not ls and lo:
            if not self._allow_possible(text):
                return False
            ls = text.rfind(newline, 0, s) + 1  # type: ignore[arg-type]
        hi = e + LONG_LINE
        le = text.find(newline, e, hi)  # type: ignore[arg-type]
        if le < 0:
            if hi < len(text):
                if not self._allow_possible(text):
                    return False
                le = text.find(newline, e)  # type: ignore[arg-type]
            if le < 0:
                le = len(text)
        mark, next_line = _ALLOW_RES[type(text)]
        if mark.search(text, ls, le):  # type: ignore[arg-type]
            return True
        if ls:  # the line before (of a long one, its last LONG_LINE characters)
            lo = max(0, ls - 1 - LONG_LINE)
            ps = text.rfind(newline, lo, ls - 1) + 1 or lo  # type: ignore[arg-type]
            return bool(next_line.search(text, ps, ls - 1))  # type: ignore[arg-type]
        return False


def _char_offsets(data: bytes, ends: list[int]) -> dict[int, int]:
    """The character offset of each of the sorted byte offsets ``ends`` of UTF-8 ``data``; an offset inside a
    character counts as the boundary after it (a match that ends inside a character holds all of it). One
    pass: each stretch between two offsets is decoded once, whatever the number of offsets (an OID table
    gives one at nearly every digit)."""
    out: dict[int, int] = {}
    n = len(data)
    b = c = 0
    for e in ends:
        t = e
        while 0 < t < n and (data[t] & 0xC0) == 0x80:
            t += 1
        if t > b:
            c += len(data[b:t].decode("utf-8", "surrogatepass"))
            b = t
        out[e] = c
    return out


#: How many value checks the detector remembers before it starts over.
VERDICT_MEMO = 8192


#: Windows longer than this (minified code, one-line JSON, source maps) are not searched whole:
#: only the stretch within the rule's longest match of each candidate end.
LONG_LINE = 4096
#: ... plus this much after it: a regex's lookaheads cannot see past the end of the window it runs on
#: (its lookbehinds do see before the start), and rules look past their match to rule it out (an IPv4
#: rule skips "22.1.3.30 Array.prototype[@@iterator]()", a spec's section number before a call).
LOOKAHEAD = 256


def _windows(data: bytes | str, ends: list[int], reach: int, newlines: int = UNBOUNDED,
             ahead: int | None = None) -> list[tuple[int, int]]:
    """Merged windows of ``data`` that hold every match (at most ``reach`` long, with at most ``newlines`` line
    breaks) whose candidate end is in ``ends``: from the later of the line start ``reach`` back and the
    start of the line ``newlines`` + 1 breaks back, to the end of the end's line. Offsets and lengths are
    in bytes for bytes, in characters for a text. A window longer than LONG_LINE (a very long line) is cut
    to ``reach`` before the end and ``ahead`` after it: by default ``reach`` + LOOKAHEAD, since a match may
    end anywhere on the line of a candidate end; a rule whose matches end at their candidate ends
    (_Compiled.ends_exactly) needs only room for its lookaheads.

    ``ends`` is sorted, so window starts never decrease: an end inside the current window adds nothing,
    unless that window was cut on a long line, where the end's own stretch may reach further.
    """
    out: list[tuple[int, int]] = []
    n = len(data)
    if ahead is None:
        ahead = reach + LOOKAHEAD
    cur_start, cur_end = -1, -1
    cut_from = -1  # when the current window was cut on a long line: how far that line's window went
    long_from = -1  # ... and where that line starts, if it is itself longer than LONG_LINE
    rfind = data.rfind
    find = data.find
    newline = b"\n" if isinstance(data, bytes) else "\n"
    for e in ends:
        if e < cur_end:
            if cut_from < 0:
                continue  # the current window runs to the end of e's line already
            if e > long_from:  # on the same long line, so e's own window is cut too
                stretch = e + ahead
                if stretch <= cur_end:
                    continue
                if stretch <= cut_from:  # only the end moves
                    cur_end = stretch
                    continue
            # beyond what is known of the line, or on a short line of a window cut for the lines it
            # spans (a rule whose matches hold line breaks): work e's window out afresh
        # Line breaks are looked for no further than LONG_LINE beyond the longest match: a window that
        # reaches further is cut below anyway, and looking to the true line start or end for every
        # candidate on a multi-megabyte line (one-line JSON) would be quadratic.
        lo = max(0, e - reach - LONG_LINE)
        hi = min(n, e + reach + LONG_LINE)
        ws = rfind(newline, lo, max(0, e - reach)) + 1 or lo
        if newlines < UNBOUNDED:
            # The end may sit just past a consumed line break: start from the line of e - 1.
            ls = rfind(newline, lo, max(0, e - 1)) + 1 or lo
            for _ in range(newlines):
                if ls <= ws:
                    break
                ls = rfind(newline, lo, ls - 1) + 1 or lo
            ws = max(ws, ls)
        nl = find(newline, e, hi)
        we = hi if nl < 0 else min(n, nl + 1)
        line_end = line_from = -1
        if we - ws > LONG_LINE:
            # No accepted match is longer than `reach`, so one around `e` lies within `reach` of it: on a
            # very long line (minified code, a source map's embedded sources) search only that stretch,
            # and far enough past it for the rule's lookaheads.
            line_end = we
            own = rfind(newline, lo, max(0, e - 1)) + 1 or lo
            line_from = own if we - own > LONG_LINE else we
            ws, we = max(ws, e - reach - 2), min(we, e + ahead)
        if ws <= cur_end:
            if we >= cur_end:
                cur_end, cut_from, long_from = we, line_end, line_from
        else:
            if cur_end >= 0:
                out.append((cur_start, cur_end))
            cur_start, cur_end, cut_from, long_from = ws, we, line_end, line_from
    if cur_end >= 0:
        out.append((cur_start, cur_end))
    return out


def _occurrences(text: str, lowered: str, literals: tuple[tuple[str, bool], ...],
                 limit: int) -> list[tuple[int, int]] | None:
    """(offset, length) of every occurrence of the literals (case-insensitive ones in ``lowered``), or
    None once there are more than ``limit``."""
    hits: list[tuple[int, int]] = []
    for lit, icase in literals:
        haystack = lowered if icase else text
        size = len(lit)
        at = haystack.find(lit)
        while at >= 0:
            hits.append((at, size))
            if len(hits) > limit:
                return None
            at = haystack.find(lit, at + 1)
    return hits


def _literal_windows(text: str, hits: list[tuple[int, int]], width: int, newlines: int) -> list[tuple[int, int]]:
    """Merged windows of ``text`` holding every match (at most ``width`` characters, with at most
    ``newlines`` line breaks) that contains one of the literal occurrences ``hits``: whole lines, from
    the line where such a match can start to the line where it can end, cut like ``_windows`` cuts them
    on very long lines."""
    n = len(text)
    rfind, find = text.rfind, text.find
    windows: list[tuple[int, int]] = []
    for p, size in hits:
        lo, hi = max(0, p + size - width), min(n, p + width)
        floor, ceiling = max(0, lo - LONG_LINE), min(n, hi + LONG_LINE)
        ws = rfind("\n", floor, lo) + 1 or floor
        nl = find("\n", hi, ceiling)
        we = ceiling if nl < 0 else nl + 1
        if newlines < UNBOUNDED:
            # The match holds at most `newlines` breaks: it starts at most that many lines before the
            # occurrence's line and ends at most that many lines after it.
            ls = rfind("\n", floor, p) + 1 or floor
            le = p + size
            for _ in range(newlines):
                if ls > ws:
                    ls = rfind("\n", floor, ls - 1) + 1 or floor
            for _ in range(newlines + 1):
                nl = find("\n", le, ceiling)
                le = ceiling if nl < 0 else nl + 1
                if nl < 0 or le >= we:
                    break
            ws, we = max(ws, ls), min(we, le)
        if we - ws > LONG_LINE:
            ws, we = max(ws, lo - 2), min(we, hi + LOOKAHEAD)
        windows.append((ws, we))
    # Starts need not grow with the offsets (literals differ in length): sort before merging.
    windows.sort()
    out: list[tuple[int, int]] = []
    for ws, we in windows:
        if out and ws <= out[-1][1]:
            if we > out[-1][1]:
                out[-1] = (out[-1][0], we)
        else:
            out.append((ws, we))
    return out


class _Intervals:
    """Non-overlapping [start, end) spans kept sorted, with an O(log n) overlap test."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self._starts, end) - 1  # the last kept span starting before `end`
        return i >= 0 and self._ends[i] > start

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)


def _clusters(spans: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """``(index, start, end)`` spans grouped so that spans in different groups never overlap: sorted by start,
    a span joins the group before it when it starts before that group's end."""
    ordered = sorted(spans, key=lambda t: t[1])
    groups: list[list[tuple[int, int, int]]] = []
    end = -1
    for t in ordered:
        if t[1] < end:
            groups[-1].append(t)
            if t[2] > end:
                end = t[2]
        else:
            groups.append([t])
            end = t[2]
    return groups


def select_non_overlapping(findings: Iterable[Finding]) -> list[Finding]:
    """A non-overlapping subset for redaction: the longest span wins, then secrets over PII over identifiers."""
    listed = list(findings)
    kept: list[Finding] = []
    # As in Detector._kept: only overlapping findings compete, cluster by cluster.
    for cluster in _clusters([(i, f.start, f.end) for i, f in enumerate(listed)]):
        if len(cluster) == 1:
            kept.append(listed[cluster[0][0]])
            continue
        ranked = sorted((listed[i] for i, _s, _e in cluster),
                        key=lambda f: (-(f.end - f.start), -KIND_RANK.get(f.kind, 0), -f.priority, f.start))
        spans = _Intervals()
        for f in ranked:
            if spans.overlaps(f.start, f.end):
                continue
            spans.add(f.start, f.end)
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)
