"""The client report as one self-contained HTML file: inline CSS, inline SVG figures, no script, no fetches."""

from __future__ import annotations

from html import escape
from importlib import resources
from string import Template
from typing import Iterable

from clientguard.ledger.report import ReportData
from clientguard.ledger.report_plots import egress_figure, redactions_figure, to_svg


def _template(name: str) -> str:
    return resources.files("clientguard.ledger").joinpath("templates", name).read_text(encoding="utf-8")


def _table(headers: list[str], rows: Iterable[list[object]], numeric: Iterable[int] = ()) -> str:
    nums = set(numeric)
    head = "".join(f'<th{" class=num" if i in nums else ""}>{escape(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            # Cells that are already markup are passed as a 1-tuple ("<b>x</b>",).
            inner = c[0] if isinstance(c, tuple) else escape(str(c))
            cells.append(f'<td{" class=num" if i in nums else ""}>{inner}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(sid: str, title: str, *parts: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _figure(name: str, svg: str, caption: str) -> str:
    return f'<figure id="fig-{name}">{svg}<figcaption id="{name}-title">{escape(caption)}</figcaption></figure>'


def _summary(data: ReportData) -> str:
    cards = [
        (data.total, "requests through the gateway"),
        (data.by_verdict.get("block", 0), "blocked"),
        (data.redactions_total, "values redacted before sending"),
        (len({(u.provider, u.plan) for u in data.usage if u.requests > u.blocked}), "provider plans used"),
        (f"{data.bytes_total / 1024:.1f} KiB", "sent to providers"),
    ]
    html = '<div class="cards">' + "".join(
        f'<div class="card"><div class="n">{escape(str(n))}</div><div class="l">{escape(label)}</div></div>' for n, label in cards
    ) + "</div>"
    html += _table(["verdict", "requests"], [[(f'<span class="verdict-{escape(k)}">{escape(k)}</span>',), n] for k, n in data.by_verdict.items()], [1])
    return _section("summary", "Summary", html)


def _integrity(data: ReportData) -> str:
    v = data.verify
    if v.ok:
        auth = "entry MACs checked with the ledger key" if v.authenticated else "unkeyed chain only: the key was not available"
        status = f'<p class="ok" id="chain-status">Chain intact: {v.count} entries verified ({escape(auth)}).</p>'
    else:
        p = v.problem
        assert p is not None
        status = (f'<p class="bad" id="chain-status">Chain broken at entry {p.seq} ({escape(p.kind)}): '
                  f"{escape(p.message)}</p>")
    anchor = f"{v.head_seq}:{v.head_hash}"
    return _section(
        "integrity", "Ledger integrity", status,
        f"<p>Ledger <code>{escape(data.ledger_id)}</code> at <code>{escape(data.ledger_path)}</code>.</p>",
        f"<p>Anchor (head of the chain when this report was made): <code id=anchor>{escape(anchor)}</code>. "
        f"Running <code>clientguard ledger verify --anchor {escape(anchor)}</code> later shows whether any "
        "entry up to this one has been rewritten since.</p>",
    )


def _usage(data: ReportData) -> str:
    if not data.usage:
        return _section("providers", "Providers, plans and modes", _p("No requests in this period."))
    rows = [[u.provider, u.account, u.plan, u.mode, u.requests, u.blocked, u.bytes_sent, u.first[:16].replace("T", " "), u.last[:16].replace("T", " ")] for u in data.usage]
    return _section("providers", "Providers, plans and modes",
                    _table(["provider", "account", "plan", "mode", "requests", "blocked", "bytes sent", "first", "last"], rows, [4, 5, 6]))


def _terms(data: ReportData) -> str:
    parts = [_p("What each provider plan that received the code does with it, as published. "
                "Each fact names its source and the day it was read.")]
    if not data.terms:
        parts.append(_p("No request was forwarded to a provider in this period."))
    for t in data.terms:
        parts.append(f"<h3>{escape(t.provider_name)} — {escape(t.plan_name)} <small>({escape(t.tier)})</small></h3>")
        if not t.known:
            parts.append(_p("This provider/plan is not in clientguard's catalog: its terms are unknown."))
            continue
        rows = [[f.title, f.value, (f'<a href="{escape(f.url)}">{escape(f.source_title)}</a>',), f.retrieved,
                 (f'<span class="{"stale" if f.stale else ""}">{f.age_days} days{" (stale)" if f.stale else ""}</span>',)]
                for f in t.facts]
        parts.append(_table(["fact", "value", "source", "retrieved", "age"], rows))
    return _section("terms", "Terms the code was processed under", *parts)


def _egress(data: ReportData) -> str:
    fig = egress_figure(data)
    if fig is None:
        return _section("egress", "Egress over time", _p("No requests in this period."))
    return _section("egress", "Egress over time",
                    _figure("egress", to_svg(fig, "egress"), f"Requests per {data.bucket} by verdict, and kibibytes sent to providers."))


def _redactions(data: ReportData) -> str:
    parts = [_p("Counts only: clientguard never records the values it replaced, only keyed fingerprints.")]
    fig = redactions_figure(data)
    if fig is None:
        parts.append(_p("Nothing was redacted in this period."))
    else:
        parts.append(_figure("redactions", to_svg(fig, "redactions"), "Values replaced by placeholders, by kind."))
        parts.append(_table(["kind", "rule", "count", "distinct values"], [list(r) for r in data.redactions_by_rule], [2, 3]))
    return _section("redactions", "Redactions", *parts)


def _blocked(data: ReportData) -> str:
    if not data.blocked:
        return _section("blocked", "Blocked requests", _p("No request was blocked in this period."))
    rows = [[b.seq, b.ts[:19].replace("T", " "), b.agent, b.provider, b.endpoint, b.account, b.found,
             ("<br>".join(escape(r) for r in b.reasons),)] for b in data.blocked]
    return _section("blocked", "Blocked requests",
                    _p("Nothing of these requests left the machine. \"Held\" counts the secrets, personal data and "
                       "client identifiers found in each."),
                    _table(["#", "time (UTC)", "agent", "provider", "endpoint", "account", "held", "why"], rows, [0, 6]))


def _protected(data: ReportData) -> str:
    parts = []
    if data.protected:
        rows = []
        for p in data.protected:
            status = ('<span class="ok">never sent</span>' if not p.sent_in
                      else f'<span class="bad">sent in entries {", ".join(map(str, p.sent_in))}</span>')
            if p.blocked_in:
                status += f" (held back by blocks in entries {', '.join(map(str, p.blocked_in))})"
            rows.append([p.glob, (status,)])
        parts.append(_table(["protected path", "status"], rows))
    else:
        parts.append(_p("The policy names no protected paths."))
    parts.append(_p(f"Files whose content was sent to a provider: {len(data.files_sent)}."))
    if data.files_sent:
        shown = data.files_sent[:200]
        parts.append("<details><summary>list of files</summary><ul>" + "".join(f"<li><code>{escape(f)}</code></li>" for f in shown) + "</ul></details>")
    return _section("protected", "Protected paths", *parts)


def _policy(data: ReportData) -> str:
    pol = data.policy
    if pol is None:
        return _section("policy", "Policy in force", _p("No policy file was given; this report comes from the ledger alone."))
    parts = [
        f"<p>From <code>{escape(pol.path)}</code> (sha256 <code>{escape(pol.sha256)}</code>). "
        f"{pol.identifiers} client identifiers are pseudonymized before anything leaves. "
        f"Prompts are {'kept, after redaction,' if pol.keep_prompts else 'not kept'} in the ledger. "
        f"Gateway account: {escape(pol.gateway_account or '(chosen on the command line)')}.</p>",
        _table(["clause", "value"], [list(c) for c in pol.clauses]),
        "<h3>Decisions for each account</h3>",
        _table(["account", "provider", "plan", "mode", "decision", "why"],
               [[a.account, a.provider, a.plan, a.mode, (f'<span class="verdict-{escape(a.action)}">{escape(a.action)}</span>',),
                 ("<br>".join(escape(r) for r in a.reasons),)]
                for a in pol.accounts]),
    ]
    return _section("policy", "Policy in force", *parts)


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document."""
    body = "\n".join([
        _summary(data), _integrity(data), _usage(data), _terms(data), _egress(data),
        _redactions(data), _blocked(data), _protected(data), _policy(data),
        *(f'<p class="sub">note: {escape(n)}</p>' for n in data.notes),
    ])
    return Template(_template("report.html")).substitute(
        title=escape(f"AI egress report: {data.client}"),
        subtitle=escape(f"Period {data.period_text} (UTC) · {data.total} requests"),
        css=_template("report.css"),
        body=body,
        generated=escape(f"{data.generated_at:%Y-%m-%d %H:%M} UTC"),
        version=escape(data.version),
    )
