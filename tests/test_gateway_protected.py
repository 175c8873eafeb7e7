"""The protected-content index: which request texts carry lines of protected files, however they are quoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientguard.gateway.protected import ProtectedIndex


@pytest.fixture
def index(tmp_path: Path) -> ProtectedIndex:
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "rates.py").write_text(
        "def negotiated_rate(customer_tier):\n"
        "    return BASE_RATE * discount_table[customer_tier]\n"
        "}\n"  # too short to mean anything: never matched
    )
    (tmp_path / "notes.md").write_text("The merger with Globex closes in the third quarter.\n")
    return ProtectedIndex.build(tmp_path, ["billing", "notes.md"])


def test_a_protected_line_inside_a_larger_text_names_its_file(index: ProtectedIndex) -> None:
    text = "Please refactor:\n\n    return BASE_RATE * discount_table[customer_tier]\nthanks"
    assert index.files_in([text]) == ["billing/rates.py"]


def test_lines_quoted_with_line_numbers_by_a_file_read_tool_are_recognized(index: ProtectedIndex) -> None:
    claude_read = "     1→def negotiated_rate(customer_tier):\n     2→    return 1\n"
    codex_cat = "12\tThe merger with Globex closes in the third quarter.\n"
    grep_style = "34: def negotiated_rate(customer_tier):"
    assert index.files_in([claude_read]) == ["billing/rates.py"]
    assert index.files_in([codex_cat]) == ["notes.md"]
    assert index.files_in([grep_style]) == ["billing/rates.py"]


def test_lines_split_by_carriage_returns_or_unicode_separators_are_recognized(index: ProtectedIndex) -> None:
    assert index.files_in(["x\r\ndef negotiated_rate(customer_tier):\r\n"]) == ["billing/rates.py"]
    assert index.files_in(["x\rdef negotiated_rate(customer_tier):"]) == ["billing/rates.py"]
    assert index.files_in(["a\u2028The merger with Globex closes in the third quarter.\u2029b"]) == ["notes.md"]


def test_short_lines_partial_lines_and_other_text_do_not_match(index: ProtectedIndex) -> None:
    assert index.files_in(["}\n}\n"]) == []
    assert index.files_in(["def negotiated_rate(customer_tier, extra):"]) == []
    assert index.files_in(["The merger with Globex closes"]) == []


def test_a_text_checked_before_gives_the_same_answer_from_memory(index: ProtectedIndex) -> None:
    text = "context line that is long enough\n" * 20 + "def negotiated_rate(customer_tier):\n"
    assert index.files_in([text]) == ["billing/rates.py"]
    assert index._memo.hits == 0
    assert index.files_in([text, "unrelated"]) == ["billing/rates.py"]
    assert index._memo.hits == 1


def test_no_protected_paths_means_nothing_is_ever_protected(tmp_path: Path) -> None:
    empty = ProtectedIndex.build(tmp_path, [])
    assert empty.files_in(["def negotiated_rate(customer_tier):"]) == []
