"""Rebuild clientguard/detect/letter_pairs.json: how often one letter follows another in words of seven
languages, as log-probabilities. The secret validators use it to tell a value drawn at random (vpmlrq) from a
word or a made-up but pronounceable one (sunshine, tigger).

Needs wordfreq (``pip install wordfreq``; not a dependency of clientguard): its lists of the most frequent
words, accents stripped, each word counted once.

    python scripts/letter_pairs.py
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import date
from importlib import metadata
from pathlib import Path

LANGUAGES = {"en": 30000, "de": 15000, "fr": 15000, "es": 15000, "it": 15000, "pt": 15000, "nl": 15000}
OUT = Path(__file__).resolve().parents[1] / "clientguard" / "detect" / "letter_pairs.json"


def main() -> None:
    import wordfreq  # noqa: PLC0415 - only this script needs it

    words: set[str] = set()
    for lang, n in LANGUAGES.items():
        for w in wordfreq.top_n_list(lang, n):
            plain = unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode().lower()
            if re.fullmatch(r"[a-z]{2,}", plain):
                words.add(plain)
    # rows: the word's start (^) and a..z; columns: a..z and the word's end ($); add-one smoothing
    counts = [[1] * 27 for _ in range(27)]
    for w in words:
        prev = 0
        for ch in w:
            counts[prev][ord(ch) - 97] += 1
            prev = ord(ch) - 96
        counts[prev][26] += 1
    logp = [[round(math.log(c / sum(row)), 2) for c in row] for row in counts]
    OUT.write_text(json.dumps({
        "about": "log P(next letter | letter) in words; rows: word start (^) then a-z, columns: a-z then word end ($)",
        "source": f"wordfreq {metadata.version('wordfreq')} top_n_list: " + ", ".join(f"{k} {v}" for k, v in LANGUAGES.items())
                  + f"; {len(words)} distinct words, accents stripped, each counted once",
        "retrieved": date.today().isoformat(),
        "rows": "^abcdefghijklmnopqrstuvwxyz",
        "columns": "abcdefghijklmnopqrstuvwxyz$",
        "logp": logp,
    }, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(words)} words")


if __name__ == "__main__":
    main()
