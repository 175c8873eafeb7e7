"""The detector's on-disk caches stay bounded: the least recently used compiled databases go first, and a
database in use is kept (each client's identifiers make one, holding the client's names)."""

from __future__ import annotations

import os
import time

from clientguard.datadir import data_dir, prune
from clientguard.detect import Detector, engine
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
    monkeypatch.setattr(engine, "HS_CACHE_KEEP", 4)
    engine._hs_database.cache_clear()
    cache = data_dir() / "cache"

    def databases() -> set[str]:
        return {p.name for p in cache.glob("hyperscan-*.db")}

    Detector.create(["Acme Health"], fingerprint_key=b"k" * 32)
    first = databases()  # the secrets database (every detector loads it) and Acme's
    assert len(first) == 2
    added: list[str] = []
    for n in range(6):
        time.sleep(0.01)  # distinct modification times
        engine._hs_database.cache_clear()  # as in a new process: from the disk cache
        before = databases()
        Detector.create([f"Client {n} GmbH"], fingerprint_key=b"k" * 32)
        added += sorted(databases() - before)
    final = databases()
    assert len(final) == 4
    assert len(added) == 6  # each client's names made a database of their own
    assert set(added[-3:]) <= final  # the newest clients' databases stay ...
    assert len(first & final) == 1  # ... with the shared secrets database, used by every detector; Acme's went
    engine._hs_database.cache_clear()
