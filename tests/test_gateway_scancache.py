"""The scan cache: segments an agent resends (system prompt, history) are scanned once, with the same findings."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from _gateway_support import FAKE_OPENAI_KEY, Canaries, running_stack
from clientguard.detect import Detector
from clientguard.gateway.scancache import ScanCache

KEY = b"k" * 32


def _text(c: Canaries, filler: int = 40) -> str:
    return ("def handler(event):\n    return process(event)\n" * filler) + c.sentence()


class CountingDetector(Detector):
    """The real detector, counting the texts it is asked to scan."""

    scanned: list[str]

    def scan_many(self, texts, *, utf8=None):  # type: ignore[override]
        self.scanned.extend(texts)
        return super().scan_many(texts, utf8=utf8)


def _counting() -> CountingDetector:
    det = CountingDetector.create(["Acme Health"], fingerprint_key=KEY)
    assert isinstance(det, CountingDetector)
    det.scanned = []
    return det


def test_a_resent_segment_gives_the_same_findings_without_a_second_scan() -> None:
    det = _counting()
    cache = ScanCache(det)
    c = Canaries.generate()
    texts = [_text(c), "short one " + c.email]
    first = cache.scan_many(texts)
    assert first == Detector.create(["Acme Health"], fingerprint_key=KEY).scan_many(texts)
    assert {f.kind for f in first[0]} >= {"secret", "pii", "identifier"}
    det.scanned.clear()
    again = cache.scan_many(texts)
    assert again == first
    # The long segment came from the cache; the short one is always scanned (not worth remembering).
    assert det.scanned == [texts[1]]
    assert cache.hits == 1 and cache.misses == 1


def test_a_changed_segment_is_scanned_again() -> None:
    det = _counting()
    cache = ScanCache(det)
    c, d = Canaries.generate(), Canaries.generate()
    cache.scan_many([_text(c)])
    det.scanned.clear()
    changed = cache.scan_many([_text(d)])
    assert det.scanned == [_text(d)]
    assert any(_text(d)[f.start:f.end] == d.aws_key_id for f in changed[0])


def test_the_cache_forgets_the_least_recently_used_segment_beyond_its_size() -> None:
    det = _counting()
    texts = [_text(Canaries.generate()) for _ in range(3)]
    cache = ScanCache(det, max_chars=len(texts[0]) * 2 + 10)
    cache.scan_many([texts[0]])
    cache.scan_many([texts[1]])
    cache.scan_many([texts[0]])  # used again: now the most recent
    cache.scan_many([texts[2]])  # over the bound: texts[1] goes
    assert len(cache) == 2
    det.scanned.clear()
    cache.scan_many([texts[0], texts[2]])
    assert det.scanned == []
    cache.scan_many([texts[1]])
    assert det.scanned == [texts[1]]


def test_gateway_redacts_a_replayed_conversation_the_same_way_and_counts_cache_hits(tmp_path: Path) -> None:
    c = Canaries.generate()
    history = [{"role": "system", "content": _text(c)}, {"role": "user", "content": "first turn " + c.email}]
    with running_stack(tmp_path) as stack:
        sent = []
        for turn in range(3):
            body = {"model": "gpt-4.1", "messages": history + [{"role": "user", "content": f"turn {turn}"}]}
            response = httpx.post(stack.url + "/v1/chat/completions", json=body, timeout=30,
                                  headers={"authorization": f"Bearer {FAKE_OPENAI_KEY}"})
            assert response.status_code == 200
            sent.append(json.loads(stack.upstream.requests[-1].text)["messages"][0]["content"])
        stats = httpx.get(stack.url + "/_clientguard/stats", timeout=5).json()
        assert stack.leaked(c) == []
    assert sent[0] == sent[1] == sent[2]  # same placeholders every turn: provider prompt caches keep hitting
    assert stats["scan_cache"]["hits"] >= 2
