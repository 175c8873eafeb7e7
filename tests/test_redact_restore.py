"""Streaming restore: any split, any placement, JSON-escaped or not, the client gets the originals."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientguard.redact import MAX_PLACEHOLDER_LEN, StreamRestorer, Vault


LABELS = st.sampled_from(["EMAIL", "AWS_ACCESS_KEY_ID", "CLIENT", "IP", "X1_2"])
# Values include quotes, backslashes, newlines, non-ASCII, and text that itself looks like "CG_".
VALUES = st.text(
    alphabet=st.sampled_from(list("abcXYZ019_-@.\"\\\n\tüé€ CG")), min_size=1, max_size=24
)
FILLER = st.text(alphabet=st.sampled_from(list("abC G_xyz CGCG_ \"\\{}:,\n7")), max_size=12)


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    return Vault.open("Property Client", tmp_path_factory.mktemp("vault"))


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(text[last:p])
        last = p
    pieces.append(text[last:])
    return pieces


def _stream(restorer: StreamRestorer, pieces: list[str]) -> str:
    return "".join(restorer.feed(p) for p in pieces) + restorer.flush()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.tuples(FILLER, LABELS, VALUES), min_size=1, max_size=6), tail=FILLER,
       cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_any_split_of_plain_text_restores_every_placeholder(vault: Vault, data, tail, cuts) -> None:
    sent = "".join(f + vault.placeholder(lbl, val) for f, lbl, val in data) + tail
    expected = "".join(f + val for f, _lbl, val in data) + tail
    assert _stream(StreamRestorer(vault), _split(sent, cuts)) == expected


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.tuples(LABELS, VALUES), min_size=1, max_size=5),
       cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_any_split_of_tool_arguments_gives_valid_json_with_the_originals(vault: Vault, data, cuts) -> None:
    args = {f"k{i}": f"pre {vault.placeholder(lbl, val)} post" for i, (lbl, val) in enumerate(data)}
    sent = json.dumps(args)
    restored = _stream(StreamRestorer(vault, json_escape=True), _split(sent, cuts))
    assert json.loads(restored) == {f"k{i}": f"pre {val} post" for i, (_lbl, val) in enumerate(data)}


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200), cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_text_without_known_placeholders_passes_through_unchanged(vault: Vault, text, cuts) -> None:
    assert _stream(StreamRestorer(vault), _split(text, cuts)) == text


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=FILLER, label=LABELS, value=VALUES)
def test_client_never_sees_a_known_placeholder_one_character_at_a_time(vault: Vault, prefix, label, value) -> None:
    token = vault.placeholder(label, value)
    restorer = StreamRestorer(vault)
    emitted = [restorer.feed(ch) for ch in prefix + token + "."] + [restorer.flush()]
    assert token not in "".join(emitted)
    assert "".join(emitted) == prefix + value + "."


def test_holdback_never_exceeds_one_placeholder(vault: Vault) -> None:
    restorer = StreamRestorer(vault)
    restorer.feed("x" * 100 + "CG_" + "A" * 60)
    assert len(restorer.pending) < MAX_PLACEHOLDER_LEN


def test_text_that_cannot_start_a_placeholder_is_emitted_at_once(vault: Vault) -> None:
    restorer = StreamRestorer(vault)
    assert restorer.feed("Hello, world") == "Hello, world"
    assert restorer.pending == ""


def test_possible_placeholder_prefix_is_held_until_decided(vault: Vault) -> None:
    restorer = StreamRestorer(vault)
    assert restorer.feed("key is CG_EMA") == "key is "
    assert restorer.feed("IL done") == "CG_EMAIL done"
