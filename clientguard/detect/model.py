"""What a detection rule is, and what a finding is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["secret", "pii", "identifier"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}

#: Longest match a rule with an unbounded pattern may report (characters).
DEFAULT_MAX_LENGTH = 4096


class Rule(BaseModel):
    """One detection rule, as written in a rules TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
    title: str = Field(min_length=3)
    kind: Kind
    severity: Severity
    pattern: str = Field(min_length=1)
    #: A match counts only if its text contains one of these (case-insensitive).
    keywords: tuple[str, ...] = ()
    #: Minimum Shannon entropy (bits per character) of the reported value.
    entropy: float | None = Field(default=None, ge=0, le=8)
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
    max_length: int = Field(default=DEFAULT_MAX_LENGTH, ge=8, le=1_000_000)
    #: File globs (gitignore syntax) where `clientguard scan` does not report this rule: files whose
    #: format makes its matches something else (IP-shaped numbers in SVG path data are coordinates).
    skip_files: tuple[str, ...] = ()
    examples: tuple[str, ...] = Field(min_length=2)
    counter_examples: tuple[str, ...] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _lower_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k.lower() for k in value)

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
