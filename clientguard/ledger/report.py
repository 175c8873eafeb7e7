"""The client report: what the ledger says left the machine, summarized for the client to read.

`build_report` gathers the numbers (never values: redactions are counts by kind and rule);
`write_report` renders them as self-contained HTML (inline SVG figures), PDF or Markdown.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from clientguard import __version__
from clientguard.errors import InputError
from clientguard.ledger.record import EgressRecord, LedgerError
from clientguard.ledger.store import Ledger
from clientguard.ledger.verify import VerifyResult, verify_ledger
from clientguard.paths import PathGlobs

FORMATS = ("html", "pdf", "md")
VERDICT_ORDER = ("allow", "route_local", "block")


@dataclass(frozen=True)
class UsageRow:
    """How much one provider/account/plan/mode combination was used."""

    provider: str
    account: str
    plan: str
    mode: str
    requests: int
    blocked: int
    bytes_sent: int
    first: str
    last: str


@dataclass(frozen=True)
class TermFact:
    """One catalog fact about a plan, with its source and age."""

    title: str
    value: str
    source_title: str
    url: str
    retrieved: str
    age_days: int
    stale: bool
    note: str | None = None


@dataclass(frozen=True)
class Terms:
    """The terms a provider plan processes code under, as the catalog states them."""

    provider: str
    plan: str
    provider_name: str
    plan_name: str
    tier: str
    facts: list[TermFact]
    known: bool = True  # False: the catalog has no entry for this provider/plan


@dataclass(frozen=True)
class BlockedRow:
    """A request the gateway refused, and why."""

    seq: int
    ts: str
    agent: str
    provider: str
    endpoint: str
    account: str
    reasons: list[str]
    found: int = 0  # secrets, PII and identifiers detected in the request (none of them left)


@dataclass(frozen=True)
class ProtectedPath:
    """A protected path glob and the forwarded entries (if any) whose files matched it."""

    glob: str
    sent_in: list[int]  # entry numbers that forwarded a matching file: empty means never sent
    blocked_in: list[int]  # entry numbers that were blocked with a matching file


@dataclass(frozen=True)
class AccountVerdict:
    """The policy's decision for one of the freelancer's accounts."""

    account: str
    provider: str
    plan: str
    mode: str
    action: str
    reasons: list[str]


@dataclass
class PolicySummary:
    """The policy in force, as the report shows it."""

    path: str
    sha256: str
    client: str
    identifiers: int
    clauses: list[tuple[str, str]]
    accounts: list[AccountVerdict]
    gateway_account: str | None
    keep_prompts: bool


@dataclass
class ReportData:
    """Everything a report shows, computed once and rendered in any format."""

    client: str
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    ledger_path: str
    ledger_id: str
    verify: VerifyResult
    total: int
    by_verdict: dict[str, int]
    bytes_total: int
    first_ts: str | None
    last_ts: str | None
    usage: list[UsageRow]
    terms: list[Terms]
    bucket: str  # "day" or "hour"
    series: list[tuple[str, dict[str, int], int]]  # (bucket label, requests by verdict, bytes)
    redactions_by_kind: dict[str, int]
    redactions_by_rule: list[tuple[str, str, int, int]]  # kind, rule, count, distinct values
    blocked: list[BlockedRow]
    protected: list[ProtectedPath]
    files_sent: list[str]
    policy: PolicySummary | None
    version: str = __version__
    notes: list[str] = field(default_factory=list)

    @property
    def client_slug(self) -> str:
        """The client name as a file-name stem."""
        return re.sub(r"[^a-z0-9]+", "-", self.client.lower()).strip("-") or "client"

    @property
    def redactions_total(self) -> int:
        """How many values were replaced by placeholders in the period."""
        return sum(self.redactions_by_kind.values())

    @property
    def period_text(self) -> str:
        """The period as a reader sees it."""
        start = _day(self.since) if self.since else (self.first_ts or "")[:10] or "the first entry"
        end = _day(self.until - timedelta(microseconds=1)) if self.until else (self.last_ts or "")[:10] or "the last entry"
        return f"{start} to {end}"


def _day(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d")


def _relative(file: str, repo_root: Path | None) -> str:
    p = PurePosixPath(file.replace("\\", "/"))
    if p.is_absolute() and repo_root is not None:
        try:
            return str(p.relative_to(PurePosixPath(repo_root.resolve().as_posix())))
        except ValueError:
            return str(p)
    return str(p).removeprefix("./")


def build_report(
    ledger_path: Path,
    *,
    policy: Any | None = None,
    client: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    catalog: Any | None = None,
    now: datetime | None = None,
) -> ReportData:
    """Read the ledger (and the policy, if any) and compute everything the report shows."""
    ledger_path = Path(ledger_path)
    if since and until and since >= until:
        raise InputError(f"--since ({since.isoformat()}) is not before --until ({until.isoformat()})")
    now = now or datetime.now(timezone.utc)
    # The chain is verified whole: a period filter must not hide a break outside it.
    result = verify_ledger(ledger_path, require_key=False)
    with Ledger.open(ledger_path, create=False, require_key=False) as led:
        ledger_id = led.ledger_id
        entries = led.entries(since=since, until=until)
    pairs: list[tuple[int, EgressRecord]] = []
    notes: list[str] = []
    for e in entries:
        try:
            pairs.append((e.seq, e.record))
        except LedgerError as exc:
            notes.append(f"entry {e.seq} skipped: {exc.message}")
    client_name = client or (policy.client.name if policy is not None else None)
    if client_name is None:
        names = Counter(r.client for _, r in pairs)
        client_name = names.most_common(1)[0][0] if names else "unknown client"
    other = sorted({r.client for _, r in pairs if r.client != client_name})
    if other:
        notes.append(f"entries for other clients left out: {', '.join(other)}")
        pairs = [(s, r) for s, r in pairs if r.client == client_name]
    records = [r for _, r in pairs]

    by_verdict = Counter(r.verdict for r in records)
    usage_acc: dict[tuple[str, str, str, str], list[EgressRecord]] = defaultdict(list)
    for r in records:
        usage_acc[(r.provider, r.account, r.plan, r.mode)].append(r)
    usage = [
        UsageRow(p, a, pl, m, len(rs), sum(1 for r in rs if r.verdict == "block"),
                 sum(r.bytes_sent for r in rs if r.verdict != "block"), str(rs[0].ts), str(rs[-1].ts))
        for (p, a, pl, m), rs in sorted(usage_acc.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]

    cat = catalog
    if cat is None:
        try:
            from clientguard.policy import load_catalog

            cat = load_catalog()
        except Exception as exc:  # the report still says what left without the catalog
            notes.append(f"provider catalog unavailable: {exc}")
    terms = _terms(
        sorted({(r.provider, r.plan) for r in records if r.verdict != "block"}), cat, now.date()
    )

    bucket, series = _series(records)
    kind_counts: Counter[str] = Counter()
    rule_counts: Counter[tuple[str, str]] = Counter()
    rule_values: dict[tuple[str, str], set[str]] = defaultdict(set)
    # Only forwarded requests had values replaced; what a blocked request held is counted with it.
    for r in records:
        if r.verdict == "block":
            continue
        for red in r.redactions:
            kind_counts[red["kind"]] += int(red["count"])
            rule_counts[(red["kind"], red["rule_id"])] += int(red["count"])
            rule_values[(red["kind"], red["rule_id"])].add(red["fingerprint"])
    by_rule = [(k, rule, n, len(rule_values[(k, rule)])) for (k, rule), n in rule_counts.most_common()]

    blocked = [
        BlockedRow(seq, str(r.ts), r.agent, r.provider, r.endpoint, r.account,
                   [_reason_text(x) for x in r.reasons] or ["(no reason recorded)"], r.redaction_count)
        for seq, r in pairs if r.verdict == "block"
    ]

    repo_root = getattr(policy, "repo_root", None) if policy is not None else None
    globs = list(policy.client.protected_paths) if policy is not None else []
    protected = []
    for g in globs:
        # The same gitignore-style matching `scan` and the gateway use for these globs.
        spec = PathGlobs([g])
        sent = [s for s, r in pairs if r.verdict != "block" and any(spec.matches(_relative(f, repo_root)) for f in r.files)]
        held = [s for s, r in pairs if r.verdict == "block" and any(spec.matches(_relative(f, repo_root)) for f in r.files)]
        protected.append(ProtectedPath(g, sent, held))
    files_sent = sorted({_relative(f, repo_root) for r in records if r.verdict != "block" for f in r.files})

    return ReportData(
        client=client_name,
        generated_at=now,
        since=since,
        until=until,
        ledger_path=str(ledger_path),
        ledger_id=ledger_id,
        verify=result,
        total=len(records),
        by_verdict=dict(sorted(by_verdict.items(), key=lambda kv: _verdict_rank(kv[0]))),
        bytes_total=sum(r.bytes_sent for r in records if r.verdict != "block"),
        first_ts=str(records[0].ts) if records else None,
        last_ts=str(records[-1].ts) if records else None,
        usage=usage,
        terms=terms,
        bucket=bucket,
        series=series,
        redactions_by_kind=dict(kind_counts.most_common()),
        redactions_by_rule=by_rule,
        blocked=blocked,
        protected=protected,
        files_sent=files_sent,
        policy=_policy_summary(policy, cat) if policy is not None else None,
        notes=notes,
    )


def _verdict_rank(verdict: str) -> tuple[int, str]:
    return (VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER), verdict)


def _reason_text(reason: dict[str, Any]) -> str:
    parts = [str(reason[k]) for k in ("clause", "fact") if reason.get(k)]
    text = ": ".join(parts) if parts else ", ".join(f"{k}={v}" for k, v in reason.items())
    if reason.get("source"):
        text += f" (source: {reason['source']})"
    return text


def _series(records: list[EgressRecord]) -> tuple[str, list[tuple[str, dict[str, int], int]]]:
    if not records:
        return "day", []
    times = [r.timestamp for r in records]
    span = max(times) - min(times)
    bucket = "day" if span >= timedelta(days=2) else "hour"
    fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H:00"
    step = timedelta(days=1) if bucket == "day" else timedelta(hours=1)
    start = min(times).replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        start = start.replace(hour=0)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    sizes: Counter[str] = Counter()
    for r, t in zip(records, times):
        label = t.strftime(fmt)
        counts[label][r.verdict] += 1
        if r.verdict != "block":
            sizes[label] += r.bytes_sent
    out = []
    t = start
    while t <= max(times):
        label = t.strftime(fmt)
        out.append((label, dict(counts.get(label, {})), sizes.get(label, 0)))
        t += step
    return bucket, out


def _terms(used: list[tuple[str, str]], catalog: Any | None, today: date) -> list[Terms]:
    out: list[Terms] = []
    for provider, plan in used:
        posture = None
        if catalog is not None:
            try:
                posture = catalog.posture(provider, plan)
            except Exception:
                posture = None
        if posture is None:
            out.append(Terms(provider, plan, provider, plan, "unknown", [], known=False))
            continue
        stale_after = getattr(catalog, "stale_after_days", 180)
        facts = [
            TermFact(
                title=f.title, value=f.shown(), source_title=f.source.title, url=f.source.url,
                retrieved=f.source.retrieved.isoformat(), age_days=f.age_days(today),
                stale=f.age_days(today) > stale_after, note=f.note,
            )
            for f in posture.facts.values()
        ]
        out.append(Terms(posture.provider, posture.plan, posture.provider_name, posture.plan_name, posture.tier, facts))
    return out


def _policy_summary(policy: Any, catalog: Any | None) -> PolicySummary:
    path = Path(policy.path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = "(policy file not readable)"
    c = policy.contract
    clauses = [
        ("NDA", "yes" if c.nda else "no"),
        ("No third-party processing", "yes" if c.no_third_party_processing else "no"),
        ("Audit log required", "yes" if c.audit_log_required else "no"),
        ("GDPR: client is controller", "yes" if c.gdpr.controller else "no"),
        ("GDPR: authorized sub-processors", ", ".join(c.gdpr.authorized_subprocessors) or "none"),
        ("HIPAA: PHI in scope", "yes" if c.hipaa.phi else "no"),
        ("Protected paths", ", ".join(policy.client.protected_paths) or "none"),
    ]
    verdicts: list[AccountVerdict] = []
    try:
        from clientguard.policy import decide

        for account in policy.accounts:
            for mode in ("local", "cloud"):
                v = decide(policy, account, mode, catalog) if catalog is not None else decide(policy, account, mode)
                verdicts.append(AccountVerdict(
                    account.name, account.provider, account.plan, mode, v.action,
                    [f"{r.clause}: {r.fact}" for r in v.reasons if getattr(r, "blocking", False)]
                    or [f"{r.clause}: {r.fact}" for r in v.reasons[:1]],
                ))
    except ImportError:
        pass
    return PolicySummary(
        path=str(path),
        sha256=digest,
        client=policy.client.name,
        identifiers=len(policy.client.identifiers),
        clauses=clauses,
        accounts=verdicts,
        gateway_account=policy.gateway.account,
        keep_prompts=bool(policy.ledger.keep_prompts),
    )


def write_report(data: ReportData, fmt: str, target: Path) -> Path:
    """Render `data` as html, pdf or md and write it to `target` (parent directories created)."""
    if fmt not in FORMATS:
        raise InputError(f"report format {fmt!r} is not one of: {', '.join(FORMATS)}")
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {target.parent}: {exc.strerror}") from exc
    if fmt == "html":
        from clientguard.ledger.report_html import render_html

        payload: bytes = render_html(data).encode("utf-8")
    elif fmt == "md":
        from clientguard.ledger.report_md import render_md

        payload = render_md(data).encode("utf-8")
    else:
        from clientguard.ledger.report_pdf import render_pdf

        payload = render_pdf(data)
    try:
        target.write_bytes(payload)
    except OSError as exc:
        raise InputError(f"cannot write the report to {target}: {exc.strerror}") from exc
    return target
