"""The gateway reads JSON with orjson where that gives what the standard library gives, and with the
standard library everywhere else: the documents, and the errors, are those of `json.loads`."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientguard.gateway.sse import JsonConstant, json_bytes, json_loads


def _reference(text: str | bytes):
    return json.loads(text, parse_constant=JsonConstant)


@pytest.mark.parametrize("text", [
    '{"seed": 123456789012345678901234567890}',           # beyond 64 bits: orjson would give a float
    '[1, 2, {"deep": [-9223372036854775809]}]',           # below the 64-bit minimum, nested
    '18446744073709551615',                               # the largest unsigned 64-bit integer
    '{"t": 1e400}',                                       # out of range: inf, as json reads it
    '"\\ud800 lone"',                                     # a lone surrogate escape
    '{"a": 1, "a": 2}',                                   # duplicate keys: the last wins
    '{"x": 1.0, "y": -0.0, "z": 1E5, "w": 0.1}',
    '{"a": [1]}'.encode("utf-16-le"),                    # UTF-16 bytes, which json detects
])
def test_documents_are_those_of_the_standard_library(text: str | bytes) -> None:
    got, want = json_loads(text), _reference(text)
    assert repr(got) == repr(want) and type(got) is type(want)


def test_nan_and_infinity_are_marked_so_they_are_written_back_as_they_came() -> None:
    doc = json_loads('{"temperature": NaN, "top_p": -Infinity}')
    assert isinstance(doc["temperature"], JsonConstant) and math.isnan(doc["temperature"])
    assert json_bytes(doc) == b'{"temperature":NaN,"top_p":-Infinity}'


@pytest.mark.parametrize("text", ['[1,]', '{"a" 1}', '', 'nul', '{"a": "\x01"}'])
def test_errors_are_worded_by_the_standard_library(text: str) -> None:
    with pytest.raises(ValueError) as ours:
        json_loads(text)
    with pytest.raises(ValueError) as theirs:
        _reference(text)
    assert str(ours.value) == str(theirs.value)


_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
_docs = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                     max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_any_document_reads_as_the_standard_library_reads_it(doc) -> None:
    text = json.dumps(doc)
    assert repr(json_loads(text)) == repr(_reference(text))
    assert repr(json_loads(text.encode())) == repr(_reference(text.encode()))
