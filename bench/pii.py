"""Personal data in many locales: recall on generated PII and flags on look-alikes, against a peer, in one run.

Positives are made by Faker (seeded, so every run makes the same ones): phone numbers in each locale's
own formats, e-mail addresses, payment card numbers, IBANs, US SSNs, public IPv4 and IPv6 addresses,
each set into a sentence or a record the way they turn up in a client's code and data (a fixture, a
JSON record, a log line, a prose sentence in English or German), and some bare. Negatives are the
numbers code is full of and that look like them: versions, dates and times, section numbers, hex
dumps, UUIDs, commit ids, prices, ports, timestamps, order and invoice numbers.

A positive counts as found when a tool reports personal data covering the value (two characters of
slack at either end, for the brackets and pluses some tools leave out). A negative counts as flagged
when a tool reports anything in it.

The peer for phone numbers is the ``phonenumbers`` library's own matcher over the regions Microsoft
Presidio's phone recognizer searches by default (US, UK, DE, FE, IL, IN, CA, BR), which is what that
recognizer runs; it finds phone numbers only, so its other cells are empty.

    .venv/bin/python bench/pii.py [--per-locale 40] [--seed 7] [--misses 0] [--format table|json]

Needs Faker (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clientguard.detect import Detector  # noqa: E402

#: Faker locales whose phone formats are measured (Faker's own spelling).
LOCALES = (
    "en_US", "en_CA", "en_GB", "en_IE", "en_AU", "en_NZ", "en_IN", "de_DE", "de_AT", "de_CH", "fr_FR",
    "fr_CH", "fr_BE", "it_IT", "es_ES", "es_MX", "pt_PT", "pt_BR", "nl_NL", "da_DK", "sv_SE", "no_NO",
    "fi_FI", "pl_PL", "cs_CZ", "hu_HU", "ro_RO", "el_GR", "tr_TR", "ru_RU", "uk_UA", "he_IL", "ja_JP",
    "ko_KR", "zh_CN",
)
#: Regions Presidio's PhoneRecognizer passes to phonenumbers by default.
PRESIDIO_PHONE_REGIONS = ("US", "UK", "DE", "FE", "IL", "IN", "CA", "BR")

#: Where a value stands: prose, records, logs, fixtures, bare.
TEMPLATES = (
    "Please call {v} tomorrow.",
    "phone: {v}",
    "Kontakt: {v}",
    '{{"name": "Kim", "phone": "{v}"}}',
    "Tel. {v}",
    "mobile={v}",
    "You can reach me on {v} or by mail.",
    "{v}",
    "Rufen Sie mich unter {v} an.",
    "customer,{v},active",
)
OTHER_TEMPLATES = ("value: {v} end", '{{"contact": "{v}"}}', "sent to {v} yesterday", "{v}")


@dataclass(frozen=True)
class Sample:
    kind: str    # phone, email, card, iban, ssn, ipv4, ipv6; "none" for a negative
    group: str   # the locale for phone numbers, else "*"; the negative's shape for negatives
    value: str
    text: str


def positives(per_locale: int, seed: int) -> Iterator[Sample]:
    from faker import Faker

    for n, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + n)
        for i in range(per_locale):
            v = fake.phone_number()
            yield Sample("phone", locale, v, TEMPLATES[i % len(TEMPLATES)].format(v=v))
        makers: dict[str, Callable[[], str]] = {
            "email": fake.email, "card": fake.credit_card_number, "iban": fake.iban,
            "ipv4": fake.ipv4_public, "ipv6": fake.ipv6,
        }
        for i in range(max(1, per_locale // 4)):
            for kind, make in makers.items():
                v = make()
                yield Sample(kind, "*", v, OTHER_TEMPLATES[i % len(OTHER_TEMPLATES)].format(v=v))
    fake = Faker("en_US")
    fake.seed_instance(seed)
    for i in range(per_locale * 2):
        v = fake.ssn()
        yield Sample("ssn", "*", v, ("SSN {v}", "ssn: {v}", '{{"ssn": "{v}"}}', "social security number {v}")[i % 4].format(v=v))


def negatives(count: int, seed: int) -> Iterator[Sample]:
    """Numbers that are not personal data, in the shapes code and docs hold them."""
    rng = random.Random(seed)
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    h = lambda n: "".join(rng.choice("0123456789abcdef") for _ in range(n))  # noqa: E731
    shapes: dict[str, Callable[[], str]] = {
        "version": lambda: f"version {rng.randint(0, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 200)}",
        "dotted-version": lambda: rng.choice(("Guile {}-{}", "version {}", "ttfautohint v{}", "pkg=={}")).format(
            f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}.{rng.randint(10, 300)}", h(5)),
        "section": lambda: f"see Section {rng.randint(1, 20)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}",
        "date": lambda: f"released {rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "datetime": lambda: f"at {rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        "epoch-ms": lambda: f"timestamp {rng.randint(1_500_000_000_000, 1_900_000_000_000)}",
        "hex-dump": lambda: "# " + " ".join(h(2) for _ in range(8)),
        "byte-pairs": lambda: "(" + " ".join(d(2) for _ in range(8)) + ")",
        "uuid": lambda: f"id {h(8)}-{h(4)}-{h(4)}-{h(4)}-{h(12)}",
        "commit": lambda: f"commit {h(40)}",
        "price": lambda: f"total {rng.randint(1, 99999)}.{d(2)} EUR",
        "port": lambda: f"listen 127.0.0.1:{rng.randint(1024, 65535)}",
        "order": lambda: f"order #{d(8)}",
        "invoice": lambda: f"invoice INV-{d(4)}-{d(6)}",
        "float-array": lambda: "[" + ", ".join(f"{rng.random():.4f}" for _ in range(4)) + "]",
        "range": lambda: f"range {d(3)}-{d(5)}",
        "isbn": lambda: f"ISBN 978-{d(1)}-{d(3)}-{d(5)}-{d(1)}",
        "coordinates": lambda: f"lat {rng.uniform(-90, 90):.6f}, lon {rng.uniform(-180, 180):.6f}",
    }
    names = sorted(shapes)
    for i in range(count):
        name = names[i % len(names)]
        text = shapes[name]()
        yield Sample("none", name, text, text)


def _covers(start: int, end: int, s: Sample) -> bool:
    at = s.text.index(s.value)
    return start <= at + 2 and end >= at + len(s.value) - 2


def clientguard_results(samples: list[Sample]) -> list[bool]:
    """Per sample: found (positives) or flagged (negatives)."""
    det = Detector.create(fingerprint_key=b"bench" * 8)
    out = []
    for s, findings in zip(samples, det.scan_many([s.text for s in samples])):
        if s.kind == "none":
            out.append(bool(findings))
        else:
            out.append(any(f.kind == "pii" and _covers(f.start, f.end, s) for f in findings))
    return out


def phonenumbers_results(samples: list[Sample]) -> list[bool | None]:
    """The peer on phone numbers and negatives (None: not a phone sample, the peer has no say)."""
    import phonenumbers

    out: list[bool | None] = []
    for s in samples:
        if s.kind not in ("phone", "none"):
            out.append(None)
            continue
        spans = [(m.start, m.end) for region in PRESIDIO_PHONE_REGIONS
                 for m in phonenumbers.PhoneNumberMatcher(s.text, region, leniency=phonenumbers.Leniency.VALID)]
        out.append(bool(spans) if s.kind == "none" else any(_covers(a, b, s) for a, b in spans))
    return out


def summarize(samples: list[Sample], results: list[bool | None]) -> dict[str, dict[str, float | int]]:
    """Per kind: hits / total; negatives as flagged / total."""
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for s, r in zip(samples, results):
        if r is None:
            continue
        total[s.kind] += 1
        hit[s.kind] += bool(r)
    return {k: {"hits": hit[k], "total": total[k], "rate": hit[k] / total[k]} for k in sorted(total)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-locale", type=int, default=40, help="phone numbers per locale (default 40)")
    ap.add_argument("--negatives", type=int, default=1800, help="look-alike numbers (default 1800)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--misses", type=int, default=0, help="also list this many phone numbers clientguard missed")
    ap.add_argument("--format", choices=["table", "json"], default="table")
    args = ap.parse_args(argv)
    try:
        samples = list(positives(args.per_locale, args.seed)) + list(negatives(args.negatives, args.seed))
    except ImportError:
        print("bench/pii.py needs Faker: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    ours = clientguard_results(samples)
    peer = phonenumbers_results(samples)
    report = {"clientguard": summarize(samples, ours), "phonenumbers": summarize(samples, peer),
              "samples": len(samples), "locales": len(LOCALES), "seed": args.seed}
    phone_locales: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s, r in zip(samples, ours):
        if s.kind == "phone":
            phone_locales[s.group][0] += r
            phone_locales[s.group][1] += 1
    report["phone_by_locale"] = {k: v[0] / v[1] for k, v in sorted(phone_locales.items())}
    flagged_shapes = sorted({s.group for s, r in zip(samples, ours) if s.kind == "none" and r})
    report["negative_shapes_flagged"] = flagged_shapes
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    console = Console()
    table = Table(title=f"personal data: {report['samples']} samples, phone numbers in {len(LOCALES)} locales "
                        f"(Faker, seed {args.seed})")
    for col in ("kind", "samples", "clientguard", "phonenumbers matcher (Presidio's regions)"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, row in report["clientguard"].items():
        other = report["phonenumbers"].get(kind)
        what = "flagged" if kind == "none" else "recall"
        label = "look-alikes (flagged, lower is better)" if kind == "none" else kind
        table.add_row(label, str(row["total"]), f"{what} {row['rate']:.3f}",
                      f"{what} {other['rate']:.3f}" if other else "")
    console.print(table)
    worst = sorted(report["phone_by_locale"].items(), key=lambda kv: kv[1])[:8]
    console.print("  phone recall, lowest locales: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
    if flagged_shapes:
        console.print("  look-alike shapes clientguard flagged: " + ", ".join(flagged_shapes))
    if args.misses:
        shown = 0
        for s, r in zip(samples, ours):
            if s.kind == "phone" and not r and shown < args.misses:
                console.print(f"  missed [{s.group}] {s.text}", markup=False)
                shown += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
