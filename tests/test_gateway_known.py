"""Known values: what was replaced once is found again literally, with its original finding."""

from __future__ import annotations

from clientguard.detect import Finding
from clientguard.gateway.known import REBUILD_AFTER, KnownValues


def _finding(rule: str = "aws-secret-access-key") -> Finding:
    return Finding(rule_id=rule, title="t", kind="secret", severity="high", start=0, end=0,
                   fingerprint="0" * 16, label="AWS_SECRET_ACCESS_KEY")


def test_a_known_value_is_found_at_every_occurrence_in_every_text() -> None:
    known = KnownValues()
    known.add("FAKE0000secretvalue", _finding())
    found = known.find_many(["a FAKE0000secretvalue b FAKE0000secretvalue", "none", "x FAKE0000secretvalue"])
    assert [[(f.start, f.end) for f in fs] for fs in found] == [[(2, 21), (24, 43)], [], [(2, 21)]]
    assert found[0][0].rule_id == "aws-secret-access-key"


def test_short_values_are_not_remembered() -> None:
    known = KnownValues()
    known.add("abc", _finding())
    assert len(known) == 0


def test_values_are_still_found_after_the_literal_database_is_rebuilt() -> None:
    known = KnownValues()
    values = [f"FAKE0000value{i:04d}zz" for i in range(REBUILD_AFTER * 2 + 3)]
    for v in values:
        known.add(v, _finding())
    texts = [f"text with {v} inside, and ü non-ascii" for v in values[::7]]
    found = known.find_many(texts)
    assert all(len(fs) == 1 and t[fs[0].start:fs[0].end] in values for fs, t in zip(found, texts))


def test_a_few_values_resent_in_long_requests_are_compiled_in_after_a_while() -> None:
    from clientguard.gateway import known as known_module

    if known_module.hyperscan is None:  # pragma: no cover - the literal database needs hyperscan
        return
    known = KnownValues()
    known.add("FAKE0000secretvalue", _finding())
    text = "x" * 100_000 + " FAKE0000secretvalue"
    rounds = known_module.REBUILD_AFTER_CHARS // len(text) + 2
    for _ in range(rounds):
        found = known.find_many([text])
        assert [(f.start, f.end) for f in found[0]] == [(100_001, 100_020)]
    # One value stayed below REBUILD_AFTER, but the characters searched one by one paid for a rebuild.
    assert known._built[1] == ["FAKE0000secretvalue"] and known._pending == []


def test_literal_database_offsets_find_every_occurrence_in_ascii_texts_as_str_find_does() -> None:
    # ASCII texts take their positions from the literal database's match offsets: every occurrence,
    # overlapping ones too, in the text it falls in, as str.find finds them.
    known = KnownValues()
    values = [f"FAKE0000value{i:04d}zz" for i in range(REBUILD_AFTER + 1)] + ["abcabcab"]
    for v in values:
        known.add(v, _finding())
    texts = ["abcabcabcab and FAKE0000value0003zz", "", "FAKE0000value0003zzFAKE0000value0007zz",
             "nothing here", "tail abcabcab"]
    found = known.find_many(texts)
    from clientguard.gateway import known as known_module

    assert (known._built[0] is not None) == (known_module.hyperscan is not None)  # the database path ran
    expected = []
    for text in texts:
        spans = []
        for v in values:
            pos = text.find(v)
            while pos != -1:
                spans.append((pos, pos + len(v)))
                pos = text.find(v, pos + 1)
        expected.append(sorted(spans))
    assert [sorted((f.start, f.end) for f in fs) for fs in found] == expected
    assert expected[0][:2] == [(0, 8), (3, 11)]
