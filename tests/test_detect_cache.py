"""The detector's on-disk caches stay bounded (the least recently used compiled databases go first) and
never hold a client's identifiers: a database with them is compiled in memory only."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from clientguard.datadir import data_dir, prune
from clientguard.detect import Detector, engine
from clientguard.detect.rules import builtin_rules
from _detect_support import needs_hyperscan


def test_prune_keeps_the_most_recently_used_files(tmp_path):
    for i in range(10):
        path = tmp_path / f"hyperscan-{i:02d}.db"
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "other.txt").write_text("kept")
    assert prune(tmp_path, "hyperscan-*.db", 3) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hyperscan-07.db", "hyperscan-08.db", "hyperscan-09.db",
                                                          "other.txt"]


@needs_hyperscan
def test_compiled_databases_are_bounded_and_the_ones_in_use_survive(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(engine, "HS_CACHE_KEEP", 2)
    engine._hs_database.cache_clear()
    # A database an earlier test's rules preparation started compiling (into its own data directory) and no
    # detector took: this test counts the files of its own.
    with engine._IN_FLIGHT_LOCK:
        engine._IN_FLIGHT.clear()
    cache = data_dir() / "cache"

    def databases() -> set[str]:
        return {p.name for p in cache.glob("hyperscan-*.db")}

    Detector.create(fingerprint_key=b"k" * 32)
    builtin = databases()  # the built-in rules: secrets, and the rest
    assert len(builtin) == 2
    for n in range(3):
        time.sleep(0.01)  # distinct modification times
        engine._hs_database.cache_clear()  # as in a new process: from the disk cache
        Detector.create(rules=[r for r in builtin_rules() if r.kind != "secret"][n:], fingerprint_key=b"k" * 32)
    final = databases()
    assert len(final) == 2  # three rule sets of one's own came and the oldest went ...
    engine._hs_database.cache_clear()
    Detector.create(fingerprint_key=b"k" * 32)  # ... and the built-in ones are compiled again when needed
    assert builtin <= databases()
    engine._hs_database.cache_clear()


@needs_hyperscan
@pytest.mark.parametrize("identifiers", [["Quorblex Health", "quorblex-health.de"], ["Zanthia Moreau"]])
def test_no_cache_file_holds_a_client_identifier(tmp_path, monkeypatch, identifiers):
    """A compiled database keeps its literals readable: one built with a client's names stays in memory."""
    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path / "home"))
    engine._hs_database.cache_clear()
    detector = Detector.create(identifiers, fingerprint_key=b"k" * 32)
    text = f"mail {identifiers[-1].lower()} about the invoice"
    assert [f.rule_id for f in detector.scan(text)] == ["client-identifier"]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    # The built-in secrets and PII databases are cached; the identifiers' own one is not.
    assert len([p for p in files if p.name.startswith("hyperscan-")]) == 2
    for path in files:
        data = path.read_bytes().lower()
        for ident in identifiers:
            for word in ident.lower().replace("-", " ").replace(".", " ").split():
                if len(word) >= 5:  # ("de" is in any binary file)
                    assert word.encode() not in data, f"{path.name} holds {word!r}"
    engine._hs_database.cache_clear()


@needs_hyperscan
def test_a_start_with_identifiers_compiles_only_their_database(tmp_path, monkeypatch):
    """The PII and secrets databases come from the cache even when a policy names identifiers: only the
    small database of the identifiers is compiled at each start."""
    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path / "home"))
    engine._hs_database.cache_clear()
    Detector.create(["Quorblex Health"], fingerprint_key=b"k" * 32)  # fills the cache
    engine._hs_database.cache_clear()  # as in a new process
    compiled: list[int] = []
    real = engine._hs_compile

    def counting(exprs, flags):
        compiled.append(len(exprs))
        return real(exprs, flags)

    monkeypatch.setattr(engine, "_hs_compile", counting)
    detector = Detector.create(["Quorblex Health", "quorblex-health.de"], fingerprint_key=b"k" * 32)
    assert compiled == [1]  # the identifiers' one expression, nothing else
    found = detector.scan("Quorblex Health: AKIAIOSFODNN7EXAMPLE, jane.doe@quorblex-health.de")
    assert sorted({f.kind for f in found}) == ["identifier", "pii", "secret"]
    engine._hs_database.cache_clear()


@needs_hyperscan
def test_identifiers_share_the_pii_database_when_asked_with_the_same_findings(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path / "home"))
    engine._hs_database.cache_clear()
    apart = Detector.create(["Quorblex Health", "quorblex-health.de"], fingerprint_key=b"k" * 32)
    shared = Detector.create(["Quorblex Health", "quorblex-health.de"], fingerprint_key=b"k" * 32,
                             identifiers_apart=False)
    assert (len(apart._dbs), len(shared._dbs)) == (3, 2)
    text = "Quorblex Health: AKIAIOSFODNN7EXAMPLE, jane.doe@quorblex-health.de, 4111 1111 1111 1111\n" * 3
    assert apart.scan(text) == shared.scan(text) and len(apart.scan(text)) >= 12
    assert len([p for p in (tmp_path / "home").rglob("hyperscan-*.db")]) == 2  # neither cached the identifiers
    engine._hs_database.cache_clear()


_FIRST_RUN = """
import json, threading
from clientguard.detect import engine
from clientguard.detect.engine import Detector
real = engine._hs_compile
threads = []
def counting(exprs, flags):
    threads.append(threading.current_thread().name)
    return real(exprs, flags)
engine._hs_compile = counting
detector = Detector.create(fingerprint_key=b"k" * 32)  # no rules cache yet: prepares them, compiles the databases
found = detector.scan("AWS_KEY=AKIAIOSFODNN7EXAMPLE owner jane.doe@quorblex-health.de")
print(json.dumps({"threads": threads, "waiting": len(engine._IN_FLIGHT),
                  "found": sorted((f.rule_id, f.start, f.end) for f in found)}))
"""


@needs_hyperscan
def test_a_first_run_compiles_each_database_once_beside_the_rules_preparation(tmp_path):
    """With no cache at all, the databases compile on threads of their own while the rules are prepared
    (first run 14 -> 9 s here), each once, and give what a detector from the cache gives."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "CLIENTGUARD_HOME": str(tmp_path / "home")}
    runs = [json.loads(subprocess.run([sys.executable, "-c", _FIRST_RUN], env=env, capture_output=True, text=True,
                                      check=True, timeout=300).stdout) for _ in range(2)]
    first, second = runs
    assert first["threads"] == ["clientguard-compile"] * 2  # the secrets' and the PII database, once each
    assert second["threads"] == []  # both from the cache
    assert first["waiting"] == second["waiting"] == 0
    assert first["found"] == second["found"] and {r for r, _, _ in first["found"]} >= {"aws-access-key-id",
                                                                                      "email-address"}
    assert len(list((tmp_path / "home" / "cache").glob("hyperscan-*.db"))) == 2


@needs_hyperscan
def test_preparing_ahead_fills_the_caches_a_scan_reads_and_makes_no_key(tmp_path):
    """What scripts/env.sh runs after installing: a machine's first scan then starts from the caches."""
    import subprocess
    import sys

    env = {**os.environ, "CLIENTGUARD_HOME": str(tmp_path / "home")}
    prepare = [sys.executable, "-m", "clientguard.detect.prepare"]
    first = subprocess.run(prepare, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "preparing the detection rules" in first.stderr
    cache = tmp_path / "home" / "cache"
    assert len(list(cache.glob("hyperscan-*.db"))) == 2
    assert len(list(cache.glob("rules-*.json"))) == len(list(cache.glob("keystores-*.checked"))) == 1
    assert not (tmp_path / "home" / "keys").exists()  # no fingerprint key until a scan needs one
    again = subprocess.run(prepare, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stderr == ""
    before = {p.name: p.stat().st_size for p in cache.iterdir()}
    (tmp_path / "a.py").write_text("x = 1\n")
    scan = subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--format", "json", str(tmp_path / "a.py")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert scan.returncode == 0, scan.stderr
    assert {p.name: p.stat().st_size for p in cache.iterdir()} == before  # nothing compiled or written again

    # `clientguard demo` keeps a data directory of its own and starts it with copies of these caches: its scan of
    # the demo client then compiles nothing either, and its keys stay its own.
    seed = ("import sys\nfrom pathlib import Path\nfrom clientguard.demo import seed_caches\n"
            "print(seed_caches(Path(sys.argv[1])), seed_caches(Path(sys.argv[1])))")
    demo_home = tmp_path / "demo" / "home"
    seeded = subprocess.run([sys.executable, "-c", seed, str(demo_home)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.split() == [str(len(before)), "0"]  # the second call finds them all there
    demo_cache = {p.name: p.stat().st_size for p in (demo_home / "cache").iterdir()}
    assert demo_cache == before
    scan = subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--format", "json", "--no-progress",
                           str(Path(__file__).resolve().parents[1] / "examples" / "acme-client")],
                          env={**env, "CLIENTGUARD_HOME": str(demo_home)}, capture_output=True, text=True, timeout=300)
    assert scan.returncode == 1 and json.loads(scan.stdout)["findings"], scan.stderr
    assert {p.name: p.stat().st_size for p in (demo_home / "cache").iterdir()} == demo_cache
    user_keys = {k.name: k.read_bytes() for k in (tmp_path / "home" / "keys").iterdir()}
    demo_keys = {k.name: k.read_bytes() for k in (demo_home / "keys").iterdir()}
    assert demo_keys and all(key != user_keys.get(name) for name, key in demo_keys.items())
