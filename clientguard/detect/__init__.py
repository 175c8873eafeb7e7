"""Detection of secrets, PII and client identifiers: rules as data, one multi-pattern pass."""

from clientguard.detect.engine import Detector, hyperscan_available, identifier_rule, select_non_overlapping
from clientguard.detect.fingerprint import fingerprint, load_or_create_key
from clientguard.detect.model import Finding, Rule
from clientguard.detect.rules import builtin_rules, load_rules

__all__ = [
    "Detector", "Finding", "Rule", "builtin_rules", "fingerprint", "hyperscan_available", "identifier_rule",
    "load_or_create_key", "load_rules", "select_non_overlapping",
]
