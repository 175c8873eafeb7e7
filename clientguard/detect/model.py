"""What a detection rule is, and what a finding is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


Kind = Literal["secret", "pii", "identifier"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}

#: Longest match a rule with an unbounded pattern may report (characters).
DEFAULT_MAX_LENGTH = 4096


@dataclass(frozen=True)
class Rule:
    """One detection rule, as written in a rules TOML file.

    A plain frozen dataclass: rules files are validated field by field when they are read (the pydantic
    model built by `clientguard.detect.rules._spec`), and commands that take the rules from the cache
    never build that model (10-30 ms of a ~300 ms scan of a small repository, measured).
    """

    id: str
    title: str
    kind: Kind
    severity: Severity
    pattern: str
    #: A match counts only if its text contains one of these (lower case).
    keywords: tuple[str, ...] = ()
    #: Minimum Shannon entropy (bits per character) of the reported value.
    entropy: float | None = None
    #: Name of a validator in clientguard.detect.validators.
    validator: str | None = None
    ignore_case: bool = False
    #: Overlapping findings of the same kind keep the higher priority (specific rules beat generic ones).
    priority: int = 0
    #: Upper-snake type used in placeholders; defaults from the id.
    label: str | None = None
    #: Optional hyperscan expression used instead of the pattern to find candidate lines: every match of
    #: ``pattern`` must lie on one line that also holds a match of ``prefilter``.
    prefilter: str | None = None
    #: Longest match reported when the pattern itself is unbounded.
    max_length: int = DEFAULT_MAX_LENGTH
    #: The hyperscan database the rule's expression goes in, when not its kind's: "secret" holds
    #: expressions anchored on literals, "pii" those made of character classes and digits (see engine).
    database: Literal["secret", "pii"] | None = None
    #: File globs (gitignore syntax) where `clientguard scan` does not report this rule: files whose
    #: format makes its matches something else (IP-shaped numbers in SVG path data are coordinates).
    skip_files: tuple[str, ...] = ()
    #: File globs (gitignore syntax) outside which the rule does not apply: a format only those files have
    #: (a .pgpass line, a Rails master.key), or values those files make credentials whatever they look like
    #: (an FTP client's saved password). `Detector.create` keeps such rules out of its databases (they cost
    #: nothing on other files) and `clientguard scan` runs them on the files they name; a text without a path
    #: (the gateway's requests) never meets them.
    only_files: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()

    @property
    def placeholder_label(self) -> str:
        return self.label or re.sub(r"[^A-Z0-9]+", "_", self.id.upper()).strip("_")


@dataclass(frozen=True, slots=True)
class Finding:
    """A span of text a rule matched. Carries offsets and a keyed fingerprint, never the value."""

    rule_id: str
    title: str
    kind: str
    severity: str
    start: int
    end: int
    fingerprint: str
    label: str
    priority: int = 0

    def at(self, start: int, end: int) -> "Finding":
        """The same finding at another span (a known value found again elsewhere); ~1 us, against ~7 us
        for `dataclasses.replace`, which looks the fields up on every call."""
        return Finding(self.rule_id, self.title, self.kind, self.severity, start, end, self.fingerprint,
                       self.label, self.priority)

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "kind": self.kind,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "fingerprint": self.fingerprint,
            "label": self.label,
        }
