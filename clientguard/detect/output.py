"""Scan results for people (a rich table) and for machines (JSON, SARIF 2.1.0), and baseline files."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table

from clientguard import __version__
from clientguard.detect.model import Rule
from clientguard.detect.scanner import Baseline, ScanResult
from clientguard.errors import InputError

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def to_json(result: ScanResult) -> dict:
    return {
        "version": __version__,
        "findings": [f.as_dict() for f in result.findings],
        "stats": {
            "files": result.files,
            "bytes": result.bytes,
            "seconds": round(result.seconds, 4),
            "skipped": len(result.skipped),
            "suppressed_by_baseline": result.suppressed,
        },
        "skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
    }


def to_sarif(result: ScanResult, rules: Sequence[Rule]) -> dict:
    used = sorted({f.rule_id for f in result.findings})
    by_id = {r.id: r for r in rules}
    sarif_rules = []
    for rid in used:
        r = by_id.get(rid)
        title = r.title if r else "Client identifier"
        kind = r.kind if r else "identifier"
        severity = r.severity if r else "medium"
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
            "message": {"text": f"{f.title} ({f.kind}): {f.preview}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "SRCROOT"},
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
                    {"level": "note", "message": {"text": f"skipped {s.path}: {s.reason}"}}
                    for s in result.skipped if s.reason != "allowlisted path"
                ][:1000],
            }],
        }],
    }


def print_table(console: Console, result: ScanResult) -> None:
    if result.findings:
        table = Table(title="clientguard scan", show_lines=False, header_style="bold")
        table.add_column("severity", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("rule", overflow="fold", min_width=14)
        table.add_column("location", overflow="fold", min_width=18)
        table.add_column("preview", overflow="fold")
        for f in result.findings:
            where = f"{f.path}:{f.line}:{f.column}" + (" (git-ignored)" if f.ignored_file else "")
            table.add_row(f"[{_STYLE[f.severity]}]{f.severity}[/]", f.kind, f.rule_id, where, f.preview)
        console.print(table)
    kinds: dict[str, int] = {}
    for f in result.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing"
    mb = result.bytes / 1e6
    speed = f" ({mb / result.seconds:.0f} MB/s)" if result.seconds > 0 and mb > 1 else ""
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


# -- baselines --------------------------------------------------------------------------------------

def write_baseline(path: Path, result: ScanResult) -> None:
    data = {
        "version": 1,
        "tool": f"clientguard {__version__}",
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "note": "Accepted findings, by keyed fingerprint (never the value). Fingerprints use this machine's key.",
        "findings": sorted(
            ({"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": f.path} for f in result.findings),
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
