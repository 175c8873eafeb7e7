"""The PDF report: five parts on five pages, with its outline, figures and the numbers, read back with pypdf."""

from __future__ import annotations


import pytest
from pypdf import PdfReader

from _report_support import fill_client_ledger, write_policy
from clientguard.ledger.report import build_report, write_report
from clientguard.ledger.report_pdf import PAGES
from clientguard.policy import load_policy


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> PdfReader:
    tmp = tmp_path_factory.mktemp("report_pdf")
    fill_client_ledger(tmp / "acme.sqlite").close()
    policy = load_policy(write_policy(tmp / "repo"))
    path = write_report(build_report(tmp / "acme.sqlite", policy=policy), "pdf", tmp / "report.pdf")
    return PdfReader(path)


def test_pdf_has_one_page_per_part(pdf: PdfReader) -> None:
    assert len(pdf.pages) == len(PAGES) == 5


def test_each_page_starts_with_its_part_title(pdf: PdfReader) -> None:
    for page, title in zip(pdf.pages, PAGES):
        assert page.extract_text().lstrip().startswith(title)


def test_outline_names_each_part_with_its_page(pdf: PdfReader) -> None:
    outline = [(item.title, pdf.get_destination_page_number(item)) for item in pdf.outline]
    assert outline == [(title, i) for i, title in enumerate(PAGES)]


def test_figures_are_embedded_on_the_egress_page(pdf: PdfReader) -> None:
    assert len(pdf.pages[2].images) == 2
    assert all(len(p.images) == 0 for i, p in enumerate(pdf.pages) if i != 2)


def test_summary_page_states_counts_and_chain(pdf: PdfReader) -> None:
    text = pdf.pages[0].extract_text()
    assert "requests through the gateway 24" in text
    assert "verdict: block 4" in text
    assert "Chain intact: 24 entries verified" in text


def test_terms_page_cites_catalog_sources(pdf: PdfReader) -> None:
    text = pdf.pages[1].extract_text()
    assert "ChatGPT Team / Business" in text
    assert "https://openai.com/enterprise-privacy/" in text


def test_metadata_names_the_client(pdf: PdfReader) -> None:
    assert pdf.metadata.title == "AI egress report: Acme Health GmbH"
