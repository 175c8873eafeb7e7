"""Whatever is in clientguard.toml, loading it either succeeds or raises PolicyError: never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientguard.policy import Policy, PolicyError, parse_policy
from clientguard.policy.load import key_lines

EXAMPLE = (Path(__file__).resolve().parents[1] / "examples" / "acme-client" / "clientguard.toml").read_text(
    encoding="utf-8"
)
FRAGMENTS = [
    "[client]\n", "[[accounts]]\n", "[contract]\n", "[contract.gdpr]\n", "[gateway]\n", "[accounts]\n",
    'name = "x"\n', 'provider = "openai"\n', 'plan = "plus"\n', "nda = true\n", "nda = 1\n",
    'identifiers = ["Acme", 3]\n', "identifiers = [\n", "]\n", '"""\n', "'''\n", "opt_out_confirmed = 2026-01-01\n",
    "opt_out_confirmed = 2026-01-01T10:00:00\n", "x.y.z = {a = [1, {b = 2}]}\n", "= 3\n", "[[client]]\n",
    'authorized_subprocessors = ["nobody"]\n', "# comment\n", "\x00\n", 'account = "none"\n', "a = 'b\n",
]


def _load(text: str) -> None:
    try:
        assert isinstance(parse_policy(text, Path("/fuzz/clientguard.toml")), Policy)
    except PolicyError as exc:
        assert exc.message and "Traceback" not in exc.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_any_arrangement_of_policy_fragments_loads_or_fails_clearly(parts: list[str]) -> None:
    _load("".join(parts))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(EXAMPLE) - 1), st.integers(0, len(EXAMPLE)), st.text(max_size=8))
def test_edited_demo_policy_loads_or_fails_clearly(start: int, length: int, insert: str) -> None:
    _load(EXAMPLE[:start] + insert + EXAMPLE[start + length:])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_key_index_never_fails_on_arbitrary_text(text: str) -> None:
    lines = key_lines(text)
    assert all(isinstance(n, int) and n >= 1 for n in lines.values())
