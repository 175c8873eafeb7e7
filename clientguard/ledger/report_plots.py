"""The report's figures, drawn with matplotlib's object API (no pyplot global state, no display)."""

from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.figure import Figure

from clientguard.ledger.report import VERDICT_ORDER, ReportData

VERDICT_COLORS = {"allow": "#2e7d32", "route_local": "#1565c0", "block": "#c62828"}
OTHER_COLOR = "#8d6e63"
KIND_COLORS = {"secret": "#c62828", "pii": "#ef6c00", "identifier": "#6a1b9a"}


def egress_figure(data: ReportData) -> Figure | None:
    """Requests per day (or hour) stacked by verdict, and bytes sent, over the report's period."""
    if not data.series:
        return None
    labels = [s[0] for s in data.series]
    x = list(range(len(labels)))
    fig = Figure(figsize=(8, 4.2), dpi=100, layout="constrained")
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    verdicts = sorted({v for _, counts, _ in data.series for v in counts},
                      key=lambda v: (VERDICT_ORDER.index(v) if v in VERDICT_ORDER else 9, v))
    bottom = [0] * len(x)
    for verdict in verdicts:
        values = [counts.get(verdict, 0) for _, counts, _ in data.series]
        ax.bar(x, values, bottom=bottom, label=verdict, color=VERDICT_COLORS.get(verdict, OTHER_COLOR), width=0.8)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("requests")
    ax.set_title(f"Requests per {data.bucket}, by verdict", loc="left")
    # Legend above the bars, right of the title, so it never covers a bar.
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, ncols=len(verdicts))
    ax.yaxis.get_major_locator().set_params(integer=True)
    # A period of one or two buckets would otherwise draw one bar across the whole width.
    ax.set_xlim(-0.6, max(len(x), 6) - 0.4)
    kb = [s[2] / 1024 for s in data.series]
    ax2.plot(x, kb, marker="o", markersize=3, color="#37474f")
    ax2.fill_between(x, kb, color="#90a4ae", alpha=0.4)
    ax2.set_ylabel("KiB sent")
    step = max(1, len(labels) // 10)
    ax2.set_xticks(x[::step], [lab[5:] if data.bucket == "day" else lab[5:] for lab in labels[::step]],
                   rotation=30, ha="right", fontsize=8)
    for a in (ax, ax2):
        a.spines[["top", "right"]].set_visible(False)
    return fig


def redactions_figure(data: ReportData) -> Figure | None:
    """How many values were pseudonymized, by kind (secret, pii, identifier)."""
    if not data.redactions_by_kind:
        return None
    kinds = list(data.redactions_by_kind)[::-1]
    counts = [data.redactions_by_kind[k] for k in kinds]
    fig = Figure(figsize=(8, 0.6 + 0.5 * len(kinds)), dpi=100, layout="constrained")
    ax = fig.subplots()
    bars = ax.barh(kinds, counts, color=[KIND_COLORS.get(k, OTHER_COLOR) for k in kinds])
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_xlabel("values replaced by placeholders")
    ax.set_title("Redactions by kind", loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(x=0.1)
    return fig


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an inline <svg> element; ids are salted by `name` so two figures never collide."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE for inline use
    return re.sub(r"<svg ", f'<svg role="img" aria-labelledby="{name}-title" data-figure="{name}" ', text, count=1)


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (for the PDF)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
