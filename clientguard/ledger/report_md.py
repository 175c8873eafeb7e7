"""The client report as Markdown (tables only; the HTML and PDF carry the figures)."""

from __future__ import annotations

from clientguard.ledger.report import ReportData


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out + [""]


def render_md(data: ReportData) -> str:
    """The whole report as one Markdown document."""
    v = data.verify
    lines = [f"# AI egress report: {data.client}", ""]
    lines += [f"Period: {data.period_text} (UTC). Generated {data.generated_at:%Y-%m-%d %H:%M} UTC by clientguard {data.version}.", ""]
    lines += ["## Summary", ""]
    lines += _table(["measure", "value"], [
        ["requests", data.total],
        *[[f"verdict: {k}", n] for k, n in data.by_verdict.items()],
        ["bytes sent to providers", data.bytes_total],
        ["values redacted before sending", data.redactions_total],
        ["ledger entries (whole ledger)", v.count],
    ])
    lines += ["## Ledger integrity", ""]
    if v.ok:
        auth = "entry MACs checked with the ledger key" if v.authenticated else "unkeyed chain only (key not available)"
        lines += [f"**Chain intact**: {v.count} entries verified ({auth}).", ""]
    else:
        p = v.problem
        lines += [f"**Chain broken** at entry {p.seq} ({p.kind}): {p.message}", ""] if p else []
    lines += [f"Ledger `{data.ledger_id}`, head `{v.head_seq}:{v.head_hash}`. Keep this line: "
              f"`clientguard ledger verify --anchor {v.head_seq}:{v.head_hash}` later proves the entries up to here were not rewritten.", ""]
    lines += ["## Providers, plans and modes", ""]
    lines += _table(["provider", "account", "plan", "mode", "requests", "blocked", "bytes sent", "first", "last"],
                    [[u.provider, u.account, u.plan, u.mode, u.requests, u.blocked, u.bytes_sent, u.first[:16], u.last[:16]] for u in data.usage]) if data.usage else ["No requests in this period.", ""]
    lines += ["## Terms the code was processed under", ""]
    for t in data.terms:
        lines += [f"### {t.provider_name} — {t.plan_name} ({t.tier})", ""]
        if not t.known:
            lines += ["This provider/plan is not in clientguard's catalog: its terms are unknown.", ""]
            continue
        lines += _table(["fact", "value", "source", "retrieved", "age"],
                        [[f.title, f.value, f"[{f.source_title}]({f.url})", f.retrieved, f"{f.age_days} d" + (" (stale)" if f.stale else "")] for f in t.facts])
    if not data.terms:
        lines += ["No request was forwarded to a provider in this period.", ""]
    lines += ["## Egress over time", ""]
    lines += _table([data.bucket, *sorted({k for _, c, _ in data.series for k in c}), "bytes"],
                    [[lab, *[c.get(k, 0) for k in sorted({k for _, cc, _ in data.series for k in cc})], b] for lab, c, b in data.series if c]) if data.series else ["No requests in this period.", ""]
    lines += ["## Redactions", "", "Counts only: clientguard never records the values it replaced.", ""]
    lines += _table(["kind", "count"], [[k, n] for k, n in data.redactions_by_kind.items()]) if data.redactions_by_kind else ["Nothing was redacted.", ""]
    if data.redactions_by_rule:
        lines += _table(["kind", "rule", "count", "distinct values"], [list(r) for r in data.redactions_by_rule])
    lines += ["## Blocked requests", ""]
    lines += _table(["#", "time", "agent", "provider", "endpoint", "account", "held", "why"],
                    [[b.seq, b.ts[:19], b.agent, b.provider, b.endpoint, b.account, b.found, "; ".join(b.reasons)] for b in data.blocked]) if data.blocked else ["No request was blocked.", ""]
    lines += ["## Protected paths", ""]
    if data.protected:
        lines += _table(["path", "status"], [[p.glob, "never sent" if not p.sent_in else f"SENT in entries {', '.join(map(str, p.sent_in))}"] for p in data.protected])
    else:
        lines += ["The policy names no protected paths.", ""]
    lines += [f"Files whose content was sent: {len(data.files_sent)}.", ""]
    lines += ["## Policy in force", ""]
    if data.policy:
        pol = data.policy
        lines += [f"`{pol.path}` (sha256 `{pol.sha256}`), {pol.identifiers} client identifiers pseudonymized, "
                  f"prompts {'kept (redacted)' if pol.keep_prompts else 'not kept'} in the ledger.", ""]
        lines += _table(["clause", "value"], [list(c) for c in pol.clauses])
        lines += _table(["account", "provider", "plan", "mode", "decision", "why"],
                        [[a.account, a.provider, a.plan, a.mode, a.action, "; ".join(a.reasons)] for a in pol.accounts])
    else:
        lines += ["No policy file was given; the terms above come from the ledger alone.", ""]
    for n in data.notes:
        lines += [f"> note: {n}", ""]
    return "\n".join(lines)
