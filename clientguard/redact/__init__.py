"""Pseudonymization: the per-client vault of placeholders and the streaming restorer."""

from clientguard.redact.restore import StreamRestorer, holdback_start
from clientguard.redact.vault import (
    MAX_PLACEHOLDER_LEN, PLACEHOLDER_RE, Vault, VaultError, key_path_for, normalize_label, vault_directory,
)

__all__ = [
    "MAX_PLACEHOLDER_LEN", "PLACEHOLDER_RE", "StreamRestorer", "Vault", "VaultError", "holdback_start",
    "key_path_for", "normalize_label", "vault_directory",
]
