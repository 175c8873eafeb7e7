"""The HTML report, opened in headless Chromium: it renders, logs no errors, fetches nothing, shows its figures."""

from __future__ import annotations


import pytest

from _report_support import DevTools, fill_client_ledger, write_policy
from clientguard.ledger.report import build_report, write_report
from clientguard.policy import load_policy


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("report_html")
    fill_client_ledger(tmp / "acme.sqlite").close()
    policy = load_policy(write_policy(tmp / "repo"))
    html = write_report(build_report(tmp / "acme.sqlite", policy=policy), "html", tmp / "report.html")
    browser = DevTools(tmp / "chromium-profile")
    try:
        browser.load(html.as_uri())
        facts = browser.evaluate("""(() => {
            const figs = [...document.querySelectorAll('figure svg')].map(s => {
                const r = s.getBoundingClientRect();
                return {name: s.dataset.figure, w: r.width, h: r.height, paths: s.querySelectorAll('path').length};
            });
            return {
                title: document.title,
                sections: [...document.querySelectorAll('section')].map(s => s.id),
                figures: figs,
                chain: document.getElementById('chain-status').textContent,
                bodyHeight: document.body.scrollHeight,
                scripts: document.scripts.length,
                text: document.body.innerText,
            };
        })()""")
        browser.screenshot(tmp / "report.png")
        yield browser, facts, tmp
    finally:
        browser.close()


def test_report_renders_with_its_title_and_sections(rendered) -> None:
    _, facts, _ = rendered
    assert facts["title"] == "AI egress report: Acme Health GmbH"
    assert facts["sections"] == [
        "summary", "integrity", "providers", "terms", "egress", "redactions", "blocked", "protected", "policy",
    ]
    assert facts["bodyHeight"] > 1500


def test_report_logs_no_console_errors(rendered) -> None:
    browser, _, _ = rendered
    assert browser.console_errors() == []


def test_report_is_self_contained(rendered) -> None:
    browser, facts, _ = rendered
    assert [u for u in browser.requested_urls() if not u.startswith(("file:", "data:"))] == []
    assert facts["scripts"] == 0


def test_both_figures_are_drawn_with_a_visible_size(rendered) -> None:
    _, facts, _ = rendered
    by_name = {f["name"]: f for f in facts["figures"]}
    assert set(by_name) == {"egress", "redactions"}
    for fig in by_name.values():
        assert fig["w"] > 400 and fig["h"] > 100
        assert fig["paths"] > 10  # bars, axes and glyphs are drawn as paths


def test_chain_status_is_shown_as_intact(rendered) -> None:
    _, facts, _ = rendered
    assert facts["chain"].startswith("Chain intact: 24 entries verified")


def test_blocked_requests_and_protected_paths_are_reported(rendered) -> None:
    _, facts, _ = rendered
    text = facts["text"]
    assert "nda: training on by default" in text
    assert "secrets/**\tnever sent (held back by blocks in entries 6, 12, 18, 24)" in text


def test_screenshot_is_a_nonblank_png(rendered) -> None:
    _, _, tmp = rendered
    png = (tmp / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def test_the_browser_check_does_catch_errors_and_fetches(rendered) -> None:
    # Guards the checks above against passing vacuously.
    browser, _, tmp = rendered
    bad = tmp / "bad.html"
    bad.write_text('<script>console.error("boom")</script><img src="http://127.0.0.1:9/x.png">', encoding="utf-8")
    browser.load(bad.as_uri())
    assert any("boom" in e for e in browser.console_errors())
    assert "http://127.0.0.1:9/x.png" in browser.requested_urls()
