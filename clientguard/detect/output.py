"""Scan results for people (a rich table) and for machines (JSON, SARIF 2.1.0), and baseline files."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import orjson

from clientguard import __version__
from clientguard.detect.model import Rule
from clientguard.detect.scanner import Baseline, ScanFinding, ScanResult
from clientguard.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
# Above this many findings the table gives way to one line per finding, grouped by file: rich lays a table out
# at ~1.3 ms a row, so 88,354 phone numbers in one data file took two minutes to print (0.17 s as lines).
TABLE_ROWS = 1000


def shown(text: str) -> str:
    """``text`` as a report can carry it. A file name that is not UTF-8 reaches Python with its bytes kept as
    lone surrogates, which no UTF-8 writer accepts (the report failed with an internal error); such bytes are
    written as ``\\xe9`` instead, as git quotes them."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte (read from a UTF-16 file)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dumps(data: dict) -> bytes:
    """JSON and SARIF reports, indented by two: the bytes json.dumps(indent=2, ensure_ascii=False) wrote, from
    orjson (88,354 findings in 0.12 s instead of 2.0 s)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def to_json(result: ScanResult) -> dict:
    return {
        "version": __version__,
        "findings": [_finding_dict(f) for f in result.findings],
        "stats": {
            "files": result.files,
            "bytes": result.bytes,
            "seconds": round(result.seconds, 4),
            "skipped": len(result.skipped),
            "suppressed_by_baseline": result.suppressed,
        },
        "skipped": [{"path": shown(s.path), "reason": shown(s.reason)} for s in result.skipped],
    }


def _finding_dict(f: ScanFinding) -> dict:
    d = f.as_dict()
    d["path"] = shown(f.path)
    d["preview"] = shown(f.preview)
    return d


def to_sarif(result: ScanResult, rules: Sequence[Rule]) -> dict:
    used = sorted({f.rule_id for f in result.findings})
    by_id = {r.id: r for r in rules}
    sarif_rules = []
    first = {}
    for f in result.findings:
        first.setdefault(f.rule_id, f)
    for rid in used:
        r = by_id.get(rid)  # not a rule: the client's identifiers, a key store (keystores.toml)
        title, kind, severity = (r.title, r.kind, r.severity) if r else (first[rid].title, first[rid].kind,
                                                                          first[rid].severity)
        sarif_rules.append({
            "id": rid,
            "name": "".join(w.capitalize() for w in rid.split("-")),
            "shortDescription": {"text": title},
            "defaultConfiguration": {"level": _SARIF_LEVEL[severity]},
            "properties": {"kind": kind, "severity": severity, "tags": ["security", kind]},
        })
    index = {rid: i for i, rid in enumerate(used)}
    results = []
    for f in result.findings:
        results.append({
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.title} ({f.kind}): {shown(f.preview)}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": shown(f.path), "uriBaseId": "SRCROOT"},
                    "region": {"startLine": f.line, "startColumn": f.column,
                               "endLine": f.end_line, "endColumn": f.end_column},
                }
            }],
            "partialFingerprints": {"clientguardFingerprint/v1": f.fingerprint},
            "properties": {"kind": f.kind, "gitIgnored": f.ignored_file},
        })
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "clientguard",
                "version": __version__,
                "informationUri": "https://pypi.org/project/clientguard/",
                "rules": sarif_rules,
            }},
            "originalUriBaseIds": {"SRCROOT": {"description": {"text": "The scanned directory"}}},
            "results": results,
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "note", "message": {"text": shown(f"skipped {s.path}: {s.reason}")}}
                    for s in result.skipped if s.reason != "allowlisted path"
                ][:1000],
            }],
        }],
    }


def print_table(console: Console, result: ScanResult) -> None:
    from rich.markup import escape  # noqa: PLC0415 - rich only for a table: JSON and SARIF runs start without it
    from rich.table import Table  # noqa: PLC0415

    if len(result.findings) > TABLE_ROWS:
        _print_lines(console, result)
    elif result.findings:
        table = Table(title="clientguard scan", show_lines=False, header_style="bold")
        table.add_column("severity", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("rule", overflow="fold", min_width=14)
        table.add_column("location", overflow="fold", min_width=18)
        table.add_column("preview", overflow="fold")
        for f in result.findings:
            where = f"{shown(f.path)}:{f.line}:{f.column}" + (" (git-ignored)" if f.ignored_file else "")
            table.add_row(f"[{_STYLE[f.severity]}]{f.severity}[/]", f.kind, f.rule_id, escape(where),
                          escape(shown(f.preview)))
        console.print(table)
    kinds: dict[str, int] = {}
    for f in result.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing"
    mb = result.bytes / 1e6
    rate = mb / result.seconds if result.seconds > 0 else 0.0
    speed = f" ({rate:.0f} MB/s)" if rate >= 10 else f" ({rate:.2g} MB/s)" if mb > 1 and rate > 0 else ""
    size = f"{mb:.1f} MB" if mb >= 1 else f"{result.bytes / 1e3:.1f} kB"
    console.print(f"Found {summary} in {result.files} files, {size}, {result.seconds:.2f}s{speed}.")
    if result.suppressed:
        console.print(f"{result.suppressed} finding(s) accepted by the baseline were not shown.")
    if result.skipped:
        reasons: dict[str, int] = {}
        for s in result.skipped:
            key = s.reason.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
        console.print("Skipped " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) + ".")


def _print_lines(console: Console, result: ScanResult) -> None:
    """Many findings: how many each rule gave (a small table), then every finding on a line of its own under its
    file. Nothing is left out; the lines are written as they are, without rich's layout."""
    from rich.table import Table  # noqa: PLC0415

    per_rule: dict[str, list] = {}
    for f in result.findings:
        entry = per_rule.setdefault(f.rule_id, [f.severity, f.kind, 0, set()])
        entry[2] += 1
        entry[3].add(f.path)
    table = Table(title=f"clientguard scan: {len(result.findings)} findings by rule", header_style="bold")
    for name in ("severity", "kind", "rule", "findings", "files"):
        table.add_column(name, no_wrap=name != "rule", justify="right" if name in ("findings", "files") else "left")
    for rule_id, (severity, kind, n, paths) in sorted(per_rule.items(), key=lambda kv: (-kv[1][2], kv[0])):
        table.add_row(f"[{_STYLE[severity]}]{severity}[/]", kind, rule_id, str(n), str(len(paths)))
    console.print(table)
    lines: list[str] = []
    path = None
    for f in result.findings:
        if f.path != path:
            path = f.path
            lines.append(shown(path) + (" (git-ignored)" if f.ignored_file else ""))
        lines.append(f"  {f.line}:{f.column}  {f.severity}  {f.kind}  {f.rule_id}  {shown(f.preview)}")
    console.file.write("\n".join(lines) + "\n")
    console.file.flush()


# -- baselines --------------------------------------------------------------------------------------

def write_baseline(path: Path, result: ScanResult) -> None:
    data = {
        "version": 1,
        "tool": f"clientguard {__version__}",
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "note": "Accepted findings, by keyed fingerprint (never the value). Fingerprints use this machine's key.",
        "findings": sorted(
            ({"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": shown(f.path)} for f in result.findings),
            key=lambda d: (d["path"], d["rule_id"], d["fingerprint"]),
        ),
    }
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:  # a directory, no permission, a missing folder
        raise InputError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None


def read_baseline(path: Path) -> Baseline:
    """A baseline file: clientguard's own (``--write-baseline``), or detect-secrets' ``.secrets.baseline``, whose
    ``results`` list each accepted secret by file (relative to the baseline's folder) and SHA-1."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: baseline file not found", hint="create one with --write-baseline FILE") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: baseline is not valid JSON: {exc}") from None
    except OSError as exc:  # a directory, no permission
        raise InputError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    if isinstance(data, dict) and isinstance(data.get("results"), dict) and "findings" not in data:
        return _detect_secrets_baseline(path, data["results"])
    items = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("fingerprint"), str) for i in items):
        raise InputError(f"{path}: baseline must be an object with a 'findings' list of {{'fingerprint': ...}} entries "
                         "(clientguard's) or a 'results' object of files (detect-secrets')")
    return Baseline(fingerprints=frozenset(i["fingerprint"] for i in items))


def _detect_secrets_baseline(path: Path, results: dict) -> Baseline:
    """detect-secrets' results: {file: [{"hashed_secret": SHA-1 hex, "type", "line_number", ...}]}. Every listed
    secret counts as accepted, as detect-secrets itself treats its baseline, except those an audit marked as
    real (``"is_secret": true``): those stay reported."""
    root = path.resolve().parent
    hashed: set[tuple[str, str]] = set()
    for name, entries in results.items():
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InputError(f"{path}: detect-secrets baseline: the results for {name!r} must be a list of objects")
        where = str((root / name).resolve())
        for entry in entries:
            digest = entry.get("hashed_secret")
            if not (isinstance(digest, str) and len(digest) == 40):
                raise InputError(f"{path}: detect-secrets baseline: an entry for {name!r} has no 40-digit hashed_secret")
            if entry.get("is_secret") is not True:
                hashed.add((where, digest.lower()))
    return Baseline(hashed=frozenset(hashed))
