"""Precision and recall on public labelled examples: clientguard vs detect-secrets, in one run.

Public sets, read from local checkouts (nothing is downloaded, nothing of theirs is copied here):

* gitleaks' rule definitions (``cmd/generate/config/rules/*.go``): every rule lists examples it must
  find (``tps``) and must not (``fps``). Literal strings are taken as they are; the generated ones
  (``utils.GenerateSampleSecrets("x", secrets.NewSecret(`[a-z0-9]{32}`))``) are rebuilt here: a small
  evaluator for the Go expressions these files use, and random strings drawn from the regexes (seeded).
  A true example counts as found when the tool reports a secret anywhere in it. A false example is one
  that gitleaks' own rule must not match; many are secrets of another format (an admin key where an API
  key is expected), so "negatives flagged" is an upper bound on false positives, not a count of them.
* Nosey Parker's rules (``crates/noseyparker/data/default/builtin/rules/*.yml``): every rule lists
  ``examples`` it must find and ``negative_examples`` it must not, literally. They are counted like
  gitleaks' examples; here too many negatives are secrets of another kind than the rule's.
* TruffleHog's detector tests (``pkg/detectors/*/*_test.go``, integration tests left out): each pattern
  test feeds an input (a literal, a constant, or ``fmt.Sprintf`` of constants, evaluated here) and wants
  the secrets found in it, or none. Its negatives are mostly a valid pattern made invalid for that one
  detector (a wrong length or alphabet), still random keys in a log line or a setting.
* CredSweeper's test samples (``tests/samples``) and the findings its own tests expect (``tests/data``):
  positives are the (file, lines) places of ``output.json`` (its default run, filters and ML model on);
  negatives are places its bare regexes report (``no_filters_no_ml.json``) that are not in ``output.json``
  and share no line with a positive, split by what rejected them (its filters, or its ML model when
  ``no_ml.json`` still has them). clientguard scans each sample as a file; a place counts as found when
  it reports a secret on one of the place's lines. Binary and archive samples it skips are left out.
* Kingfisher's rules (``data/rules/*.yml``; MongoDB's scanner, Nosey Parker's rule format extended): every
  rule lists ``examples`` and a few ``negative_examples``, counted like Nosey Parker's. Rules it hides
  (``visible: false``: parts other rules need, such as a tenant's domain) and rules it files under
  ``identifier`` are left out: they find no secret. Many of its examples are sequential filler
  (``1234567890abcdef...``), which clientguard reports after a service's prefix or name.
* secretlint's rule snapshots (``packages/@secretlint/secretlint-rule-*/test/snapshots/CASE/``): an input
  file and the ``output.json`` secretlint must give for it. Positives are the lines of each message
  (identifiers such as account IDs left out); each case that expects no message is one negative place
  spanning its whole input. Cases with their own options, and rules that flag files, paths or the user's
  own patterns rather than values, are left out.
* semgrep-rules' secret rule tests (``generic/secrets/**``, the files beside the rules' YAML): a line
  annotated ``ruleid:`` holds a secret, one annotated ``ok:`` does not; unannotated lines are not counted.
  Both these sets are scored like CredSweeper's: each file scanned as a file, a place found when a secret
  is reported on one of its lines.
* Plazmaz/leaky-repo: a repository of the files developers leak (dotfiles, IDE and FTP client settings, cloud
  CLI credentials, wp-config.php, a database dump), with the number of lines in each file that carry a risk
  (``.leaky-meta/secrets.csv``). Its lines are not named, so a file's risk lines count as found up to the
  number of lines the tool flags in it; many of its passwords are stand-ins (``password``, ``hunter22``,
  ``admin``), which clientguard leaves out on purpose.
* sirwart/ripsecrets' test files (``test/``): each line of ``one_per_line/*`` holds one secret, each file of
  ``one_per_file/*`` one (a key block, a JSON response), and no line of ``none`` holds one (a value its
  author allowlisted with detect-secrets' ``pragma: allowlist secret``, look-alikes in code). Scored like
  CredSweeper's: a place found when a secret is reported on one of its lines.
* Skyscanner/whispers' fixtures (``tests/fixtures/``) with the number of secrets its tests expect in each
  (``test_detection_by_value`` in ``tests/unit/test_secrets.py``), counted like leaky-repo's: a file's secrets
  as found up to the number of lines flagged in it. Its values are stand-ins on purpose (``hardcoded1``, the
  same made-up API key under ten names), which clientguard leaves out as it does such values elsewhere; the
  payment cards it expects are counted from clientguard's card findings.
* Presidio-research's labelled synthetic sentences (``data/synth_dataset_v2.json`` and
  ``tests/data/generated_*.json``: support messages, signatures, address blocks, each with the character
  spans of its personal data). For the types clientguard finds (e-mail, phone, card, IBAN, IP, US SSN), a
  labelled span counts as found when a finding of its type overlaps it, and a finding counts as correct
  when it overlaps a labelled span of its type: recall and precision per type. Names, addresses and dates
  are labelled there too and left out (clientguard does not look for them).
* Presidio's recognizer tests (``presidio-analyzer/tests/test_*_recognizer.py``): sentences with the
  number of phone numbers, cards, e-mail addresses, IP addresses and US SSNs each holds. A case counts as
  agreed when clientguard reports exactly that many findings of the type. detect-secrets finds no
  personal data, so it has no column there.

    .venv/bin/python bench/labelled.py --gitleaks PATH/TO/gitleaks --noseyparker PATH/TO/noseyparker \
        --trufflehog PATH/TO/trufflehog --presidio PATH/TO/presidio [--credsweeper PATH/TO/CredSweeper] \
        [--kingfisher PATH/TO/kingfisher] [--presidio-research PATH/TO/presidio-research] \
        [--secretlint PATH/TO/secretlint] [--semgrep-rules PATH/TO/semgrep-rules] [--seed 7]
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clientguard.detect import Detector  # noqa: E402

try:  # Python 3.11 names the regex parser's modules with a leading underscore
    import re._constants as sre_c  # type: ignore[import-not-found]
    import re._parser as sre_p  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - older layouts
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse as sre_p  # type: ignore[no-redef]

WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

# -- random strings from a regex -------------------------------------------------------------------


def sample(pattern: str, rng: random.Random) -> str:
    """One string the regex matches (enough of Go's syntax for gitleaks' generator patterns)."""

    def chars(items: list) -> list[str]:
        out: list[str] = []
        negate = False
        for op, arg in items:
            if op is sre_c.NEGATE:
                negate = True
            elif op is sre_c.LITERAL:
                out.append(chr(arg))
            elif op is sre_c.RANGE:
                out.extend(chr(c) for c in range(arg[0], arg[1] + 1))
            elif op is sre_c.CATEGORY:
                out.extend({sre_c.CATEGORY_DIGIT: "0123456789", sre_c.CATEGORY_SPACE: " "}.get(arg, WORD))
        return [c for c in WORD if c not in out] if negate else out

    def gen(items: Any) -> str:
        out: list[str] = []
        for op, arg in items:
            if op is sre_c.LITERAL:
                out.append(chr(arg))
            elif op is sre_c.NOT_LITERAL:
                out.append("x" if arg != ord("x") else "y")
            elif op is sre_c.ANY:
                out.append(rng.choice(WORD))
            elif op is sre_c.IN:
                out.append(rng.choice(chars(arg)))
            elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
                low, high, sub = arg
                high = low + 8 if high is sre_c.MAXREPEAT else high
                out.extend(gen(sub) for _ in range(rng.randint(low, high)))
            elif op is sre_c.SUBPATTERN:
                out.append(gen(arg[-1]))
            elif op is sre_c.BRANCH:
                out.append(gen(rng.choice(arg[1])))
            elif op is sre_c.CATEGORY:
                out.append("5" if arg is sre_c.CATEGORY_DIGIT else "a")
            # anchors and lookarounds add no characters
        return "".join(out)

    return gen(sre_p.parse(pattern))


# -- gitleaks: a small evaluator for the Go expressions that build tps and fps -------------------------

# How gitleaks' GenerateSampleSecrets writes a secret into code and config (the forms it tests).
SAMPLE_FORMS = [
    '{i}Token="{s}"', '{i}Token = "{s}"', "{i}Token={s}", "{i}Token = {s}", '{{\n    "{i}_token": "{s}"\n}}',
    '{{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}}', "<{i}Token>\n    {s}\n</{i}Token>", "{i}_token: {s}",
    "{i}_token: '{s}'", '{i}_token: "{s}"', 'string {i}Token = "{s}";', 'var {i}Token string = "{s}"',
    '{i}Token := "{s}"', "{i}Token := `{s}`", 'String {i}Token = "{s}";', 'var {i}Token = "{s}"',
    '${i}Token .= "{s}"', "{i}Token = '{s}'", 'System.setProperty("{I}_TOKEN", "{s}")', '  "{i}Token" => "{s}"',
    '{I}_TOKEN = "{s}"', '{I}_TOKEN := "{s}"', '{I}_TOKEN ::= "{s}"', '{I}_TOKEN :::= "{s}"', '{I}_TOKEN ?= "{s}"',
]

_TOKEN = re.compile(r'''\s+|//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|`[^`]*`|[A-Za-z_][\w.]*|\.\.\.|:=|\d+|.''', re.S)


class _Unsupported(Exception):
    """An expression this evaluator does not know; its statement is skipped."""


def _go_string(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return json.loads(token)


def _tokens(src: str) -> list[str]:
    out = []
    for m in _TOKEN.finditer(src):
        t = m.group(0)
        if t.strip() and not t.startswith(("//", "/*")):
            out.append(t if t.startswith(('"', "`")) else t.strip())
    return out


class _GoExpr:
    """Evaluates string and []string expressions over an environment of earlier assignments."""

    def __init__(self, tokens: list[str], env: dict[str, Any], rng: random.Random):
        self.t, self.i, self.env, self.rng = tokens, 0, env, rng
        sized = {"Numeric": "[0-9]", "Hex": "[a-f0-9]", "AlphaNumeric": "[a-z0-9]",
                 "AlphaNumericExtendedShort": "[a-z0-9_-]", "AlphaNumericExtended": "[a-z0-9=_\\-]",
                 "AlphaNumericExtendedLong": "[a-z0-9\\/=_\\+\\-]"}
        self.funcs: dict[str, Callable[..., Any]] = {f"utils.{k}": (lambda cls: lambda n: f"{cls}{{{n}}}")(v)
                                                     for k, v in sized.items()}
        self.funcs.update({
            "utils.Hex8_4_4_4_12": lambda: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "secrets.NewSecret": lambda regex: sample(regex, self.rng),
            "utils.GenerateSampleSecret": lambda ident, secret: f'{ident}_api_token = "{secret}"',
            "utils.GenerateSampleSecrets": lambda ident, secret: [
                form.format(i=ident, I=ident.upper(), s=secret) for form in SAMPLE_FORMS],
            "strings.Repeat": lambda text, n: text * int(n),
            "strings.ToUpper": str.upper,
            "strings.ToLower": str.lower,
            "fmt.Sprintf": lambda fmt, *args: fmt.replace("%s", "{}").replace("%d", "{}").format(*args),
        })

    def _peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def _next(self) -> str:
        tok = self._peek()
        if tok is None:
            raise _Unsupported("end of input")
        self.i += 1
        return tok

    def _expect(self, tok: str) -> None:
        if self._next() != tok:
            raise _Unsupported(tok)

    def expr(self) -> Any:
        value = self._atom()
        while self._peek() == "+":
            self._next()
            right = self._atom()
            if not (isinstance(value, str) and isinstance(right, str)):
                raise _Unsupported("+")
            value += right
        return value

    def _args(self) -> list[Any]:
        self._expect("(")
        out: list[Any] = []
        while self._peek() != ")":
            out.append(self.expr())
            if self._peek() == "...":
                self._next()
                out[-1] = ("spread", out[-1])
            if self._peek() == ",":
                self._next()
        self._next()
        return out

    def _atom(self) -> Any:
        tok = self._next()
        if tok.startswith(('"', "`")):
            return _go_string(tok)
        if tok.isdigit():
            return tok
        if tok == "[":  # []string{...}
            self._expect("]")
            self._expect("string")
            self._expect("{")
            items = []
            while self._peek() != "}":
                items.append(self.expr())
                if self._peek() == ",":
                    self._next()
            self._next()
            return items
        if tok == "append":
            args = self._args()
            out = list(args[0])
            for a in args[1:]:
                out.extend(a[1] if isinstance(a, tuple) else [a])
            return out
        if tok in self.funcs:
            try:
                return self.funcs[tok](*self._args())
            except (TypeError, ValueError, IndexError, KeyError, re.error) as exc:
                raise _Unsupported(tok) from exc
        if tok in self.env and self._peek() != "[":
            return self.env[tok]
        raise _Unsupported(tok)


def gitleaks_examples(rules_dir: Path, rng: random.Random) -> Iterator[tuple[str, bool, str]]:
    """(gitleaks rule id, must match, text) for every example the rule files define."""
    for path in sorted(rules_dir.glob("*.go")):
        src = path.read_text(encoding="utf-8")
        for m in re.finditer(r"func (\w+)\(\) \*config\.Rule \{", src):
            depth, i = 1, m.end()
            while depth and i < len(src):
                depth += {"{": 1, "}": -1}.get(src[i], 0)
                i += 1
            body = src[m.end():i - 1]
            rid = re.search(r'RuleID:\s*"([^"]+)"', body)
            toks, env, k = _tokens(body), {}, 0
            while k < len(toks) - 1:
                name = toks[k]
                if re.fullmatch(r"[A-Za-z_]\w*", name) and toks[k + 1] in (":=", "=") and name != "r":
                    ev = _GoExpr(toks[k + 2:], env, rng)
                    try:
                        env[name] = ev.expr()
                    except (_Unsupported, json.JSONDecodeError):
                        pass
                    k += 2 + max(ev.i, 1)
                else:
                    k += 1
            for key, positive in (("tps", True), ("fps", False)):
                for text in env.get(key) or []:
                    if isinstance(text, str):
                        yield (rid.group(1) if rid else m.group(1)), positive, text


# -- Nosey Parker -----------------------------------------------------------------------------------


def _yaml_rule_examples(rules_dir: Path, keep: Callable[[dict], bool]) -> Iterator[tuple[str, bool, str]]:
    """(rule id, must match, text) for every example of the YAML rule files (Nosey Parker's format, which
    Kingfisher extends) whose rule ``keep`` accepts; files that are not YAML are skipped."""
    import yaml  # noqa: PLC0415 - a clientguard dependency

    for path in sorted(rules_dir.glob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        for rule in (doc or {}).get("rules") or []:
            if not isinstance(rule, dict) or not keep(rule):
                continue
            rid = str(rule.get("id") or rule.get("name") or path.stem)
            for key, positive in (("examples", True), ("negative_examples", False)):
                for text in rule.get(key) or []:
                    if isinstance(text, str):
                        yield rid, positive, text


def noseyparker_examples(rules_dir: Path, category: str | None = None) -> Iterator[tuple[str, bool, str]]:
    """(Nosey Parker rule id, must match, text) for every example of the rule files (of the rules filed
    under ``category``, if given: "secret", or "identifier" for bucket names, account and client IDs)."""
    return _yaml_rule_examples(
        rules_dir, lambda rule: category is None or category in (rule.get("categories") or []))


def kingfisher_examples(rules_dir: Path) -> Iterator[tuple[str, bool, str]]:
    """(Kingfisher rule id, must match, text) for the examples of the rules it reports as secrets: hidden
    rules (``visible: false``) and rules filed under ``identifier`` are left out."""
    return _yaml_rule_examples(
        rules_dir, lambda rule: rule.get("visible", True) is not False
        and "identifier" not in (rule.get("categories") or []))


# -- TruffleHog -------------------------------------------------------------------------------------

_GO_STR = r'("(?:[^"\\\n]|\\.)*"|`[^`]*`)'


def _go_unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    try:
        return json.loads(token)
    except ValueError:
        return token[1:-1]


def trufflehog_examples(detectors_dir: Path) -> Iterator[tuple[str, bool, str]]:
    """(detector, must find something, input) for the pattern tests of TruffleHog's detectors."""
    assign = re.compile(r"^\s*(\w+)\s*:?=\s*" + _GO_STR + r"\s*$", re.M)
    sprintf = re.compile(r"fmt\.Sprintf\(\s*" + _GO_STR + r"\s*((?:,\s*\w+\s*)*)\)", re.S)
    case = re.compile(r"input:\s*(.+?),\s*\n\s*want:\s*(.+?)\n", re.S)
    for path in sorted(detectors_dir.glob("*/*_test.go")):
        if "integration" in path.name:
            continue
        src = path.read_text(encoding="utf-8", errors="replace")
        consts = {m.group(1): _go_unquote(m.group(2)) for m in assign.finditer(src)}

        def value(expr: str) -> str | None:
            expr = expr.strip()
            if re.fullmatch(_GO_STR, expr, re.S):
                return _go_unquote(expr)
            if expr in consts:
                return consts[expr]
            m = sprintf.fullmatch(expr)
            if m is None:
                return None
            args = [consts.get(a.strip()) for a in m.group(2).split(",") if a.strip()]
            if any(a is None for a in args):
                return None
            try:
                return _go_unquote(m.group(1)).replace("%q", '"%s"') % tuple(args)
            except (TypeError, ValueError):
                return None

        for m in case.finditer(src):
            text, want = value(m.group(1)), m.group(2).strip()
            if text is None:
                continue
            empty = re.match(r"\[\]string\{\s*\}|nil|\[\]string\(nil\)", want) is not None
            yield path.parent.name, not empty, text


# -- Presidio ---------------------------------------------------------------------------------------

PRESIDIO_TYPES = {"credit_card": "card", "email": "email", "ip": "ip", "phone": "phone", "us_ssn": "ssn"}


def presidio_cases(tests_dir: Path) -> Iterator[tuple[str, str, int]]:
    """(type, sentence, expected count) from the recognizers' parametrized tests."""
    for name in PRESIDIO_TYPES:
        path = tests_dir / f"test_{name}_recognizer.py"
        if not path.is_file():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize"):
                continue
            try:
                names = [n.strip() for n in ast.literal_eval(node.args[0]).split(",")]
                rows = ast.literal_eval(node.args[1])
            except (ValueError, SyntaxError, IndexError):
                continue  # a computed parameter list
            if "text" in names and "expected_len" in names:
                for row in rows:
                    case = dict(zip(names, row))
                    yield name, case["text"], int(case["expected_len"])


#: presidio-research's entity types -> the word clientguard's rule ids of that type hold.
PRESIDIO_RESEARCH_TYPES = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "card",
                           "IBAN_CODE": "iban", "IP_ADDRESS": "ip", "US_SSN": "ssn"}
PRESIDIO_RESEARCH_FILES = ("data/synth_dataset_v2.json", "tests/data/generated_large.json",
                           "tests/data/generated_small.json")


def presidio_research_records(root: Path) -> Iterator[tuple[str, str, list[tuple[int, int, str]]]]:
    """(file, text, [(start, end, entity type)]) for every labelled sentence of presidio-research's sets."""
    for name in PRESIDIO_RESEARCH_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        for rec in records if isinstance(records, list) else []:
            text = rec.get("full_text") if isinstance(rec, dict) else None
            if not isinstance(text, str):
                continue
            spans = [(s["start_position"], s["end_position"], s["entity_type"]) for s in rec.get("spans") or []
                     if isinstance(s, dict) and {"start_position", "end_position", "entity_type"} <= s.keys()]
            yield name, text, spans


def presidio_research_scores(records, scan: Callable[[str], list]) -> dict[str, dict[str, int]]:
    """Per type: labelled spans found and missed, findings on a labelled span of their type and elsewhere."""
    counts: dict[str, dict[str, int]] = {k: {"found": 0, "missed": 0, "right": 0, "wrong": 0}
                                         for k in PRESIDIO_RESEARCH_TYPES.values()}

    def kind_of(rule_id: str) -> str | None:
        return next((k for k in counts if k in rule_id), None)

    for _name, text, spans in records:
        findings = [(f.start, f.end, kind_of(f.rule_id)) for f in scan(text) if f.kind == "pii"]
        for start, end, etype in spans:
            kind = PRESIDIO_RESEARCH_TYPES.get(etype)
            if kind is not None:
                hit = any(k == kind and fs < end and fe > start for fs, fe, k in findings)
                counts[kind]["found" if hit else "missed"] += 1
        for fs, fe, kind in findings:
            if kind is not None:
                right = any(PRESIDIO_RESEARCH_TYPES.get(t) == kind and fs < e and fe > s for s, e, t in spans)
                counts[kind]["right" if right else "wrong"] += 1
    return counts


# -- CredSweeper ------------------------------------------------------------------------------------


class Place(NamedTuple):
    """A labelled place in a file of a labelled set: the file (relative to the set's folder), the 1-based
    lines of one finding, and, for a negative, the group it is counted in (for CredSweeper, what of its
    rejected it: "filters" or "ml")."""

    path: str
    lines: tuple[int, ...]
    rejected_by: str = ""


def _credsweeper_findings(path: Path) -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """(rule, sample file, lines) for every finding of one of CredSweeper's expected-output files."""
    for finding in json.loads(path.read_text(encoding="utf-8")):
        places = defaultdict(set)
        for item in finding.get("line_data_list") or []:
            name = str(item.get("path", "")).replace("\\", "/")
            if "tests/samples/" in name and isinstance(item.get("line_num"), int) and item["line_num"] > 0:
                places[name.split("tests/samples/", 1)[1]].add(item["line_num"])
        for name, lines in places.items():
            yield str(finding.get("rule", "?")), name, tuple(sorted(lines))


def credsweeper_places(data_dir: Path) -> Iterator[tuple[str, bool, Place]]:
    """(CredSweeper rule, is a credential, place) from the outputs CredSweeper's own tests expect.

    Positives: the places of ``output.json`` (the default run: filters and ML model on), each distinct
    (file, lines) once. Negatives: places ``no_filters_no_ml.json`` (regexes alone) reports that are absent
    from ``output.json`` and share no line with a positive: rejected by its filters, or (when
    ``no_ml.json``, filters without the model, still has them) by its ML model."""
    positives: dict[tuple[str, tuple[int, ...]], str] = {}
    for rule, name, lines in _credsweeper_findings(data_dir / "output.json"):
        positives.setdefault((name, lines), rule)
    no_ml = {(name, lines) for _, name, lines in _credsweeper_findings(data_dir / "no_ml.json")} \
        if (data_dir / "no_ml.json").is_file() else set()
    negatives: dict[tuple[str, tuple[int, ...]], tuple[str, str]] = {}
    if (data_dir / "no_filters_no_ml.json").is_file():
        for rule, name, lines in _credsweeper_findings(data_dir / "no_filters_no_ml.json"):
            negatives.setdefault((name, lines), (rule, "ml" if (name, lines) in no_ml else "filters"))
    yield from _labelled_places(positives, negatives)


_Key = tuple[str, tuple[int, ...]]  # a place's file and lines


def _labelled_places(positives: dict[_Key, str],
                     negatives: dict[_Key, tuple[str, str]]) -> Iterator[tuple[str, bool, Place]]:
    """Each positive (file, lines) -> rule as a place, then each negative (file, lines) -> (rule, group) that shares
    no line with a positive (a line that holds a credential is no negative, whatever else is labelled on it)."""
    positive_lines = {(name, n) for name, lines in positives for n in lines}
    for (name, lines), rule in positives.items():
        yield rule, True, Place(name, lines)
    for (name, lines), (rule, group) in negatives.items():
        if not any((name, n) in positive_lines for n in lines):
            yield rule, False, Place(name, lines, group)


def credsweeper_table(console: Console, samples: Path, places: list[tuple[str, bool, Place]],
                      det: Detector, show_misses: int) -> None:
    """Recall on the places CredSweeper reports and flags on those it rejects, clientguard scanning each
    sample file as a file (binary and archive samples are skipped, as in a scan, and left out here)."""
    places_table(console, "CredSweeper's test samples ({files} files; {skipped} binary or archive samples "
                          "skipped, with {skipped_positives} of its findings): positives are the places its default "
                          "run reports (tests/data/output.json), negatives the places its regexes alone report that "
                          "its filters or its ML model reject",
                 samples, places, det, show_misses, {"filters": "filter-rejected flagged", "ml": "ML-rejected flagged"},
                 "CredSweeper rules")


def places_table(console: Console, title: str, root: Path, places: list[tuple[str, bool, Place]],
                 det: Detector, show_misses: int, negative_columns: dict[str, str], rules_are: str,
                 identifier_rules: frozenset[str] = frozenset()) -> None:
    """Recall on labelled places of files below ``root`` and flags on the negative places, for clientguard and
    detect-secrets, each file scanned as a file: a place counts as found (or flagged) when the tool reports a
    secret on one of its lines. Files a scan skips (binary, archives) are left out and counted in the title
    (``{files}``, ``{skipped}``, ``{skipped_positives}``). ``negative_columns`` names a column for each
    ``rejected_by`` group of the negatives. Positives of ``identifier_rules`` (labels that name a thing rather
    than unlock it) get a second row per tool, recall without them."""
    from clientguard.detect.scanner import SourceFile, scan_files  # noqa: PLC0415

    names = sorted({place.path for _, _, place in places})
    result = scan_files([SourceFile(root / name, name) for name in names if (root / name).is_file()], det, jobs=1)
    skipped = {s.path for s in result.skipped} | {name for name in names if not (root / name).is_file()}
    cg_spans = {(f.path, tuple(range(f.line, f.end_line + 1))) for f in result.findings if f.kind == "secret"}
    cg_lines = {(path, n) for path, lines in cg_spans for n in lines}
    ds_lines = detect_secrets_lines(root, [name for name in names if name not in skipped])
    spans_of = {"clientguard": cg_spans, "detect-secrets 1.5.0": {(path, (n,)) for path, n in ds_lines}}
    kept = [(rule, positive, place) for rule, positive, place in places if place.path not in skipped]
    skipped_positives = sum(1 for _, positive, place in places if positive and place.path in skipped)
    table = Table(title=title.format(files=len(names) - len(skipped), skipped=len(skipped),
                                     skipped_positives=skipped_positives))
    for col in ("tool", "positives found", "recall", *negative_columns.values()):
        table.add_column(col, justify="right" if col != "tool" else "left")
    misses: list[tuple[str, Place]] = []
    flagged: list[tuple[str, Place]] = []
    labelled_lines = {(place.path, n) for _, _, place in kept for n in place.lines}
    for tool, hit_lines in (("clientguard", cg_lines), ("detect-secrets 1.5.0", ds_lines)):
        counts: Counter[str] = Counter()
        for rule, positive, place in kept:
            hit = any((place.path, n) in hit_lines for n in place.lines)
            key = "pos" if positive else place.rejected_by
            counts[key] += 1
            counts[key + "_hit"] += hit
            if tool == "clientguard" and positive != hit:
                (misses if positive else flagged).append((rule, place))
        recall = counts["pos_hit"] / max(1, counts["pos"])
        # "off": findings none of whose lines a place labels (where every line a scanner flags was labelled,
        # as in CredData, an upper bound on the false positives the labels do not see)
        off = sum(1 for path, lines in spans_of[tool] if not any((path, n) in labelled_lines for n in lines))
        table.add_row(tool, f"{counts['pos_hit']} / {counts['pos']}", f"{recall:.3f}",
                      *(f"{counts[group + '_hit']} / {counts[group]}" if group != "off" else f"{off}"
                        for group in negative_columns))
        if identifier_rules:
            kept_pos = [(place, any((place.path, n) in hit_lines for n in place.lines))
                        for rule, positive, place in kept if positive and rule not in identifier_rules]
            found = sum(hit for _, hit in kept_pos)
            table.add_row("  without IDs", f"{found} / {len(kept_pos)}",
                          f"{found / max(1, len(kept_pos)):.3f}", *("" for _ in negative_columns))
    console.print(table)
    by_rule = Counter(rule for rule, _ in misses)
    console.print(f"clientguard misses in {len(by_rule)} {rules_are}: "
                  + ", ".join(f"{r} ({n})" for r, n in by_rule.most_common(12)))
    for label, listed in (("missed", misses), ("flagged", flagged)):
        for rule, place in listed[:show_misses]:
            try:
                text = (root / place.path).read_text(encoding="utf-8", errors="replace").splitlines()
                line = text[place.lines[0] - 1].strip()
            except (OSError, IndexError):
                line = ""
            console.print(f"  {label} {rule}: {place.path}:{place.lines[0]} {line[:120]!r}", markup=False)


# -- secretlint -------------------------------------------------------------------------------------

# secretlint rules that flag a file, a path or the user's own patterns, not a secret value, and the
# presets (their snapshots repeat the other rules')
SECRETLINT_NOT_VALUES = frozenset({
    "example", "filter-comments", "pattern", "no-dotenv", "no-homedir", "no-k8s-kind-secret",
    "internal-test-cjs", "internal-test-esm", "preset-canary", "preset-recommend"})
# messages of an identifier, not a secret (an account, a client or a tenant ID)
SECRETLINT_IDENTIFIERS = frozenset({"AWSAccountID", "AzureClientId", "AzureTenantId"})
SNAPSHOT_SIDE_FILES = frozenset({"output.json", ".secretlintrc.json"})


def secretlint_places(rules_dir: Path) -> Iterator[tuple[str, bool, Place]]:
    """(rule/message, is a secret, place) from secretlint's rule snapshots (``packages/@secretlint/
    secretlint-rule-*/test/snapshots/CASE/``: an input file and the ``output.json`` secretlint must give).

    Positives: the lines of each message (its ``loc``), identifiers left out. Negatives: each case whose
    output has no message, read as one place spanning the whole input ("flagged" when a secret is reported
    on any of its lines), except cases with their own ``.secretlintrc.json`` (an option switched a check
    off) and cases named ``ng.`` (a check only an option turns on). Paths are relative to ``rules_dir``."""
    for output in sorted(rules_dir.glob("secretlint-rule-*/test/snapshots/*/output.json")):
        case = output.parent
        rule = case.parts[-4].removeprefix("secretlint-rule-")
        inputs = [p for p in case.iterdir() if p.is_file() and p.name not in SNAPSHOT_SIDE_FILES]
        if rule in SECRETLINT_NOT_VALUES or len(inputs) != 1:
            continue
        try:
            messages = json.loads(output.read_text(encoding="utf-8")).get("messages") or []
        except (OSError, ValueError):
            continue
        path = inputs[0].relative_to(rules_dir).as_posix()
        if not messages:
            if not (case / ".secretlintrc.json").exists() and not case.name.startswith("ng."):
                n_lines = inputs[0].read_bytes().count(b"\n") + 1
                yield f"{rule}/{case.name}", False, Place(path, tuple(range(1, n_lines + 1)), "ok")
            continue
        seen: set[tuple[int, ...]] = set()
        for m in messages:
            loc, message = m.get("loc") or {}, str(m.get("messageId", "?"))
            start, end = (loc.get("start") or {}).get("line"), (loc.get("end") or {}).get("line")
            if message in SECRETLINT_IDENTIFIERS or not isinstance(start, int) or not isinstance(end, int):
                continue
            if end > start and (loc.get("end") or {}).get("column") == 0:
                end -= 1  # a range that ends at a line's start holds nothing of that line
            lines = tuple(range(start, end + 1))
            if lines not in seen:
                seen.add(lines)
                yield f"{rule}/{message}", True, Place(path, lines)


# -- semgrep-rules ----------------------------------------------------------------------------------

# an annotation of semgrep's rule tests, on a line of its own or after the code it labels
SEMGREP_ANNOTATION = re.compile(
    r"(?P<lead>^\s*)?(?:#|//|<!--|/\*|--|;)\s*(?P<kind>todoruleid|ruleid|todook|ok)\s*:\s*(?P<rules>[\w.\-]+)")
# semgrep rules that find an identifier, not a secret
SEMGREP_IDENTIFIERS = frozenset({"detected-aws-account-id"})


def semgrep_places(secrets_dir: Path) -> Iterator[tuple[str, bool, Place]]:
    """(rule, is a secret, place) from the test files of semgrep-rules' secret rules (``generic/secrets``):
    a ``ruleid:`` (or ``todoruleid:``, a match the rule still misses) annotation labels a line that holds a
    secret, an ``ok:`` (or ``todook:``) one a line that does not. An annotation on a line of its own labels
    the next line that is not an annotation; one after code labels its own line. Lines left unannotated are
    not counted. Paths are relative to ``secrets_dir``."""
    for path in sorted(secrets_dir.rglob("*")):
        if not path.is_file() or path.suffix == ".md" or (path.suffix in (".yaml", ".yml")
                                                        and ".test." not in path.name):
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        name = path.relative_to(secrets_dir).as_posix()
        pending: list[tuple[str, bool]] = []
        labelled: dict[int, tuple[str, bool]] = {}
        for number, line in enumerate(lines, 1):
            m = SEMGREP_ANNOTATION.search(line)
            if m and m.group("lead") is not None:
                pending.append((m.group("rules"), m.group("kind").endswith("ruleid")))
                continue
            if m:
                labelled.setdefault(number, (m.group("rules"), m.group("kind").endswith("ruleid")))
            for rule, positive in pending:
                labelled.setdefault(number, (rule, positive))
            pending = []
        for number, (rule, positive) in sorted(labelled.items()):
            if rule not in SEMGREP_IDENTIFIERS:
                yield rule, positive, Place(name, (number,), "" if positive else "ok")


# -- CredData -----------------------------------------------------------------------------------------


#: CredData categories whose values name or identify rather than unlock: request and object IDs, nonces and salts,
#: bucket and Firebase host names, Twilio SIDs (AC..., CA...), WeChat app IDs. clientguard reports none of them.
CREDDATA_IDENTIFIERS = frozenset({"UUID", "Nonce", "Salt", "AWS S3 Bucket", "Firebase Domain", "Twilio Credentials",
                                  "Tencent WeChat API App ID"})


def creddata_places(root: Path) -> Iterator[tuple[str, bool, Place]]:
    """(category, is a credential, place) from CredData's markup (``meta/*.csv``): lines of real repositories
    that scanners flagged, each labelled by hand T (a credential), F (not one) or X (a test value, an example
    or a placeholder). A place is a row's file (``data/...``, relative to the checkout) and lines; places
    sharing a line with a credential are not counted as negatives, and each (file, lines) counts once."""
    positives: dict[tuple[str, tuple[int, ...]], str] = {}
    negatives: dict[tuple[str, tuple[int, ...]], tuple[str, str]] = {}
    for meta in sorted((root / "meta").glob("*.csv")):
        with meta.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                try:
                    first, last = int(row["LineStart"]), int(row["LineEnd"])
                except (KeyError, TypeError, ValueError):
                    continue
                key = (row.get("FilePath") or "", tuple(range(first, max(first, last) + 1)))
                category = (row.get("Category") or "?").split(":")[0]
                if row.get("GroundTruth") == "T":
                    positives.setdefault(key, category)
                elif row.get("GroundTruth") in ("F", "X"):
                    negatives.setdefault(key, (category, row["GroundTruth"]))
    yield from _labelled_places(positives, negatives)


# -- leaky-repo -------------------------------------------------------------------------------------


def leaky_repo_counts(root: Path) -> dict[str, tuple[int, int]]:
    """Plazmaz/leaky-repo's labels (.leaky-meta/secrets.csv): for each file, how many of its lines carry a risk
    (a credential) and how many only inform (a user or host name); comment lines start with #."""
    counts: dict[str, tuple[int, int]] = {}
    meta = root / ".leaky-meta" / "secrets.csv"
    if not meta.is_file():
        return counts
    for raw in meta.read_text(encoding="utf-8").splitlines():
        row = raw.strip()
        if not row or row.startswith("#"):
            continue
        name, risk, informative = (part.strip() for part in row.split(","))
        counts[name] = (int(risk), int(informative))
    return counts


def leaky_repo_table(console: Console, root: Path, counts: dict[str, tuple[int, int]], det: Detector,
                     show_misses: int) -> None:
    """leaky-repo's files against their counts of risk lines (see file_counts_table)."""
    file_counts_table(console, "leaky-repo's labelled files ({files} files, {total} risk lines): a file's risk lines "
                               "count as found up to the number of lines the tool flags in it",
                      root, {name: risk for name, (risk, _informative) in counts.items()}, det, show_misses,
                      "risk lines")


def file_counts_table(console: Console, title: str, root: Path, counts: dict[str, int], det: Detector,
                      show_misses: int, what: str, also_rules: frozenset[str] = frozenset()) -> None:
    """Per file, the lines a tool reports a secret on against the file's labelled count: found is the smaller
    of the two, summed; lines beyond the count are flagged (a stand-in, or a line the labels call informative).
    Findings of ``also_rules`` count too (a set that labels payment cards among its secrets)."""
    from clientguard.detect.scanner import SourceFile, scan_files  # noqa: PLC0415

    names = sorted(name for name in counts if (root / name).is_file())
    result = scan_files([SourceFile(root / name, name) for name in names], det, jobs=1)
    # a finding counts on its first line (a private key block spans many, and is one risk line in the counts)
    cg_lines = {(f.path, f.line) for f in result.findings if f.kind == "secret" or f.rule_id in also_rules}
    ds_lines = detect_secrets_lines(root, names)
    total = sum(counts[name] for name in names)
    table = Table(title=title.format(files=len(names), total=total))
    for col in ("tool", f"{what} found", "recall", "files all found", f"lines beyond the count"):
        table.add_column(col, justify="right" if col != "tool" else "left")
    short: list[tuple[str, int, int]] = []
    for tool, lines in (("clientguard", cg_lines), ("detect-secrets 1.5.0", ds_lines)):
        found = complete = beyond = 0
        per_file = Counter(path for path, _ in lines)
        for name in names:
            want, got = counts[name], per_file[name]
            found += min(want, got)
            complete += got >= want
            beyond += max(0, got - want)
            if tool == "clientguard" and got < want:
                short.append((name, got, want))
        table.add_row(tool, f"{found} / {total}", f"{found / max(1, total):.3f}",
                      f"{complete} / {len(names)}", str(beyond))
    console.print(table)
    for name, got, want in short[:show_misses]:
        console.print(f"  short {name}: {got} of {want} {what}", markup=False)


# -- ripsecrets and whispers ------------------------------------------------------------------------


def ripsecrets_places(test_dir: Path) -> Iterator[tuple[str, bool, Place]]:
    """ripsecrets' labels (its ``test/`` folder): every non-blank line of ``one_per_line/NAME`` a positive of
    NAME, every file ``one_per_file/NAME`` one positive spanning its lines, every non-blank line of ``none`` a
    negative (group "none")."""
    def lines_of(path: Path) -> list[str]:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    for sub, whole in (("one_per_line", False), ("one_per_file", True)):
        folder = test_dir / sub
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if not path.is_file():
                continue
            numbered = [n for n, line in enumerate(lines_of(path), 1) if line.strip()]
            name = f"{sub}/{path.name}"
            if whole and numbered:
                yield path.name, True, Place(name, tuple(range(numbered[0], numbered[-1] + 1)))
            elif not whole:
                yield from ((path.name, True, Place(name, (n,))) for n in numbered)
    none = test_dir / "none"
    if none.is_file():
        yield from (("none", False, Place("none", (n,), "none"))
                    for n, line in enumerate(lines_of(none), 1) if line.strip())


def whispers_counts(root: Path) -> dict[str, int]:
    """whispers' labels: the (fixture, count) pairs its ``test_detection_by_value`` is parametrized with
    (``tests/unit/test_secrets.py``), read from the test's source without running it."""
    test = root / "tests" / "unit" / "test_secrets.py"
    if not test.is_file():
        return {}
    counts: dict[str, int] = {}
    for node in ast.walk(ast.parse(test.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize" and len(node.args) == 2):
            continue
        try:
            names, rows = ast.literal_eval(node.args[0]), ast.literal_eval(node.args[1])
        except (ValueError, SyntaxError):
            continue
        if tuple(names) == ("src", "count"):
            counts.update({str(src): int(n) for src, n in rows})
    return counts


# -- the tools --------------------------------------------------------------------------------------


def detect_secrets_hits(texts: list[str]) -> list[bool]:
    """Which texts detect-secrets reports a secret in, each scanned as a file of its own (its normal mode)."""
    import tempfile  # noqa: PLC0415

    from detect_secrets import SecretsCollection  # noqa: PLC0415 - the peer is a bench dependency
    from detect_secrets.settings import default_settings  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="cg-labelled-") as tmp:
        root = Path(tmp)
        for n, text in enumerate(texts):
            (root / f"example-{n}.txt").write_text(text, encoding="utf-8")
        with default_settings():
            collection = SecretsCollection(root=str(root))
            for n in range(len(texts)):
                collection.scan_file(f"example-{n}.txt")
        found = {Path(filename).name for filename, _secret in collection}
    return [f"example-{n}.txt" in found for n in range(len(texts))]


def detect_secrets_lines(root: Path, names: list[str]) -> set[tuple[str, int]]:
    """(file, line) of every secret detect-secrets reports in the named files below ``root``."""
    from detect_secrets import SecretsCollection  # noqa: PLC0415 - the peer is a bench dependency
    from detect_secrets.settings import default_settings  # noqa: PLC0415

    with default_settings():
        collection = SecretsCollection(root=str(root))
        for name in names:
            collection.scan_file(name)
        return {(Path(filename).relative_to(root).as_posix() if Path(filename).is_absolute() else filename,
                 secret.line_number) for filename, secret in collection}


def _examples_table(console: Console, title: str, examples: list[tuple[str, bool, str]],
                    secret_found: Callable[[str], bool], show_misses: int) -> None:
    """Recall on the examples that must match and flags on those that must not, for both tools."""
    table = Table(title=title)
    for col in ("tool", "true examples found", "recall", "false examples flagged"):
        table.add_column(col, justify="right" if col != "tool" else "left")
    misses: list[tuple[str, str]] = []
    hits = {"clientguard": [secret_found(text) for _, _, text in examples],
            "detect-secrets 1.5.0": detect_secrets_hits([text for _, _, text in examples])}
    for tool, tool_hits in hits.items():
        tp = fn = fp = tn = 0
        for (rid, positive, text), hit in zip(examples, tool_hits):
            if positive:
                tp, fn = tp + hit, fn + (not hit)
                if tool == "clientguard" and not hit:
                    misses.append((rid, text))
            else:
                fp, tn = fp + hit, tn + (not hit)
        table.add_row(tool, f"{tp} / {tp + fn}", f"{tp / max(1, tp + fn):.3f}", f"{fp} / {fp + tn}")
    console.print(table)
    by_rule = Counter(rid for rid, _ in misses)
    console.print(f"clientguard misses in {len(by_rule)} rules: "
                  + ", ".join(f"{r} ({n})" for r, n in by_rule.most_common(12)))
    for rid, text in misses[:show_misses]:
        console.print(f"  {rid}: {text[:120]!r}", markup=False)


def _in_checkout(root: Path, *parts: str) -> Path:
    """The folder ``parts`` below ``root`` when ``root`` is the project's checkout, else ``root`` itself."""
    return root.joinpath(*parts) if (root / parts[0]).is_dir() else root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gitleaks", type=Path, help="a gitleaks checkout (or its cmd/generate/config/rules folder)")
    ap.add_argument("--noseyparker", type=Path,
                    help="a noseyparker checkout (or its crates/noseyparker/data/default/builtin/rules folder)")
    ap.add_argument("--trufflehog", type=Path, help="a trufflehog checkout (or its pkg/detectors folder)")
    ap.add_argument("--presidio", type=Path, help="a presidio checkout (or its presidio-analyzer/tests folder)")
    ap.add_argument("--credsweeper", type=Path,
                    help="a CredSweeper checkout (its tests/samples and the tests/data/*.json its tests expect)")
    ap.add_argument("--kingfisher", type=Path, help="a kingfisher checkout (or its data/rules folder)")
    ap.add_argument("--presidio-research", type=Path,
                    help="a presidio-research checkout (its data/synth_dataset_v2.json and tests/data/generated_*.json)")
    ap.add_argument("--secretlint", type=Path,
                    help="a secretlint checkout (or its packages/@secretlint folder): its rules' test snapshots")
    ap.add_argument("--semgrep-rules", type=Path,
                    help="a semgrep-rules checkout (or its generic/secrets folder): its secret rules' annotated tests")
    ap.add_argument("--creddata", type=Path,
                    help="a CredData checkout whose data/ folder its download_data.py has filled (its meta/*.csv "
                         "label lines of real repositories)")
    ap.add_argument("--leaky-repo", type=Path, help="a Plazmaz/leaky-repo checkout (files with secrets and "
                    "their per-file counts in .leaky-meta/secrets.csv)")
    ap.add_argument("--ripsecrets", type=Path, help="a sirwart/ripsecrets checkout (or its test folder): lines "
                    "with one secret each, files with one, and a file with none")
    ap.add_argument("--whispers", type=Path, help="a Skyscanner/whispers checkout: its fixtures and the count of "
                    "secrets its tests expect in each")
    ap.add_argument("--seed", type=int, default=7, help="seed for the generated gitleaks examples")
    ap.add_argument("--misses", type=int, default=0, help="also list this many examples clientguard missed")
    args = ap.parse_args()
    if not (args.gitleaks or args.presidio or args.noseyparker or args.trufflehog or args.credsweeper
            or args.kingfisher or args.presidio_research or args.secretlint or args.semgrep_rules
            or args.creddata or args.leaky_repo or args.ripsecrets or args.whispers):
        ap.error("give --gitleaks, --noseyparker, --trufflehog, --kingfisher, --credsweeper, --secretlint, "
                 "--semgrep-rules, --creddata, --leaky-repo, --ripsecrets, --whispers, --presidio-research "
                 "and/or --presidio "
                 "(local checkouts; this benchmark downloads nothing)")
    console = Console()
    det = Detector.create(fingerprint_key=b"labelled-bench" * 3)

    def secret_found(text: str) -> bool:
        return any(f.kind == "secret" for f in det.scan(text))

    def examples_report(title: str) -> Callable[[Path, list], None]:
        return lambda folder, examples: _examples_table(
            console, title.format(len({r for r, _, _ in examples})), examples, secret_found, args.misses)

    def noseyparker_report(folder: Path, examples: list) -> None:
        examples_report("Nosey Parker's rule examples ({} rules)")(folder, examples)
        secret_only = list(noseyparker_examples(folder, "secret"))
        _examples_table(console, f"the same, rules Nosey Parker files under 'secret' "
                                 f"({len({r for r, _, _ in secret_only})} rules; the others find identifiers: "
                                 "bucket names, ARNs, account and client IDs)", secret_only, secret_found, 0)

    def places_report(title: str, columns: dict[str, str], rules_are: str) -> Callable[[Path, list], None]:
        return lambda folder, places: places_table(console, title, folder, places, det, args.misses, columns,
                                                   rules_are)

    # (checkout given, its folder of examples, how they are read, what is said when there are none, the table)
    sets = [
        (args.gitleaks, ("cmd", "generate", "config", "rules"),
         lambda folder: gitleaks_examples(folder, random.Random(args.seed)),
         "no gitleaks rules folder at {}", examples_report("gitleaks' rule examples ({} rules)")),
        (args.noseyparker, ("crates", "noseyparker", "data", "default", "builtin", "rules"), noseyparker_examples,
         "no Nosey Parker rule files at {}", noseyparker_report),
        (args.trufflehog, ("pkg", "detectors"), trufflehog_examples,
         "no TruffleHog detector tests under {}", examples_report("TruffleHog's detector pattern tests ({} detectors)")),
        (args.kingfisher, ("data", "rules"), kingfisher_examples,
         "no Kingfisher rule files at {}", examples_report("Kingfisher's rule examples ({} rules)")),
        (args.secretlint, ("packages", "@secretlint"), secretlint_places, "no secretlint rule snapshots under {}",
         places_report("secretlint's rule snapshots ({files} files; {skipped} skipped as binary, with "
                       "{skipped_positives} of its findings): positives are the lines of the messages its "
                       "output.json expects, negatives the cases that expect none (each one place: flagged when a "
                       "secret is reported anywhere in it)", {"ok": "ok cases flagged"}, "secretlint rules")),
        (args.semgrep_rules, ("generic", "secrets"), semgrep_places, "no annotated semgrep secret rule tests under {}",
         places_report("semgrep-rules' secret rule tests ({files} files; {skipped} skipped, with {skipped_positives} "
                       "of its labelled lines): lines annotated ruleid (positives) and ok (negatives)",
                       {"ok": "ok lines flagged"}, "semgrep rules")),
        (args.ripsecrets, ("test",), ripsecrets_places, "no ripsecrets test files under {}",
         places_report("ripsecrets' test files ({files} files): each line of one_per_line/* and each file of "
                       "one_per_file/* holds a secret, no line of none does", {"none": "lines of none flagged"},
                       "ripsecrets files")),
    ]
    for root, parts, load, missing, report in sets:
        if not root:
            continue
        folder = _in_checkout(root, *parts)
        items = list(load(folder)) if folder.is_dir() else []
        if not items:
            console.print(f"[red]{missing.format(folder)}[/red]")
            return 2
        report(folder, items)

    if args.credsweeper:
        data_dir, samples = args.credsweeper / "tests" / "data", args.credsweeper / "tests" / "samples"
        places = list(credsweeper_places(data_dir)) if (data_dir / "output.json").is_file() else []
        if not places or not samples.is_dir():
            console.print(f"[red]no CredSweeper test data (tests/data/output.json, tests/samples) under "
                          f"{args.credsweeper}[/red]")
            return 2
        credsweeper_table(console, samples, places, det, args.misses)

    if args.creddata:
        places = list(creddata_places(args.creddata)) if (args.creddata / "meta").is_dir() else []
        present = sum(1 for name in {place.path for _, _, place in places} if (args.creddata / name).is_file())
        if not present:
            console.print(f"[red]no CredData markup (meta/*.csv) with its files (data/, filled by its "
                          f"download_data.py) under {args.creddata}[/red]")
            return 2
        places_table(console, "CredData's markup of real repositories ({files} files; {skipped} absent or skipped "
                              "as binary, with {skipped_positives} of its credentials): positives the lines "
                              "labelled T, negatives those labelled F, and X (test values, examples, placeholders); "
                              "'without IDs' leaves out the categories that name rather than unlock ("
                              + ", ".join(sorted(CREDDATA_IDENTIFIERS)) + ")",
                     args.creddata, places, det, args.misses,
                     {"F": "F lines flagged", "X": "X lines flagged", "off": "findings off the markup"},
                     "CredData categories", CREDDATA_IDENTIFIERS)

    if args.leaky_repo:
        counts = leaky_repo_counts(args.leaky_repo)
        if not counts:
            console.print(f"[red]no leaky-repo labels (.leaky-meta/secrets.csv) under {args.leaky_repo}[/red]")
            return 2
        leaky_repo_table(console, args.leaky_repo, counts, det, args.misses)

    if args.whispers:
        fixtures = args.whispers / "tests" / "fixtures"
        counts = whispers_counts(args.whispers)
        if not counts or not fixtures.is_dir():
            console.print(f"[red]no whispers fixtures with expected counts (tests/fixtures, "
                          f"tests/unit/test_secrets.py) under {args.whispers}[/red]")
            return 2
        file_counts_table(console, "whispers' fixtures ({files} files, {total} secrets its tests expect): a file's "
                                   "secrets count as found up to the number of lines the tool flags in it",
                          fixtures, counts, det, args.misses, "secrets", frozenset({"payment-card-number"}))

    if args.presidio_research:
        records = list(presidio_research_records(args.presidio_research))
        if not records:
            console.print(f"[red]no presidio-research labelled sets ({', '.join(PRESIDIO_RESEARCH_FILES)}) under "
                          f"{args.presidio_research}[/red]")
            return 2
        counts = presidio_research_scores(records, det.scan)
        table = Table(title=f"Presidio-research's labelled sentences ({len(records)}; spans of the types "
                            "clientguard finds)")
        for col in ("type", "spans found", "recall", "findings right", "precision"):
            table.add_column(col, justify="left" if col == "type" else "right")
        for kind, c in counts.items():
            spans, found = c["found"] + c["missed"], c["right"] + c["wrong"]
            table.add_row(kind, f"{c['found']} / {spans}", f"{c['found'] / max(1, spans):.3f}",
                          f"{c['right']} / {found}", f"{c['right'] / max(1, found):.3f}")
        console.print(table)

    if args.presidio:
        tests_dir = _in_checkout(args.presidio, "presidio-analyzer", "tests")
        agree: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for name, text, expected in presidio_cases(tests_dir):
            key = PRESIDIO_TYPES[name]
            got = sum(1 for f in det.scan(text) if f.kind == "pii" and key in f.rule_id)
            agree[name][0] += got == expected
            agree[name][1] += 1
        if not agree:
            console.print(f"[red]no Presidio recognizer tests under {tests_dir}[/red]")
            return 2
        table = Table(title="Presidio recognizer test cases: clientguard reports exactly the expected count")
        table.add_column("type")
        table.add_column("cases agreed", justify="right")
        for name, (ok, total) in agree.items():
            table.add_row(name, f"{ok} / {total}")
        console.print(table)
        console.print("IP cases disagree by design where they expect loopback, link-local or documentation "
                      "addresses (clientguard does not report those).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
