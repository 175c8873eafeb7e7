"""Every detection rule matches its examples and none of its counter-examples, in both engines."""

from __future__ import annotations

import dataclasses

import pytest

from clientguard.detect import Detector, builtin_rules, hyperscan_available, load_rules
from clientguard.errors import RuleError
from _detect_support import needs_hyperscan

RULES = builtin_rules()
KEY = b"k" * 32
ENGINES = ["python"] + (["hyperscan"] if hyperscan_available() else [])


def _rule_ids(detector: Detector, text: str) -> set[str]:
    return {f.rule_id for f in detector.scan(text)}


@pytest.fixture(scope="module", params=ENGINES)
def detectors(request) -> dict[str, Detector]:
    return {r.id: Detector([r], fingerprint_key=KEY, engine=request.param) for r in RULES}


#: Lines of these lengths put before an example: hyperscan 0.9.1 once found `"..." == passwd` in a text of
#: 34 bytes and missed it in one of 35 (a rule's prefilter with two particular alternatives in one group).
PADDINGS = (1, 33, 64, 200)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_matches_each_example(rule, detectors):
    det = detectors[rule.id]
    missed = [ex for ex in rule.examples if rule.id not in _rule_ids(det, ex)]
    assert not missed, f"{rule.id} ({det.engine}) does not match: {missed}"
    moved = [(n, ex) for ex in rule.examples for n in PADDINGS if rule.id not in _rule_ids(det, "x" * n + "\n" + ex)]
    assert not moved, f"{rule.id} ({det.engine}) does not match after a line of n characters: {moved}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_ignores_each_counter_example(rule, detectors):
    det = detectors[rule.id]
    wrong = [ex for ex in rule.counter_examples if rule.id in _rule_ids(det, ex)]
    assert not wrong, f"{rule.id} ({det.engine}) matches counter-examples: {wrong}"


def test_builtin_rule_set_covers_at_least_120_secret_formats():
    assert sum(1 for r in RULES if r.kind == "secret") >= 120


def test_rule_ids_are_unique():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))


@needs_hyperscan
def test_every_rule_compiles_into_one_hyperscan_database():
    det = Detector(list(RULES), fingerprint_key=KEY, engine="hyperscan")
    assert det.engine == "hyperscan"


def _write(tmp_path, body: str):
    path = tmp_path / "rules.toml"
    path.write_text(body, encoding="utf-8")
    return path


VALID = '''
[[rule]]
id = "demo-token"
title = "Demo token"
kind = "secret"
severity = "high"
pattern = 'demo_[a-z0-9]{8}'
examples = ["demo_abcd1234", "x = demo_zzzz9999"]
counter_examples = ["demo_short"]
'''


def test_a_valid_rule_file_loads(tmp_path):
    assert [r.id for r in load_rules([_write(tmp_path, VALID)])] == ["demo-token"]


def test_a_rule_with_a_bad_pattern_is_rejected_with_file_and_rule(tmp_path):
    path = _write(tmp_path, VALID.replace("demo_[a-z0-9]{8}", "demo_[a-z"))
    with pytest.raises(RuleError, match=r"rules\.toml: rule #1 \(demo-token\): pattern does not compile"):
        load_rules([path])


def test_a_rule_missing_a_field_is_rejected_naming_the_field(tmp_path):
    path = _write(tmp_path, VALID.replace('severity = "high"\n', ""))
    with pytest.raises(RuleError, match=r"demo-token.*severity: Field required"):
        load_rules([path])


def test_a_rule_with_one_example_is_rejected(tmp_path):
    path = _write(tmp_path, VALID.replace('examples = ["demo_abcd1234", "x = demo_zzzz9999"]', 'examples = ["demo_abcd1234"]'))
    with pytest.raises(RuleError, match=r"examples"):
        load_rules([path])


def test_a_rule_naming_an_unknown_validator_is_rejected(tmp_path):
    path = _write(tmp_path, VALID.replace('severity = "high"', 'severity = "high"\nvalidator = "nope"'))
    with pytest.raises(RuleError, match=r"unknown validator 'nope'"):
        load_rules([path])


def test_a_named_file_set_is_expanded_and_an_unknown_one_is_rejected(tmp_path):
    sets = '[file_sets]\ntranslations = ["*.po", "**/i18n/**/*.json"]\n'
    path = _write(tmp_path, sets + VALID.replace('severity = "high"', 'severity = "high"\nskip_files = ["*.lock", "@translations"]'))
    assert load_rules([path])[0].skip_files == ("*.lock", "*.po", "**/i18n/**/*.json")
    path = _write(tmp_path, sets + VALID.replace('severity = "high"', 'severity = "high"\nskip_files = ["@locales"]'))
    with pytest.raises(RuleError, match=r"demo-token.*skip_files names @locales, which the file's \[file_sets\] table "
                                        r"does not define \(it defines @translations\)"):
        load_rules([path])
    path = _write(tmp_path, '[file_sets]\ntranslations = "*.po"\n' + VALID)
    with pytest.raises(RuleError, match=r"\[file_sets\] must map each name to a non-empty list of file globs"):
        load_rules([path])


def test_a_rule_naming_an_unknown_database_is_rejected(tmp_path):
    path = _write(tmp_path, VALID.replace('severity = "high"', 'severity = "high"\ndatabase = "fast"'))
    with pytest.raises(RuleError, match=r"demo-token.*database: Input should be 'secret' or 'pii'"):
        load_rules([path])


@needs_hyperscan
def test_a_rule_naming_the_other_database_is_scanned_there_with_the_same_findings(tmp_path):
    as_pii = VALID.replace('kind = "secret"', 'kind = "pii"').replace('"demo-token"', '"demo-pii"')
    pii = load_rules([_write(tmp_path, as_pii)])[0]
    moved = dataclasses.replace(pii, database="secret")
    secret = load_rules([_write(tmp_path, VALID)])[0]
    text = "a = demo_abcd1234\nb = demo_zzzz9999 and demo_short\n"
    plain = Detector([secret, pii], fingerprint_key=KEY, engine="hyperscan")
    mixed = Detector([secret, moved], fingerprint_key=KEY, engine="hyperscan")
    assert len(plain._dbs) == 2 and len(mixed._dbs) == 1  # the PII rule joined the secrets' database
    spans = lambda det: sorted((f.rule_id, f.kind, f.start, f.end) for f in det.scan(text))  # noqa: E731
    assert spans(mixed) == spans(plain) == spans(Detector([secret, moved], fingerprint_key=KEY, engine="python"))
    assert {k for _, k, _, _ in spans(mixed)} == {"secret", "pii"}


def test_the_email_rule_is_scanned_with_the_secrets():
    assert next(r for r in RULES if r.id == "email-address").database == "secret"


def test_malformed_toml_is_rejected_with_its_location(tmp_path):
    path = _write(tmp_path, "[[rule]\nid = ")
    with pytest.raises(RuleError, match=r"not valid TOML: .*line 1"):
        load_rules([path])


def test_built_in_rules_are_validated_once_per_exact_file_content(tmp_path, monkeypatch) -> None:
    import shutil

    from clientguard.detect import engine
    from clientguard.detect.rules import BUILTIN_RULES_DIR, HS_EXPRESSIONS, SHAPES, _cache_file, load_rules

    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path / "home"))
    files = sorted(BUILTIN_RULES_DIR.glob("*.toml"))
    cache = _cache_file(files)
    assert cache is not None and not cache.exists()
    first = load_rules()
    assert cache.exists()
    HS_EXPRESSIONS.clear()
    SHAPES.clear()
    second = load_rules()  # from the cache: the same rules, field for field, tuples as tuples
    assert [dataclasses.asdict(r) for r in second] == [dataclasses.asdict(r) for r in first]
    assert all(isinstance(r.examples, tuple) and isinstance(r.keywords, tuple) for r in second)
    cached = {r.id: engine._hs_expression(r) for r in second}
    shapes = {r.id: (engine._Compiled(r).width, engine._Compiled(r).newlines) for r in second}
    HS_EXPRESSIONS.clear()
    SHAPES.clear()
    assert {r.id: engine._hs_expression(r) for r in first} == cached  # derived again: the same expressions
    assert {r.id: (engine._Compiled(r).width, engine._Compiled(r).newlines) for r in first} == shapes
    # A damaged cache is not trusted: the files are parsed again.
    cache.write_text("{not json", encoding="utf-8")
    assert [r.id for r in load_rules()] == [r.id for r in first]
    # Any change to a file's content is another cache, so the rules are validated again.
    copies = tmp_path / "rules"
    shutil.copytree(BUILTIN_RULES_DIR, copies)
    changed = copies / files[0].name
    changed.write_text(changed.read_text() + "\n# edited\n")
    assert _cache_file(sorted(copies.glob("*.toml"))) != cache


def test_every_rules_file_may_name_the_shared_file_sets_but_not_define_them_again(tmp_path):
    path = _write(tmp_path, VALID.replace('severity = "high"', 'severity = "high"\nskip_files = ["@lockfiles"]'))
    assert "package-lock.json" in load_rules([path])[0].skip_files
    path = _write(tmp_path, '[file_sets]\nlockfiles = ["*.lock"]\n' + VALID)
    with pytest.raises(RuleError, match=r"\[file_sets\] defines @lockfiles, which file_sets\.toml defines"):
        load_rules([path])
