"""The egress ledger: a tamper-evident record of what left the machine, its verifier and the client report."""

from clientguard.ledger.record import EgressRecord, LedgerCorruptError, LedgerError
from clientguard.ledger.store import Head, Ledger, LedgerEntry, default_ledger_path, key_path_for

__all__ = [
    "EgressRecord",
    "Head",
    "Ledger",
    "LedgerEntry",
    "LedgerCorruptError",
    "LedgerError",
    "default_ledger_path",
    "key_path_for",
]
