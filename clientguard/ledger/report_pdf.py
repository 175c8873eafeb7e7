"""The client report as PDF (fpdf2), one part per page so a reader can find each part by its page."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from clientguard.ledger.report import ReportData
from clientguard.ledger.report_plots import egress_figure, redactions_figure, to_png

# DejaVu ships with matplotlib: a Unicode font without depending on the system's fonts.
_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"

# The pages, in order; the PDF outline (bookmarks) carries these titles.
PAGES = (
    "Summary and ledger integrity",
    "Providers, plans and terms",
    "Egress over time and redactions",
    "Blocked requests and protected paths",
    "Policy in force",
)


class _ReportPDF(FPDF):
    def __init__(self, data: ReportData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.add_font("DejaVu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("DejaVuMono", "", str(_FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_auto_page_break(auto=True, margin=16)
        self.set_title(f"AI egress report: {data.client}")
        self.set_author("clientguard")
        self.set_creator(f"clientguard {data.version}")
        self.set_creation_date(data.generated_at)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(110)
        self.cell(0, 6, f"{self.data.client} · clientguard egress report · page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def _h1(pdf: _ReportPDF, text: str) -> None:
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _h2(pdf: _ReportPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9.5)


def _text(pdf: _ReportPDF, text: str, *, size: float = 9.5, mono: bool = False, color: tuple[int, int, int] | None = None) -> None:
    pdf.set_font("DejaVuMono" if mono else "DejaVu", "", size)
    if color:
        pdf.set_text_color(*color)
    pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)


def _table(pdf: _ReportPDF, headers: list[str], rows: list[list[object]], widths: tuple[float, ...] | None = None) -> None:
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(
        col_widths=widths, headings_style=FontFace(emphasis="BOLD", fill_color=(236, 239, 241)),
        line_height=4.6, text_align="LEFT", first_row_as_headings=True,
    ) as table:
        row = table.row()
        for h in headers:
            row.cell(h)
        for values in rows:
            row = table.row()
            for v in values:
                row.cell(str(v))
    pdf.ln(2)


def _page(pdf: _ReportPDF, title: str) -> None:
    pdf.add_page()
    pdf.start_section(title)
    _h1(pdf, title)


def render_pdf(data: ReportData) -> bytes:
    """The whole report as PDF bytes: five parts, each starting on its own page."""
    pdf = _ReportPDF(data)
    v = data.verify

    _page(pdf, PAGES[0])
    _text(pdf, f"AI egress report for {data.client}", size=12)
    _text(pdf, f"Period {data.period_text} (UTC). Generated {data.generated_at:%Y-%m-%d %H:%M} UTC by clientguard {data.version}.")
    _h2(pdf, "Summary")
    _table(pdf, ["measure", "value"], [
        ["requests through the gateway", data.total],
        *[[f"verdict: {k}", n] for k, n in data.by_verdict.items()],
        ["bytes sent to providers", data.bytes_total],
        ["values redacted before sending", data.redactions_total],
    ], (70, 40))
    _h2(pdf, "Ledger integrity")
    if v.ok:
        auth = "entry MACs checked with the ledger key" if v.authenticated else "unkeyed chain only (key not available)"
        _text(pdf, f"Chain intact: {v.count} entries verified ({auth}).", color=(46, 125, 50))
    else:
        assert v.problem is not None
        _text(pdf, f"Chain broken at entry {v.problem.seq} ({v.problem.kind}): {v.problem.message}", color=(198, 40, 40))
    _text(pdf, f"Ledger {data.ledger_id}. Anchor (head when this report was made):")
    _text(pdf, f"{v.head_seq}:{v.head_hash}", mono=True, size=8)
    _text(pdf, "`clientguard ledger verify --anchor <anchor>` later shows whether any entry up to it was rewritten.")

    _page(pdf, PAGES[1])
    _h2(pdf, "Who processed the code")
    if data.usage:
        _table(pdf, ["provider", "account", "plan", "mode", "requests", "blocked", "bytes"],
               [[u.provider, u.account, u.plan, u.mode, u.requests, u.blocked, u.bytes_sent] for u in data.usage])
    else:
        _text(pdf, "No requests in this period.")
    _h2(pdf, "Under which terms")
    if not data.terms:
        _text(pdf, "No request was forwarded to a provider in this period.")
    for t in data.terms:
        _text(pdf, f"{t.provider_name} — {t.plan_name} ({t.tier})", size=10.5)
        if not t.known:
            _text(pdf, "Not in clientguard's catalog: its terms are unknown.")
            continue
        _table(pdf, ["fact", "value", "source", "retrieved"],
               [[f.title, f.value, f"{f.source_title} — {f.url}", f"{f.retrieved} ({f.age_days} d{', stale' if f.stale else ''})"] for f in t.facts],
               (48, 30, 80, 32))

    _page(pdf, PAGES[2])
    fig = egress_figure(data)
    if fig is None:
        _text(pdf, "No requests in this period.")
    else:
        pdf.image(io.BytesIO(to_png(fig)), w=pdf.epw)
    _h2(pdf, "Redactions (counts only; values are never recorded)")
    rfig = redactions_figure(data)
    if rfig is None:
        _text(pdf, "Nothing was redacted in this period.")
    else:
        pdf.image(io.BytesIO(to_png(rfig)), w=pdf.epw)
        _table(pdf, ["kind", "rule", "count", "distinct values"], [list(r) for r in data.redactions_by_rule])

    _page(pdf, PAGES[3])
    _h2(pdf, "Blocked requests")
    if data.blocked:
        _table(pdf, ["#", "time (UTC)", "agent", "provider", "account", "held", "why"],
               [[b.seq, b.ts[:16].replace("T", " "), b.agent, b.provider, b.account, b.found, "; ".join(b.reasons)] for b in data.blocked],
               (10, 28, 28, 20, 20, 12, 72))
    else:
        _text(pdf, "No request was blocked in this period.")
    _h2(pdf, "Protected paths")
    if data.protected:
        _table(pdf, ["protected path", "status"],
               [[p.glob, "never sent" if not p.sent_in else f"SENT in entries {', '.join(map(str, p.sent_in))}"] for p in data.protected])
    else:
        _text(pdf, "The policy names no protected paths.")
    _text(pdf, f"Files whose content was sent to a provider: {len(data.files_sent)}.")

    _page(pdf, PAGES[4])
    pol = data.policy
    if pol is None:
        _text(pdf, "No policy file was given; this report comes from the ledger alone.")
    else:
        _text(pdf, f"{pol.path}")
        _text(pdf, f"sha256 {pol.sha256}", mono=True, size=8)
        _text(pdf, f"{pol.identifiers} client identifiers pseudonymized; prompts {'kept (redacted)' if pol.keep_prompts else 'not kept'}; "
                   f"gateway account: {pol.gateway_account or '(command line)'}.")
        _table(pdf, ["clause", "value"], [list(c) for c in pol.clauses], (70, 120))
        _h2(pdf, "Decisions for each account")
        _table(pdf, ["account", "provider", "plan", "mode", "decision", "why"],
               [[a.account, a.provider, a.plan, a.mode, a.action, "; ".join(a.reasons)] for a in pol.accounts],
               (22, 22, 20, 14, 22, 90))
    for n in data.notes:
        _text(pdf, f"note: {n}", size=8)
    return bytes(pdf.output())
