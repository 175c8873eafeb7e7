"""The engine's contract: exact offsets, keyed fingerprints, one pass over many segments, identical engines."""

from __future__ import annotations

import base64
import dataclasses

import random
import string
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientguard.detect import Detector, builtin_rules, fingerprint, hyperscan_available, select_non_overlapping
from clientguard.detect.engine import KIND_RANK
from clientguard.detect.model import Finding
from _detect_support import HYPERSCAN_EXPECTED, needs_hyperscan

KEY = b"t" * 32
ROOT = Path(__file__).resolve().parents[1]


def _aws_key(rng: random.Random) -> str:
    return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector.create(["Acme Health", "acme-health.de", "acmehealth"], fingerprint_key=KEY)


def test_findings_carry_exact_character_offsets(det):
    text = "naïve café → mail jane.doe@acme-health.de now"
    f = next(f for f in det.scan(text) if f.rule_id == "email-address")
    assert text[f.start:f.end] == "jane.doe@acme-health.de"


def test_fingerprint_is_keyed_and_never_the_value(det):
    text = "mail jane.doe@acme-health.de"
    f = next(f for f in det.scan(text) if f.rule_id == "email-address")
    assert f.fingerprint == fingerprint(KEY, "jane.doe@acme-health.de")
    assert f.fingerprint != fingerprint(b"other-key" * 4, "jane.doe@acme-health.de")
    assert "jane" not in repr(f)


def test_identifiers_match_case_insensitively_at_word_boundaries(det):
    text = "ACME HEALTH ships acmehealth_billing; see https://billing.acme-health.de/x and bob@acme-health.de"
    spans = [text[f.start:f.end] for f in det.scan(text) if f.kind == "identifier"]
    assert spans == ["ACME HEALTH", "acmehealth", "acme-health.de", "acme-health.de"]


def test_identifiers_do_not_match_inside_longer_words(det):
    assert not [f for f in det.scan("acmehealthcare and notacmehealth") if f.kind == "identifier"]


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_identifiers_with_letters_beyond_ascii_match_in_any_case(engine):
    # Rules are compiled with re.ASCII, whose IGNORECASE folds ASCII letters only: MÜLLER and ørsted were missed.
    d = Detector.create(["Müller Bäckerei", "Société Générale", "Ørsted", "Hauptstraße"], fingerprint_key=KEY,
                        engine=engine)
    text = ("Kunde: MÜLLER BÄCKEREI GmbH; société générale; SOCIÉTÉ GÉNÉRALE SA; ørsted A/S; HAUPTSTRASSE 5; "
            "Bäckermüller Bäckerei; Müller Bäckereien")
    spans = [text[f.start:f.end] for f in d.scan(text) if f.kind == "identifier"]
    assert spans == ["MÜLLER BÄCKEREI", "société générale", "SOCIÉTÉ GÉNÉRALE", "ørsted", "HAUPTSTRASSE"]


def test_identifier_with_space_matches_across_a_line_break(det):
    text = "Acme\n    Health GmbH"
    assert [text[f.start:f.end] for f in det.scan(text) if f.kind == "identifier"] == ["Acme\n    Health"]


def test_inline_allow_comment_silences_its_line(det):
    text = 'email = "jane.doe@acme-corp.com"  # clientguard:allow\nother = "john@acme-corp.com"'
    found = [text[f.start:f.end] for f in det.scan(text) if f.kind == "pii"]
    assert found == ["john@acme-corp.com"]


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
@pytest.mark.parametrize("comment", [
    "# pragma: allowlist secret", "// pragma:allowlist secret", "# pragma: whitelist secret",
    "# pragma: allowlist-secret", "# gitleaks:allow", "// trufflehog:ignore", "# clientguard:allow"])
def test_other_scanners_allow_comments_silence_their_line(engine, comment):
    """A client's repository may already mark the lines it reviewed for detect-secrets, gitleaks or TruffleHog;
    those lines are not reported again, in bytes (a scan) or text (a request), and the next line still is."""
    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    text = (f'ok_email = "jane.doe@acme-corp.com"  {comment}\n'
            'other = "john@acme-corp.com"  # allowlist of the secret senders\n')
    for scan in (det.scan, lambda t: det.scan_many([t])[0]):
        assert [text[f.start:f.end] for f in scan(text) if f.kind == "pii"] == ["john@acme-corp.com"]


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_json_nested_a_thousand_deep_inside_a_token_does_not_stop_the_scan(engine):
    """Validators decode base64 JSON (a JWT's header, a pull secret's Docker config); nested objects a thousand
    deep made json raise RecursionError out of the scan, and `clientguard scan` stopped on that file."""
    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    nested = b'{"a":' * 1500

    def b64url(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    text = (f'token = "{b64url(nested)}.{b64url(b"{}")}.c2lnbmF0dXJlc2lnbmF0dXJl"\n'
            f"Authorization: Bearer {b64url(nested)}\n"
            f"  .dockerconfigjson: {base64.b64encode(nested).decode()}\n"
            'email = "jane.doe@acme-corp.com"\n')
    assert "jane.doe@acme-corp.com" in [text[f.start:f.end] for f in det.scan(text)]


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_detect_secrets_nextline_pragma_silences_the_line_after_it(engine):
    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    text = ('# pragma: allowlist nextline secret\nemail = "jane.doe@acme-corp.com"\n'
            'other = "john@acme-corp.com"\n')
    assert [text[f.start:f.end] for f in det.scan(text) if f.kind == "pii"] == ["john@acme-corp.com"]
    first = 'email = "jane.doe@acme-corp.com"\n# pragma: allowlist nextline secret\n'
    assert [first[f.start:f.end] for f in det.scan(first) if f.kind == "pii"] == ["jane.doe@acme-corp.com"]


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_an_allow_comment_far_along_a_long_line_still_silences_it(engine):
    """Lines longer than LONG_LINE are searched whole only when the text holds a marker at all."""
    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    from clientguard.detect.engine import LONG_LINE
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    filler = "x = 1; " * (LONG_LINE // 3)
    allowed = f'{filler}email = "jane.doe@acme-corp.com"; {filler} // gitleaks:allow\nnext = "john@acme-corp.com"\n'
    assert [allowed[f.start:f.end] for f in det.scan(allowed) if f.kind == "pii"] == ["john@acme-corp.com"]
    plain = f'{filler}email = "jane.doe@acme-corp.com"; {filler}\n'
    assert [plain[f.start:f.end] for f in det.scan(plain) if f.kind == "pii"] == ["jane.doe@acme-corp.com"]
    pragma = f'{filler} # pragma: allowlist nextline secret\nemail = "jane.doe@acme-corp.com"\n'
    assert [pragma[f.start:f.end] for f in det.scan(pragma) if f.kind == "pii"] == []


def test_allow_comments_are_not_honoured_when_the_detector_is_told_not_to():
    det = Detector.create(fingerprint_key=b"k" * 32, honor_inline_allow=False)
    text = 'email = "jane.doe@acme-corp.com"  # gitleaks:allow'
    assert [text[f.start:f.end] for f in det.scan(text)] == ["jane.doe@acme-corp.com"]


def test_scan_many_gives_offsets_per_segment(det):
    segs = ["nothing here", "write to jane.doe@acme-corp.com", "and john@acme-corp.com"]
    result = det.scan_many(segs)
    assert result[0] == []
    assert [segs[1][f.start:f.end] for f in result[1]] == ["jane.doe@acme-corp.com"]
    assert [segs[2][f.start:f.end] for f in result[2]] == ["john@acme-corp.com"]


def test_no_match_spans_two_segments(det):
    result = det.scan_many(["card 4111 1111", "1111 1111 end"])
    assert all(f.rule_id != "payment-card-number" for fs in result for f in fs)


def test_select_non_overlapping_prefers_the_longer_span(det):
    text = "contact anna@acme-health.de today"
    chosen = select_non_overlapping(det.scan(text))
    assert [text[f.start:f.end] for f in chosen] == ["anna@acme-health.de"]


def _kept_ranking_all_at_once(findings):
    """The plain form of select_non_overlapping (rank every finding, keep each that overlaps none kept)."""
    kept = []
    for f in sorted(findings, key=lambda f: (-(f.end - f.start), -KIND_RANK[f.kind], -f.priority, f.start)):
        if not any(f.start < k.end and k.start < f.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


_SPAN = st.tuples(st.integers(0, 60), st.integers(1, 12), st.sampled_from(["secret", "pii", "identifier"]),
                  st.integers(-10, 10))


@given(st.lists(_SPAN, max_size=30))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_select_non_overlapping_by_clusters_keeps_what_ranking_all_at_once_keeps(spans):
    findings = [Finding(f"r{i}", "t", kind, "low", start, start + length, f"fp{i}", "X", prio)
                for i, (start, length, kind, prio) in enumerate(spans)]
    assert select_non_overlapping(findings) == _kept_ranking_all_at_once(findings)


@needs_hyperscan
def test_auto_engine_uses_hyperscan_when_installed():
    assert Detector.create(fingerprint_key=KEY).engine == "hyperscan"


def _corpus() -> list[str]:
    rng = random.Random(7)
    texts = []
    for r in builtin_rules():
        texts.extend(r.examples)
        texts.extend(r.counter_examples)
    texts.append("\n".join(texts))  # everything at once, many hits per rule
    for p in sorted((ROOT / "examples" / "acme-client").rglob("*")):
        if p.is_file():
            texts.append(p.read_text(encoding="utf-8", errors="replace"))
    for p in sorted((ROOT / "clientguard").rglob("*.py"))[:40]:
        texts.append(p.read_text(encoding="utf-8"))
    blob = "".join(texts)
    for _ in range(30):  # random windows cut anywhere, including inside matches and multi-byte chars
        a = rng.randrange(len(blob))
        texts.append(blob[a:a + rng.randrange(1, 3000)] + f" {_aws_key(rng)} ü€ {rng.random()}")
    return texts


@needs_hyperscan
def test_hyperscan_and_python_engines_give_identical_findings():
    hs = Detector.create(["Acme Health", "acme-health.de"], fingerprint_key=KEY, engine="hyperscan")
    py = Detector.create(["Acme Health", "acme-health.de"], fingerprint_key=KEY, engine="python")
    corpus = _corpus()
    assert hs.scan_many(corpus) == py.scan_many(corpus)
    for text in corpus:
        assert hs.scan(text) == py.scan(text)


@needs_hyperscan
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([
    "AKIAIOSFODNN7EXAMPLE", "jane.doe@acme-corp.com", "+49 30 901820", "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00", "536-22-8726", "81.169.145.105", "Acme Health", "x", "=", "\n", " ", "é",
    "password = \"", "\"", "token: ", "ghp_", "0123456789abcdef", "sk-", "://user:", "@db.acme-health.de",
]), max_size=40))
def test_engines_agree_on_arbitrary_mixtures(parts):
    hs = _engines()["hyperscan"]
    py = _engines()["python"]
    text = "".join(parts)
    assert hs.scan(text) == py.scan(text)


_ENGINE_CACHE: dict[str, Detector] = {}


def _engines() -> dict[str, Detector]:
    if not _ENGINE_CACHE:
        for name in ("hyperscan", "python"):
            _ENGINE_CACHE[name] = Detector.create(["Acme Health"], fingerprint_key=KEY, engine=name)
    return _ENGINE_CACHE


def _scan_from_threads(det: Detector, text: str, expected: list, threads: int, rounds: int) -> list[BaseException]:
    """Scan `text` `rounds` times from each of `threads` threads at once; the failures, if any."""
    import threading

    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(rounds):
                assert det.scan(text) == expected
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    started = [threading.Thread(target=work) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return errors


@needs_hyperscan
def test_detectors_scan_safely_from_many_threads_at_once():
    det = Detector.create(["Acme Health"], fingerprint_key=KEY)
    text = "AKIAIOSFODNN7EXAMPLE for Acme Health, mail jane.doe@acme-corp.com\n" * 200
    assert not _scan_from_threads(det, text, det.scan(text), threads=8, rounds=20)


def test_a_shell_default_is_reported_without_its_operator(det):
    """In ${SECRET_KEY:-value} the secret is the value: the "-" of the operator stays outside the span, so the
    gateway's placeholder keeps the default syntax and restoring it gives back the original text."""
    rng = random.Random(11)
    value = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(48))
    text = f'  SECRET_KEY: ${{SECRET_KEY:-{value}}}\n'
    (finding,) = [f for f in det.scan(text) if f.kind == "secret"]
    assert text[finding.start:finding.end] == value


@needs_hyperscan
@pytest.mark.parametrize("identifiers_apart", [False, True])
def test_parallel_passes_give_the_findings_of_passes_in_turn(identifiers_apart):
    """The gateway's detector scans a long text's databases on two threads at once; the findings (secrets,
    personal data and identifiers, each from its own database) are those of one pass after the other, on
    texts above and below the length where the passes are split, and from many requests at once."""
    from clientguard.detect import engine

    kwargs = dict(fingerprint_key=KEY, identifiers_apart=identifiers_apart)
    serial = Detector.create(["Acme Health"], **kwargs)
    parallel = Detector.create(["Acme Health"], parallel_passes=True, **kwargs)
    rng = random.Random(5)
    line = "def f(x):\n    return x  # Acme Health, call +49 30 901820 or mail jane.doe@acme-corp.com\n"
    long_text = "".join(f"key_{i} = '{_aws_key(rng)}'\n{line}" for i in range(2000))
    assert len(long_text.encode()) > 4 * engine.PARALLEL_PASS_MIN_BYTES
    short_text = long_text[:2000]
    for text in (long_text, short_text):
        expected = serial.scan(text)
        assert {f.kind for f in expected} == {"secret", "pii", "identifier"}
        assert parallel.scan(text) == expected
        assert parallel.scan_many([text, short_text]) == serial.scan_many([text, short_text])
    assert engine._POOL, "a long text's passes went to the helper threads"
    assert not _scan_from_threads(parallel, long_text, serial.scan(long_text), threads=6, rounds=5)


@needs_hyperscan
def test_the_compiled_database_is_reused_from_the_disk_cache(tmp_path, monkeypatch):
    from clientguard.detect import engine

    monkeypatch.setenv("CLIENTGUARD_HOME", str(tmp_path))
    rules = [r for r in builtin_rules() if r.kind == "pii"]
    exprs = tuple(engine._hs_expression(r) for r in rules)
    engine._hs_database.cache_clear()
    first = Detector(rules, fingerprint_key=KEY, engine="hyperscan")
    assert list((tmp_path / "cache").glob("hyperscan-*.db"))
    engine._hs_database.cache_clear()
    second = Detector(rules, fingerprint_key=KEY, engine="hyperscan")
    text = "mail jane.doe@acme-corp.com, card 4111 1111 1111 1111"
    assert first.scan(text) == second.scan(text) != []
    assert len(exprs) == len(rules)


def test_scan_many_with_the_texts_utf8_bytes_gives_the_same_findings(det):
    segs = ["naïve jane.doe@acme-corp.com", "AKIAIOSFODNN7EXAMPLE ü", "plain"]
    assert det.scan_many(segs, utf8=[s.encode() for s in segs]) == det.scan_many(segs)
    assert det.scan_many(segs[:1], utf8=[segs[0].encode()]) == det.scan_many(segs[:1])


@pytest.mark.parametrize("pattern,bound", [
    (r"key[ \t]*=[ \t]*\w+", 0),
    (r"(?<![\s\S])key\s{0,3}=", 3),
    (r'key="[^"]{1,5}"', 5),
    (r"key:\s+\S+", None),
    (r"a(?:\n|x){2}", 2),
    (r"a.b", 0),
    (r"(?s)a.b", 1),
])
def test_the_line_break_bound_of_a_rule_pattern(pattern, bound):
    from clientguard.detect.engine import UNBOUNDED, _compile

    rule = dataclasses.replace(builtin_rules()[0], pattern=pattern)
    assert _compile(rule).newlines == (UNBOUNDED if bound is None else bound)


def test_scan_ascii_many_gives_the_same_findings_as_scan_many_on_the_texts(det):
    segs = [t for t in _corpus() if t.isascii()][:300]
    assert len(segs) > 100
    assert det.scan_ascii_many([s.encode("ascii") for s in segs]) == det.scan_many(segs)


def test_scan_ascii_many_with_the_python_engine_gives_the_same_findings():
    py = _engines()["python"]
    segs = ["AKIAIOSFODNN7EXAMPLE", "x", "write to jane.doe@acme-corp.com\nfor Acme Health"]
    assert py.scan_ascii_many([s.encode() for s in segs]) == py.scan_many(segs)


def test_scan_ascii_many_refuses_bytes_that_are_not_ascii(det):
    with pytest.raises(UnicodeDecodeError):
        det.scan_ascii_many([b"plain", "caf\u00e9".encode()])


def test_every_rule_has_a_bytes_regex_with_the_same_matches_on_ascii_text():
    from clientguard.detect.engine import _bytes_regex
    from clientguard.detect.rules import compile_rule

    texts = [t for r in builtin_rules() for t in (*r.examples, *r.counter_examples) if t.isascii()]
    texts.append("\n".join(texts))
    for rule in builtin_rules():
        regex = compile_rule(rule)
        bregex = _bytes_regex(rule)
        assert bregex is not None, rule.id
        for text in texts:
            data = text.encode("ascii")
            assert [m.span() for m in bregex.finditer(data)] == [m.span() for m in regex.finditer(text)], rule.id


def test_the_first_character_lookahead_changes_no_match():
    """Rules run behind a lookahead of the characters a match can start with (so `re` skips other positions);
    every rule, guarded or not, must match exactly where its pattern as written does."""
    from clientguard.detect.engine import _Compiled, _matching_pattern
    from clientguard.detect.rules import compile_rule

    demo = Path(__file__).resolve().parents[1] / "examples" / "acme-client"
    texts = [t for r in builtin_rules() for t in (*r.examples, *r.counter_examples)]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(demo.rglob("*")) if p.is_file()]
    texts.append("\n".join(texts))
    guarded = 0
    for rule in builtin_rules():
        plain, matcher = compile_rule(rule), _Compiled(rule).regex
        guarded += _matching_pattern(rule) != rule.pattern
        for text in texts:
            assert [(m.span(), m.groupdict()) for m in matcher.finditer(text)] == \
                [(m.span(), m.groupdict()) for m in plain.finditer(text)], rule.id
    assert guarded > len(builtin_rules()) // 2  # most rules open with a lookbehind or ignore case


def test_the_lookahead_goes_after_global_flags_and_only_where_it_says_something():
    from clientguard.detect.engine import _matching_pattern

    rule = next(iter(builtin_rules()))

    def shaped(pattern: str, ignore_case: bool = False):
        return dataclasses.replace(rule, pattern=pattern, ignore_case=ignore_case)

    assert _matching_pattern(shaped(r"(?x) (?<![a-z]) ghp_ \w+")) == r"(?x)(?=[g]) (?<![a-z]) ghp_ \w+"
    assert _matching_pattern(shaped(r"(?<![A-Za-z])(?:key|tok)\d", True)) == r"(?=[KTkt])(?<![A-Za-z])(?:key|tok)\d"
    assert _matching_pattern(shaped(r"ghp_\w+")) == r"ghp_\w+"  # a literal first: re skips by it already
    assert _matching_pattern(shaped(r"(?<!x)\d*")) == r"(?<!x)\d*"  # can match the empty string
    assert _matching_pattern(shaped(r"(?<!x)[^a]b")) == r"(?<!x)[^a]b"  # starts with almost anything
    # A group that ignores case starts with either case, in a rule that does not (IBAN as well as iban).
    scoped = _matching_pattern(shaped(r"(?<![a-z])(?i:iban)\d"))
    assert scoped == r"(?=[Ii])(?<![a-z])(?i:iban)\d" and re.search(scoped, "IBAN1")


def _windows_by_whole_lines(data: bytes, ends: list[int], reach: int, newlines: int,
                            ahead: int | None = None) -> list[tuple[int, int]]:
    """The window rule written plainly (each end's window from true line starts and ends, then the cut,
    then merged), to check _windows against."""
    from clientguard.detect.engine import LONG_LINE, LOOKAHEAD, UNBOUNDED

    ahead = reach + LOOKAHEAD if ahead is None else ahead
    out: list[tuple[int, int]] = []
    cur_start, cur_end = -1, -1
    for e in ends:
        ws = data.rfind(b"\n", 0, max(0, e - reach)) + 1
        if newlines < UNBOUNDED:
            ls = data.rfind(b"\n", 0, max(0, e - 1)) + 1
            for _ in range(newlines):
                if ls <= ws:
                    break
                ls = data.rfind(b"\n", 0, ls - 1) + 1
            ws = max(ws, ls)
        nl = data.find(b"\n", e)
        we = len(data) if nl < 0 else nl + 1
        if we - ws > LONG_LINE:
            ws, we = max(ws, e - reach - 2), min(we, e + ahead)
        if ws <= cur_end:
            cur_end = max(cur_end, we)
        else:
            if cur_end >= 0:
                out.append((cur_start, cur_end))
            cur_start, cur_end = ws, we
    if cur_end >= 0:
        out.append((cur_start, cur_end))
    return out


def test_character_offsets_of_candidate_ends_in_one_pass():
    """Hyperscan reports byte offsets; a non-ASCII text's windows need character offsets. An offset inside a
    character counts as the boundary after it (the match holds the whole character)."""
    import random

    from clientguard.detect.engine import _char_offsets

    rng = random.Random(11)
    for _ in range(200):
        text = "".join(rng.choice(["a", "\n", "é", "€", "😀", "1.3.6"]) for _ in range(rng.randrange(0, 60)))
        data = text.encode("utf-8")
        ends = sorted({rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(1, 20))})
        got = _char_offsets(data, ends)
        for e in ends:
            t = e
            while t < len(data) and (data[t] & 0xC0) == 0x80:
                t += 1
            assert got[e] == len(data[:t].decode("utf-8")), (text, e)


def test_windows_look_for_line_breaks_only_near_each_candidate_with_the_same_result():
    # On multi-megabyte single lines the window search is bounded (not quadratic); the windows it gives
    # must be exactly those of the plain rule, for short and long lines and any line-break bound.
    import random

    from clientguard.detect.engine import UNBOUNDED, _windows

    rng = random.Random(5)
    for _ in range(300):
        parts = []
        for _ in range(rng.randrange(1, 6)):
            parts.append(b"x" * rng.choice([0, 5, 80, 3000, 5000, 20000]))
        data = b"\n".join(parts)
        if not data:
            continue
        if rng.random() < 0.5:
            ends = sorted({rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(1, 12))})
        else:  # dense runs of ends, as minified code gives: ends inside a window cut on a long line
            at = rng.randrange(0, len(data) + 1)
            ends = sorted({min(len(data), at + i * rng.choice([1, 13, 51, 300])) for i in range(200)})
        reach = rng.choice([20, 400, 800])
        newlines = rng.choice([0, 1, 2, UNBOUNDED])
        ahead = rng.choice([None, None, 0, 256, 1024])
        plain = _windows_by_whole_lines(data, ends, reach, newlines, ahead)
        assert _windows(data, ends, reach, newlines, ahead) == plain
        assert _windows(data.decode("ascii"), ends, reach, newlines, ahead) == plain  # a text: the same


def test_which_rules_end_where_their_hyperscan_expression_ends():
    from clientguard.detect.engine import _Compiled

    by_id = {r.id: r for r in builtin_rules()}
    # Derived from the pattern: every match ends at a candidate end.
    assert _Compiled(by_id["generic-secret-unquoted"]).ends_exactly
    assert _Compiled(by_id["aws-access-key-id"]).ends_exactly
    # A rule's own prefilter, or an expression cut after the separator: the value lies beyond the end.
    assert not _Compiled(by_id["email-address"]).ends_exactly
    assert not _Compiled(by_id["mite-api-key"]).ends_exactly


def test_on_a_very_long_line_a_rule_ending_at_its_candidate_is_searched_up_to_it_with_the_same_findings():
    """A minified bundle or a source map is one line of megabytes: a window cut around a candidate of a rule
    whose matches end at their candidate ends stops LOOKAHEAD past it (not its longest match further),
    and finds what the pure-Python engine finds."""
    from clientguard.detect.engine import LOOKAHEAD, _windows

    data = b"x" * 20000
    assert _windows(data, [10000], 1200, 0, LOOKAHEAD) == [(10000 - 1202, 10000 + LOOKAHEAD)]
    assert _windows(data, [10000], 1200, 0) == [(10000 - 1202, 10000 + 1200 + LOOKAHEAD)]
    rng = random.Random(9)
    key = _aws_key(rng)
    filler = 'function(e){return e.token?e.token:null},n.password="",'
    body = (filler * 200 + 'cfg={password:"Xk9#mQ2$vL7pR4",api_key: Zq7pw91xLmB4tR8sK2, host:"81.2.69.160"};'
            + filler * 100 + f'aws="{key}";' + filler * 200)
    # ASCII; the same line in a text that is not; and one whose every other character is not (a one-line
    # translation file), where windows reach back the rule's longest match in characters, not in bytes.
    translated = body.replace('n.password=""', 'n.password="停止任务停止任务"').replace("return", "返回")
    for text in (body, "é" * 10 + body, translated):
        found = {engine: Detector.create(fingerprint_key=KEY, engine=engine).scan(text)
                 for engine in (("hyperscan", "python") if hyperscan_available() else ("python",))}
        assert {text[f.start:f.end] for f in found["python"]} >= {key, "Xk9#mQ2$vL7pR4", "81.2.69.160"}
        assert all(v == found["python"] for v in found.values())


def test_a_rule_looks_past_its_match_on_a_very_long_line_as_on_a_short_one():
    """On lines longer than LONG_LINE only a stretch around each candidate is searched; a rule's lookahead
    must still see what follows its match. The IPv4 rule skips a spec's section number before a call
    ("22.1.3.30 Array.prototype[@@iterator]()"): alone, and 300 times on one 15 KB line of a source map."""
    unit = "var x=1;// 22.1.3.30 Array.prototype[@@iterator]() "
    for name in ("hyperscan", "python") if hyperscan_available() else ("python",):
        det = Detector.create(fingerprint_key=KEY, engine=name)
        assert det.scan(unit) == []
        assert det.scan(unit * 300) == [], name
        mixed = (unit * 100) + "peer 81.2.69.160 " + (unit * 100)
        assert [mixed[f.start:f.end] for f in det.scan(mixed)] == ["81.2.69.160"], name


def test_hyperscan_is_importable_where_the_project_installs_it():
    # Otherwise every hyperscan test would silently fall back or skip on a machine that should have it.
    assert hyperscan_available() is HYPERSCAN_EXPECTED


@pytest.mark.parametrize("pattern,flags,expected", [
    (r"ghp_[A-Za-z0-9]{36}", 0, {("ghp_", False)}),
    (r"(?:xoxb|xoxp)-\d+", 0, {("xox", False)}),  # the parser factors out the common prefix
    (r"(?i)(?:api[_-]?key|token)\s*=", 0, {("token", True), ("api", True)}),
    (r"(?<![A-Za-z])(?-i:AKIA)[A-Z0-9]{16}", re.IGNORECASE, {("AKIA", False)}),
    (r"\d{3}-\d{2}-\d{4}", 0, {("-", False)}),
    (r"[A-Z]{2}\d{2}", 0, None),
    (r"a?b*", 0, None),
])
def test_the_literals_every_match_holds(pattern, flags, expected):
    from clientguard.detect.engine import _required_literals, sre_parse

    regex = re.compile(pattern, flags | re.ASCII)  # its flags include inline ones such as (?i)
    parsed = sre_parse.parse(pattern, regex.flags)
    assert _required_literals(parsed, bool(regex.flags & re.IGNORECASE)) == expected


def test_python_engine_windows_agree_with_hyperscan_where_lower_casing_changes_lengths():
    # "İ" lower-cases to two characters: case-insensitive literals then only gate a rule, never place it.
    py = _engines()["python"]
    text = "İstanbul office\npassword = \"Xk9#mQ2$vL7pR4\" for ACME HEALTH\nİ AKIAIOSFODNN7EXAMPLE"
    found = py.scan(text)
    assert {f.rule_id for f in found} >= {"client-identifier", "aws-access-key-id"}
    if hyperscan_available():
        assert _engines()["hyperscan"].scan(text) == found


def test_python_engine_finds_matches_that_span_lines_around_a_literal():
    py = _engines()["python"]
    rng = random.Random(1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    body = "\n".join("".join(rng.choice(alphabet) for _ in range(64)) for _ in range(6))
    text = "# deploy key\n-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----\ntrailing\n"
    found = py.scan(text)
    assert [(f.rule_id, f.start) for f in found if f.kind == "secret"] == [("private-key-rsa", 13)]
    if hyperscan_available():
        assert _engines()["hyperscan"].scan(text) == found


def test_literal_windows_start_where_the_earliest_possible_match_starts():
    # Two literals of different lengths: the later, shorter occurrence can belong to a match that starts
    # on an earlier line than any match around the longer one.
    from clientguard.detect.engine import UNBOUNDED, _literal_windows

    text = "a" * 80 + "\n" + "b" * 219
    windows = _literal_windows(text, [(100, 20), (105, 2)], 30, UNBOUNDED)
    assert windows == [(0, len(text))]
    assert _literal_windows(text, [(100, 20)], 30, UNBOUNDED) == [(81, len(text))]


@needs_hyperscan
@pytest.mark.parametrize("offset", range(4))
def test_a_window_cut_inside_a_very_long_non_ascii_line_splits_no_character(offset):
    """A window on a line longer than LONG_LINE is cut around its candidate: the cut must not fall inside
    a multi-byte character (found scanning sindresorhus/got, whose bundled test data has such lines)."""
    rng = random.Random(offset)
    key = _aws_key(rng)
    line = "x" * offset + "€" * 3000 + f" key={key} " + "€" * 3000 + " mail jane.doe@acme-health.de " + "ü" * 2000
    hs = Detector.create(["Acme Health"], fingerprint_key=KEY, engine="hyperscan")
    py = Detector.create(["Acme Health"], fingerprint_key=KEY, engine="python")
    for text in (line, "short line\n" + line + "\nafter"):
        found = hs.scan(text)
        assert {text[f.start:f.end] for f in found} >= {key, "jane.doe@acme-health.de"}
        assert found == py.scan(text)
        assert hs.scan_many([text, "é" * 5000 + key]) == py.scan_many([text, "é" * 5000 + key])


def test_a_kubernetes_secret_s_base64_data_is_scanned_without_runaway_backtracking(det):
    """A certificate base64-encoded twice (Kubernetes secret data) is one long run of letters and digits;
    a rule whose key-name parts could split such a run in every possible way took 100 s for traefik's
    3.8 KB fixture (and 37 s for this line). Here it must simply finish, with the same findings in both
    engines: this test would run into the suite's timeout if a rule backtracked like that again."""
    rng = random.Random(3)
    inner = base64.encodebytes(bytes(rng.randrange(256) for _ in range(900))).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + inner + "-----END CERTIFICATE-----\n"
    doc = "apiVersion: v1\nkind: Secret\ndata:\n  tls.crt: " + base64.b64encode(pem.encode()).decode() + "\n"
    py = Detector.create(["Acme Health", "acme-health.de", "acmehealth"], fingerprint_key=KEY, engine="python")
    assert det.scan(doc) == py.scan(doc)
    # and the same key-name forms as before are still found
    key = "Q2X97KF39ZP14M8Tabcd1234"
    for line in (f"censys_key = '{key}'", f"braintreeKey := \"{key}\"", f"config.facebook.key: {key}", f"Using Key={key}"):
        assert [line[f.start:f.end] for f in det.scan(line) if f.rule_id == "generic-key-assignment"] == [key], line


def test_remembered_value_checks_give_the_findings_of_a_fresh_detector(monkeypatch):
    # Entropy and validators are functions of the value alone, so the detector remembers their answer
    # (an agent resends the same keys and e-mails every turn); the memo stays bounded and never changes
    # what is found, for values that pass and for values that fail.
    from clientguard.detect import engine

    monkeypatch.setattr(engine, "VERDICT_MEMO", 8)
    rng = random.Random(5)
    texts = []
    for i in range(30):
        texts.append(f"aws_access_key_id = {_aws_key(rng)}\nmail user{i}@example-corp.de\n"
                     f"password = 'changeme'\nsecret_token = 'xxxxxxxxxxxxxxxxxxxxxxxx'\n")
    remembering = Detector.create(["Acme Health"], fingerprint_key=KEY)
    first = [remembering.scan(t) for t in texts]
    again = [remembering.scan(t) for t in texts]
    assert 0 < len(remembering._verdicts) <= 8
    for t, a, b in zip(texts, first, again):
        fresh = Detector.create(["Acme Health"], fingerprint_key=KEY).scan(t)
        assert a == b == fresh
        assert {f.rule_id for f in fresh} >= {"aws-access-key-id", "email-address"}


@needs_hyperscan
def test_a_base64_image_gives_no_rule_a_candidate_end_at_every_byte():
    """hexpm's 2 MB webview.svg (a PNG in base64 on one line) took 0.7 s: hyperscan's form of the Mux rule had an
    end at every byte after "mux" (2 million), until its hyperscan form ended at its separator."""
    rng = random.Random(7)
    blob = base64.b64encode(bytes(rng.randrange(256) for _ in range(300_000))).decode()
    blob = blob[:1000] + "mUx" + blob[1000:]  # a service's name, as random base64 holds one now and then
    det = Detector.create(fingerprint_key=KEY, engine="hyperscan")
    ends = det._candidate_ends(blob.encode())
    worst = max(ends.items(), key=lambda kv: len(kv[1]), default=((), []))
    assert len(worst[1]) < 10_000, [det._compiled[i].rule.id for i in worst[0]]
    hs, py = det, Detector.create(fingerprint_key=KEY, engine="python")
    line = "MUX_TOKEN_SECRET=TESTFAKE0000y5UBIHEYeD7p4Zdl+AK6j0KgodkDINzNlxICAbaG8wy1JZirLnqB0PRfMBH7/WY"
    assert [f.rule_id for f in hs.scan(line)] == [f.rule_id for f in py.scan(line)] == ["mux-token-secret"]


@needs_hyperscan
@pytest.mark.parametrize("alphabet", [string.ascii_letters + string.digits, string.ascii_letters + string.digits + "_-"])
def test_a_long_alphanumeric_line_with_service_names_in_it_gives_no_rule_a_flood_of_candidates(alphabet: str) -> None:
    """A 1 MB line of letters and digits took 1.1 s: the service rules' hyperscan form, their separator's
    lookaround alternatives dropped, ended at every byte after a name like "ngc" or "luno" (950,000 ends).
    Their hyperscan form now ends at the separator. Every rule's leading name is planted in the line."""
    rng = random.Random(11)
    line = "".join(rng.choice(alphabet) for _ in range(300_000))
    names = sorted({r.id.split("-")[0] for r in builtin_rules()})
    for name in names:
        at = rng.randrange(len(line))
        line = line[:at] + name + line[at:]
    det = Detector.create(fingerprint_key=KEY, engine="hyperscan")
    ends = det._candidate_ends(line.encode())
    worst = max(ends.items(), key=lambda kv: len(kv[1]), default=((), []))
    assert len(worst[1]) < 10_000, [det._compiled[i].rule.id for i in worst[0]]


@needs_hyperscan
def test_url_safe_base64_with_names_and_key_words_in_it_stays_linear() -> None:
    """pydantic-ai's VCR cassettes hold videos as URL-safe base64 on one 2.2-2.8 MB line, where random
    bytes spell "box", "mux" or "key" now and then: a scan took 20-29 s per file, 258 s for the repository.
    The service rules' names ran on unbounded (`[\\w.-]*?`), so hyperscan ended them at every `-` after a
    name (42,000 ends per rule in one file) and each regex search from a name ran to the line's end. The
    names now run at most 32 characters, in hyperscan too, and the candidates stay near the names."""
    rng = random.Random(13)
    line = base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(150_000))).decode()
    for word in sorted({r.id.split("-")[0] for r in builtin_rules()}) * 2 + ["key", "token", "secret"] * 60:
        at = rng.randrange(len(line))
        line = line[:at] + word + line[at:]
    det = Detector.create(fingerprint_key=KEY, engine="hyperscan")
    ends = det._candidate_ends(line.encode())
    worst = max(ends.items(), key=lambda kv: len(kv[1]), default=((), []))
    assert len(worst[1]) < 300, [det._compiled[i].rule.id for i in worst[0]]  # ~3,000 before
    # The names' bound leaves room for long setting names, and both engines agree on them.
    value = "TESTFAKE0000q8Zr2Lm4Xv7Nc1Bw5Hy9"
    text = f"{line[:5000]}\nBOX_ENTERPRISE_APP_DEVELOPER_TOKEN={value}\n{line[5000:9000]}"
    python = Detector.create(fingerprint_key=KEY, engine="python")
    found = [(f.rule_id, text[f.start:f.end]) for f in det.scan(text) if f.kind == "secret"]
    assert found == [(f.rule_id, text[f.start:f.end]) for f in python.scan(text) if f.kind == "secret"]
    assert ("box-developer-token", value) in found


def test_a_finding_moved_to_another_span_keeps_everything_else(det):
    import dataclasses
    f = det.scan("a note from Acme Health today")[0]
    assert f.at(3, 9) == dataclasses.replace(f, start=3, end=9)


def test_an_open_run_at_the_end_of_an_expression_ends_where_the_run_does():
    from clientguard.detect.engine import _end_at_run_end

    pem = r"-----BEGIN X-----[A-Za-z0-9+/=\s]{32,}(?:-----END X-----)?"
    assert _end_at_run_end(pem) == r"-----BEGIN X-----[A-Za-z0-9+/=\s]{32,}(?:-----END X-----|[^A-Za-z0-9+/=\s]|\z)"
    assert _end_at_run_end(r"ab[0-9]{4,}") == r"ab[0-9]{4,}(?:[^0-9]|\z)"
    assert _end_at_run_end(r"ab[0-9]{4,40}") == r"ab[0-9]{4,40}"  # bounded: a match may end inside a longer run
    assert _end_at_run_end(r"ab[^x]{4,}") == r"ab[^x]{4,}"  # a negated class is left as it is
    assert _end_at_run_end(r"ab[0-9]{4,}c") == r"ab[0-9]{4,}c"  # the run is not the end


@needs_hyperscan
@pytest.mark.parametrize("tail", ["\n-----END PRIVATE KEY-----\n", "\n", ""])
def test_a_private_key_is_one_candidate_not_one_per_byte(tail):
    """Hyperscan reports every end a pattern can have: a PEM body ended the prefilter at each of its bytes
    (780,000 candidates on 156 repositories). It ends at the body's end or the END line now, and the key is
    still found whole, with or without its END line or a line break after it."""
    rules = [r for r in builtin_rules() if r.id == "private-key-pkcs8"]
    det = Detector(rules, fingerprint_key=b"k" * 32, engine="hyperscan")
    body = "\n".join(("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQFAKE" + f"{n:010d}")[:64] for n in range(40))
    text = "config = 1\n-----BEGIN PRIVATE KEY-----\n" + body + tail
    ends = [e for group in det._candidate_ends(text.encode()).values() for e in group]
    assert 1 <= len(ends) <= 4
    found = det.scan(text)
    python = Detector(rules, fingerprint_key=b"k" * 32, engine="python").scan(text)
    assert [(f.rule_id, f.start, f.end) for f in found] == [(f.rule_id, f.start, f.end) for f in python]
    assert len(found) == 1 and text[found[0].start:].startswith("-----BEGIN PRIVATE KEY-----")
    assert found[0].end >= len(text) - len(tail)


def test_a_service_name_keeps_its_word_boundary_in_the_hyperscan_form():
    """Rules that find a service by its name open with "not after a letter, or a camelCase part": hyperscan
    has no lookarounds, so the form it gets says the same with consumed characters, and a name inside a
    word ("limited", "changeCount") is no candidate at all."""
    from clientguard.detect.engine import _name_at_its_boundary

    opener = "(?-i:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))"
    assert _name_at_its_boundary(opener + "(?:mite)[\\w.-]*=") == (
        "(?:(?:^|[^A-Za-z])(?:mite)|(?-i:[a-z])(?:(?-i:M)(?:ite)))[\\w.-]*=")
    assert _name_at_its_boundary(opener + "(?:vonage|nexmo)x") == (
        "(?:(?:^|[^A-Za-z])(?:vonage|nexmo)|(?-i:[a-z])(?:(?-i:V)(?:onage)|(?-i:N)(?:exmo)))x")
    # An alternative that does not start with a plain letter: left for the lookarounds to be dropped.
    assert _name_at_its_boundary(opener + "(?:[a-z]+|x)y") == opener + "(?:[a-z]+|x)y"
    assert _name_at_its_boundary("(?:mite)") == "(?:mite)"
    if not hyperscan_available():
        return
    rule = next(r for r in builtin_rules() if r.id == "mite-api-key")
    hs = Detector([rule], fingerprint_key=KEY, engine="hyperscan")
    assert hs._candidate_ends(b"limited = 0123456789abcdef, submitted: x") == {}
    value = "k3v9q2ma7x1p4z8w"
    for text in (f"MITE_API_KEY = {value}\n", f"myMiteKey: {value}\n", f"config.mite_key={value}\n"):
        found = hs.scan(text)
        assert [text[f.start:f.end] for f in found] == [value], text
        assert found == Detector([rule], fingerprint_key=KEY, engine="python").scan(text)


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_a_constant_naming_itself_or_a_lock_token_is_not_a_secret_but_a_saved_credential_file_still_is(engine):
    """A value that only repeats its key's name (HTPASSWD = "htpasswd") is a constant, and a token under a name
    that authenticates nobody (--lock-token) no secret, in bytes (a scan) and text (a request); the value next to
    them still counts, and so does a saved connection's password whatever it is (rules for named credential files
    count any value such a file saves)."""
    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    text = ('HTPASSWD = "htpasswd"\n'
            'public const string ManageResetPassword = "manageresetpassword";\n'
            'aws wafv2 delete-ip-set --lock-token 0000TEST-db6f-459d-9385-49428812e357\n'
            'db_password = "Xk9mQ2vL7p0000TEST"\n')
    for scan in (det.scan, lambda t: det.scan_many([t])[0]):
        assert [text[f.start:f.end] for f in scan(text) if f.kind == "secret"] == ["Xk9mQ2vL7p0000TEST"]
    saved = '<connection host="localhost" port="1521" user="user" password="password"/>\n'
    found = det.scan_named_file(saved, "conf/data-sources.local.xml")
    assert [saved[f.start:f.end] for f in found] == ["password"]
