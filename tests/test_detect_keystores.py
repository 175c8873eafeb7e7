"""Key stores (clientguard/detect/keystores.toml): binary files that hold private keys or passwords are reported
by `clientguard scan`, told by their name and first bytes; every other binary file stays skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from clientguard.detect import keystores
from clientguard.errors import InputError

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("kind", keystores.kinds(), ids=lambda k: k.id)
def test_each_kind_matches_its_examples_and_not_its_counter_examples(kind):
    for name in kind.names:
        path = "deploy/" + name.replace("*", "release")
        assert keystores.may_be_key_store(path)
        for head in kind.examples:
            found = keystores.key_store_kind(path, bytes.fromhex(head))
            assert found is not None and found.severity in ("high", "critical"), (name, head)
        for head in kind.counter_examples:
            assert keystores.key_store_kind(path, bytes.fromhex(head)) is None, (name, head)
    assert not keystores.may_be_key_store("src/logo.png") and not keystores.may_be_key_store("p12/readme")


def test_a_malformed_key_store_file_is_a_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "keystores.toml"
    bad.write_text('[[store]]\nid = "x"\ntitle = "X"\nseverity = "high"\nnames = ["*.x"]\nmagic = ["zz"]\n'
                   'source = "s"\nexamples = ["00", "01"]\ncounter_examples = ["02"]\n')
    monkeypatch.setattr(keystores, "KEYSTORES_FILE", bad)
    keystores.kinds.cache_clear()
    keystores._names.cache_clear()
    try:
        with pytest.raises(InputError, match=r"keystores.toml: store 1 \(x\): magic: Value error, 'zz' is not lower-case hex"):
            keystores.kinds()
    finally:
        keystores.kinds.cache_clear()
        keystores._names.cache_clear()


def _scan(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--no-progress", *args],
                          capture_output=True, text=True, env={**os.environ, "CLIENTGUARD_HOME": str(home)},
                          timeout=300)


def test_key_stores_in_a_repository_are_reported_and_other_binaries_skipped(tmp_path):
    repo = tmp_path / "client"
    (repo / "android" / "app").mkdir(parents=True)
    key = ec.generate_private_key(ec.SECP256R1())  # a real PKCS#12 file, made for this test
    p12 = pkcs12.serialize_key_and_certificates(b"client", key, None, None, BestAvailableEncryption(b"pw"))
    (repo / "certs").mkdir()
    (repo / "certs" / "client.p12").write_bytes(p12)
    (repo / "android" / "app" / "release.jks").write_bytes(bytes.fromhex("feedfeed00000002") + os.urandom(64))
    (repo / "vault.kdbx").write_bytes(bytes.fromhex("03d9a29a67fb4bb5") + b"\x01" * 64)  # no NUL: reads as text
    (repo / "logo.p12").write_bytes(bytes.fromhex("89504e470d0a1a0a") + b"\0" * 64)  # a PNG, misnamed
    (repo / "photo.png").write_bytes(bytes.fromhex("89504e470d0a1a0a") + b"\0" * 64)
    home = tmp_path / "home"
    proc = _scan("--format", "json", str(repo), home=home)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    found = {f["path"]: f for f in report["findings"]}
    assert {p: f["rule_id"] for p, f in found.items()} == {
        "certs/client.p12": "pkcs12-key-store", "android/app/release.jks": "java-key-store",
        "vault.kdbx": "keepass-database"}
    assert found["certs/client.p12"]["preview"] == f"<PKCS#12 key store, {len(p12):,} bytes>"
    assert {s["path"] for s in report["skipped"]} == {"logo.p12", "photo.png"}
    assert report["stats"]["files"] == 3
    # SARIF names each kind, and is valid
    sarif = json.loads(_scan("--format", "sarif", str(repo), home=home).stdout)
    jsonschema.validate(sarif, json.loads((DATA / "sarif-schema-2.1.0.json").read_text()))
    described = {r["id"]: r["shortDescription"]["text"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert described["keepass-database"] == "KeePass password database"
    # the same files keep their fingerprints, so a baseline accepts them; a new key store still fails
    baseline = tmp_path / "baseline.json"
    assert _scan("--write-baseline", str(baseline), str(repo), home=home).returncode == 1
    assert _scan("--baseline", str(baseline), str(repo), home=home).returncode == 0
    other = pkcs12.serialize_key_and_certificates(b"server", ec.generate_private_key(ec.SECP256R1()), None, None,
                                                  BestAvailableEncryption(b"pw"))
    (repo / "certs" / "server.pfx").write_bytes(other)
    again = json.loads(_scan("--format", "json", "--baseline", str(baseline), str(repo), home=home).stdout)
    assert [f["path"] for f in again["findings"]] == ["certs/server.pfx"]


def test_kinds_are_validated_once_per_content_and_read_the_same_after(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path / "home"))
    keystores.kinds.cache_clear()
    try:
        validated = keystores.kinds()
        markers = list((tmp_path / "home" / "cache").glob("keystores-*.checked"))
        assert len(markers) == 1
        keystores.kinds.cache_clear()

        def refuse():
            raise AssertionError("validated again although this content passed before")

        monkeypatch.setattr(keystores, "_spec", refuse)
        assert keystores.kinds() == validated  # the same kinds, read without the model
        assert all(isinstance(k.names, tuple) and isinstance(k.magic, tuple) for k in validated)
    finally:
        keystores.kinds.cache_clear()
