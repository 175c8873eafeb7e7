"""Compiled rule patterns kept beside the rules cache (clientguard/detect/programs.py): the patterns built from
the kept programs are the ones `re.compile` builds, a damaged or foreign file is never used, and a new
process takes the built-in rules' patterns from the file instead of compiling them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from clientguard.detect import programs as programs_module
from clientguard.detect.engine import rule_sources
from clientguard.detect.programs import Programs, dump
from clientguard.detect.rules import builtin_rules
from clientguard.detect.validators import LAZY_SOURCES

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not programs_module._USABLE, reason="programs are kept only on CPython")


def _sources() -> dict[tuple[str | bytes, int], list[str]]:
    """Every pattern the engine and the validators compile, with the texts to try each on."""
    found: dict[tuple[str | bytes, int], list[str]] = {}
    for rule in builtin_rules():
        for source in rule_sources(rule):
            found.setdefault(source, []).extend([*rule.examples, *rule.counter_examples])
    for source in LAZY_SOURCES:
        found.setdefault(source, [])
    return found


def _behaviour(pattern: re.Pattern, texts: list[str]) -> list:
    out = []
    for text in texts:
        subject = text if isinstance(pattern.pattern, str) else text.encode("ascii", "replace")
        out.append([(m.span(), m.groupdict()) for m in pattern.finditer(subject)])
    return out


def test_this_python_builds_the_patterns_re_compile_builds():
    assert programs_module._agrees()


def test_kept_programs_give_the_patterns_re_compile_gives(monkeypatch):
    sources = _sources()
    kept = Programs(data=dump(sources))
    assert len(kept) == len(sources)  # every built-in pattern has its program
    reference = {key: re.compile(*key) for key in sources}
    # Compiled with re.compile unavailable: each pattern below comes from a kept program.
    refuse = types.SimpleNamespace(compile=lambda *_a: pytest.fail("compiled instead of taken from the file"))
    monkeypatch.setattr(programs_module, "re", refuse)
    for key, texts in sources.items():
        got, want = kept.compile(*key), reference[key]
        assert (got.pattern, got.flags, got.groups, dict(got.groupindex)) == \
            (want.pattern, want.flags, want.groups, dict(want.groupindex)), key
        assert _behaviour(got, texts) == _behaviour(want, texts), key


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "other python", "not a program file", "empty",
                                    "a matcher that builds other patterns"])
def test_a_damaged_or_foreign_file_is_never_used(damage, monkeypatch, tmp_path):
    key = (r"(?P<user>[a-z]+):(?P<password>[^@\s:/]{4,})@", re.ASCII)
    data = dump([key])
    assert len(Programs(data=data)) == 1
    if damage == "flipped byte":
        data = data[:-40] + bytes([data[-40] ^ 0x20]) + data[-39:]
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "other python":
        monkeypatch.setattr(programs_module.sys, "version", "3.11.0 (another build)")
    elif damage == "not a program file":
        data = b"\x00" * 64 + data
    elif damage == "empty":
        data = b""
    else:
        monkeypatch.setattr(programs_module, "_agrees", lambda: False)
    path = tmp_path / "rules-x.sre"
    path.write_bytes(data)
    kept = Programs(path=path)
    assert len(kept) == 0
    pattern = kept.compile(*key)  # compiled as usual
    assert pattern.search("see https://deploy:Tr0ub4dor@db.example").group("password") == "Tr0ub4dor"
    assert len(Programs(path=tmp_path / "missing.sre")) == 0


_CHILD = r"""
import json, sys
import re._compiler as compiler
compiled = []
original = compiler.compile
def recording(p, flags=0):
    compiled.append(p if isinstance(p, str) else p.decode("latin-1"))
    return original(p, flags)
compiler.compile = recording
from clientguard.detect import Detector
from clientguard.detect.engine import rule_sources
from clientguard.detect.rules import builtin_rules
detector = Detector.create(["Quorblex Health"], fingerprint_key=b"k" * 32)
texts = sys.argv[1:]
findings = [[(f.rule_id, f.start, f.end) for f in detector.scan(t)] for t in texts]
builtin = {s if isinstance(s, str) else s.decode("latin-1") for r in builtin_rules() for s, _ in rule_sources(r)}
print(json.dumps({"findings": findings, "compiled_builtin": len([p for p in compiled if p in builtin])}))
"""


def test_a_new_process_takes_the_builtin_patterns_from_the_file(tmp_path):
    env = {**os.environ, "CLIENTGUARD_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    texts = [
        "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "0000TESTKEY",
        "DATABASE_URL=postgres://app:Pg0000TESTz7q@db.internal:5432/app",
        "write to jane.doe@quorblex-health.example or call +44 20 7946 0958",
        "Quorblex Health signed the NDA; password = 'Xk9#mQ2vL0000TEST'",
    ]

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", _CHILD, *texts], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = run()  # writes the rules cache and the programs beside it
    files = list((tmp_path / "home" / "cache").glob("rules-*.sre"))
    assert len(files) == 1
    second = run()
    assert second["findings"] == first["findings"]
    assert all(first["findings"]), first["findings"]  # every text has findings
    assert first["compiled_builtin"] > 0  # the first process compiled patterns for the file ...
    assert second["compiled_builtin"] == 0  # ... the second took them all from it
    # The client's identifiers are compiled in each process, never written.
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            assert b"quorblex" not in path.read_bytes().lower(), path.name
