"""The vault: deterministic typed placeholders, a private key file, no raw values on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clientguard.redact import PLACEHOLDER_RE, Vault, VaultError, key_path_for

FAKE_KEY = "AKIA" + "EXAMPLE0000FAKE1"


def test_same_value_gets_same_placeholder_across_vault_instances(tmp_path: Path) -> None:
    first = Vault.open("Acme Health", tmp_path).placeholder("AWS_ACCESS_KEY_ID", FAKE_KEY)
    second = Vault.open("Acme Health", tmp_path).placeholder("AWS_ACCESS_KEY_ID", FAKE_KEY)
    assert first == second


def test_placeholder_is_typed_and_uses_only_word_characters(tmp_path: Path) -> None:
    token = Vault.open("Acme", tmp_path).placeholder("aws access-key id", FAKE_KEY)
    assert token.startswith("CG_AWS_ACCESS_KEY_ID_")
    assert PLACEHOLDER_RE.fullmatch(token)
    assert all(c.isalnum() or c == "_" for c in token)


def test_different_values_get_different_placeholders(tmp_path: Path) -> None:
    vault = Vault.open("Acme", tmp_path)
    assert vault.placeholder("EMAIL", "a@example.com") != vault.placeholder("EMAIL", "b@example.com")


def test_key_file_is_private_and_holds_no_values(tmp_path: Path) -> None:
    vault = Vault.open("Acme", tmp_path)
    vault.placeholder("EMAIL", "jane.fake@example.com")
    path = key_path_for("Acme", tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    everything_on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"jane.fake" not in everything_on_disk


def test_each_client_has_its_own_key_so_placeholders_differ(tmp_path: Path) -> None:
    a = Vault.open("Acme Health", tmp_path).placeholder("EMAIL", "x@example.com")
    b = Vault.open("Globex", tmp_path).placeholder("EMAIL", "x@example.com")
    assert a != b


def test_placeholder_from_another_clients_vault_is_not_restored(tmp_path: Path) -> None:
    acme = Vault.open("Acme Health", tmp_path)
    globex = Vault.open("Globex", tmp_path)
    token = acme.placeholder("EMAIL", "jane@acme.example")
    assert globex.restore(f"mail {token} now") == f"mail {token} now"


def test_restore_replaces_known_and_keeps_unknown_placeholders(tmp_path: Path) -> None:
    vault = Vault.open("Acme", tmp_path)
    token = vault.placeholder("PASSWORD", "hunter2")
    unknown = "CG_PASSWORD_aaaaaaaa"
    assert vault.restore(f"{token} and {unknown}") == f"hunter2 and {unknown}"


def test_restore_in_json_mode_escapes_the_value(tmp_path: Path) -> None:
    vault = Vault.open("Acme", tmp_path)
    token = vault.placeholder("PASSWORD", 'a"b\\c\nd')
    assert vault.restore(f'{{"p":"{token}"}}', json_escape=True) == '{"p":"a\\"b\\\\c\\nd"}'


def test_known_placeholder_after_an_unknown_prefix_is_restored(tmp_path: Path) -> None:
    vault = Vault.open("Acme", tmp_path)
    token = vault.placeholder("EMAIL", "j@example.com")
    assert vault.restore("CG_" + token) == "CG_j@example.com"


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    Vault.open("Acme", tmp_path)
    path = key_path_for("Acme", tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(VaultError, match="readable by other users"):
        Vault.open("Acme", tmp_path)


def test_a_damaged_key_is_refused_with_its_path(tmp_path: Path) -> None:
    path = key_path_for("Acme", tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"short")
    os.chmod(path, 0o600)
    with pytest.raises(VaultError, match=str(path)):
        Vault.open("Acme", tmp_path)
