"""Validators: checks a candidate value must pass before it becomes a finding.

Each takes the reported value and returns True when it is the real thing. Rules name them by key.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Callable

from clientguard.detect.programs import compile_pattern

Validator = Callable[[str], bool]
VALIDATORS: dict[str, Validator] = {}

#: What the validators call on their patterns.
_PATTERN_API = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split", "pattern", "flags")


#: Every validator pattern with its flags, whose compiled programs the rules cache keeps (see programs.py).
LAZY_SOURCES: list[tuple[str, int]] = []


class LazyPattern:
    """A regex the validators use, compiled the first time it is used: the validator modules define 110
    (~15 ms of a scan's start to compile) and a scan with few candidates needs few of them. After that
    first use its methods are the compiled pattern's own, bound in the instance's slots."""

    __slots__ = ("_source", *_PATTERN_API)

    def __init__(self, pattern: str, flags: int = 0):
        self._source = (pattern, int(flags))
        LAZY_SOURCES.append(self._source)

    def __getattr__(self, name: str):  # only while a slot is unset, that is before the first use
        if name not in _PATTERN_API:
            raise AttributeError(name)
        compiled = compile_pattern(*self._source)
        for attr in _PATTERN_API:
            object.__setattr__(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)


def lazy_re(pattern: str, flags: int = 0) -> "re.Pattern[str]":
    """`re.compile`, deferred to the first use (see LazyPattern)."""
    return LazyPattern(pattern, flags)  # type: ignore[return-value]


def validator(name: str) -> Callable[[Validator], Validator]:
    def register(fn: Validator) -> Validator:
        VALIDATORS[name] = fn
        return fn

    return register


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@functools.cache
def _letter_pairs() -> tuple[tuple[float, ...], ...]:
    table = json.loads((Path(__file__).with_name("letter_pairs.json")).read_text(encoding="utf-8"))
    return tuple(tuple(row) for row in table["logp"])


def letter_pair_score(word: str) -> float:
    """How much a run of letters reads like a word: the mean log-probability of its letter pairs, its start and
    its end included, in the words of seven languages (letter_pairs.json, built by scripts/letter_pairs.py).
    Words score about -2.5 (19 in 20 above -3.1, made-up names and passwords such as tigger or sunshine too);
    letters drawn at random about -4.5 (19 in 20 below -3.2). Case is ignored; other characters end a word."""
    logp = _letter_pairs()
    total, pairs, prev = 0.0, 0, 0
    for ch in word.lower():
        col = ord(ch) - 97
        if not 0 <= col < 26:
            if prev:
                total, pairs, prev = total + logp[prev][26], pairs + 1, 0
            continue
        total, pairs, prev = total + logp[prev][col], pairs + 1, col + 1
    if prev:
        total, pairs = total + logp[prev][26], pairs + 1
    return total / pairs if pairs else 0.0


def _ordered_runs_source(length: int) -> str:
    runs = []
    for alphabet in ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"):
        for seq in (alphabet, alphabet[::-1]):
            runs.extend(seq[i:i + length] for i in range(len(seq) - length + 1))
    return "|".join(runs)


LAZY_SOURCES.extend((_ordered_runs_source(n), 0) for n in (6, 7, 8))  # the lengths the validators ask for


def _ordered_runs(length: int) -> "re.Pattern[str]":
    """Every run of `length` consecutive letters or digits, ascending or descending, as one regex."""
    return compile_pattern(_ordered_runs_source(length), 0)


_ORDERED_RUNS: dict[int, "re.Pattern[str]"] = {}


def _phonenumbers():
    """The phonenumbers library, imported when the first phone-shaped candidate is judged (~15 ms that a
    scan without one never pays)."""
    import phonenumbers  # noqa: PLC0415

    return phonenumbers


def has_ordered_run(text: str, length: int = 8) -> bool:
    """True when the text holds ``length`` consecutive letters (of one case) or digits in order, up or down
    (abcdefgh, 12345678, 9876543): how people type fillers, never how random tokens look.

    One regex search (all such runs as literals) instead of a loop over the characters: validators run
    this on every candidate token the gateway sees.
    """
    pattern = _ORDERED_RUNS.get(length)
    if pattern is None:
        pattern = _ORDERED_RUNS[length] = _ordered_runs(length)
    return pattern.search(text) is not None


def longest_ordered_run(text: str) -> int:
    """Length of the longest stretch of letters or digits counting up or down by one."""
    best = up = down = 1
    for prev, cur in zip(text, text[1:]):
        step = ord(cur) - ord(prev)
        same = prev.isalnum() and cur.isalnum() and prev.isdigit() == cur.isdigit()
        up = up + 1 if same and step == 1 else 1
        down = down + 1 if same and step == -1 else 1
        best = max(best, up, down)
    return best


# --- payment cards -------------------------------------------------------------------------------

def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer ranges (IIN prefixes), the lengths each issues, and whether a number counts only when written in
# groups (4111 1111 ...) rather than as one run of digits.
_CARD_ISSUERS: list[tuple[re.Pattern[str], tuple[int, ...], bool]] = [
    (re.compile(r"^4"), (13, 16, 19), False),  # Visa
    (re.compile(r"^(5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))"), (16,), False),  # Mastercard
    (re.compile(r"^3[47]"), (15,), False),  # American Express
    (re.compile(r"^(6011|65|64[4-9]|622)"), (16, 19), False),  # Discover
    (re.compile(r"^35"), (16, 19), False),  # JCB (assigned 3528-3589; test-card generators use all of 35xx)
    (re.compile(r"^(2131|1800)"), (15,), False),  # JCB, older 15-digit cards
    (re.compile(r"^3(0[0-5]|[689])"), (14, 16, 19), False),  # Diners Club
    (re.compile(r"^(50|5[6-9]|6)"), (12, 13, 14, 15, 16, 17, 18, 19), False),  # Maestro (50, 56-69)
    (re.compile(r"^(62|81[0-6]\d|817[01])"), (16, 17, 18, 19), False),  # UnionPay (81xx: its newer range)
    (re.compile(r"^220[0-4]"), (16, 17, 18, 19), False),  # Mir
    # UATP (airline cards: 1 then 14 digits). Written without groups, such a number is far more often an
    # ID (Facebook's are 15 digits from 1000...) or test data, one in ten passing Luhn.
    (re.compile(r"^1(?!800)"), (15,), True),
]


def _card_grouping(value: str) -> bool:
    """Whether separators, if any, group the digits as cards are printed: fours with a shorter last group
    (4-4-4-4, 4-4-4-3, 4-4-4), or American Express and Diners Club's 4-6-5 and 4-6-4. Byte pairs of a
    hex dump ("40 66 66 00 02 40 77 77") and phone groups are not card numbers."""
    if " " in value.strip() and "-" in value:
        return False  # EXPOSE 4566 4510-4559 5678 (a Dockerfile's ports): a card is printed with one separator
    sizes = [len(g) for g in re.split(r"[ -]+", value.strip())]
    if len(sizes) == 1:
        return True
    if all(n == 4 for n in sizes[:-1]) and 1 <= sizes[-1] <= 4:
        return True
    return len(sizes) == 3 and sizes[:2] == [4, 6] and sizes[2] in (4, 5)


@validator("credit_card")
def credit_card(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    if not _card_grouping(value):
        return False
    if len(set(digits)) <= 2:  # 4111 1111 1111 1111 style filler is still a test card: keep; 0000... is not
        if set(digits) <= {"0"}:
            return False
    if digits.endswith("0" * 11):
        return False  # 2592000000000000 (a lifetime in nanoseconds): a round number, not a card
    groups = re.split(r"[ -]", value.strip())
    if len(groups) >= 3 and all(len(g) == 4 and longest_ordered_run(g) == 4 for g in groups):
        return False  # 4321-1234-4321-1234: groups counted up and down, a test's ID typed as a filler
    for prefix, lengths, grouped_only in _CARD_ISSUERS:
        if prefix.match(digits) and len(digits) in lengths:
            return not (grouped_only and value.isdigit()) and luhn_ok(digits)
    return False


# --- IBAN ----------------------------------------------------------------------------------------

# Length of a full IBAN per country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


#: The one IBAN of a wrong length that is everywhere: Faker's default bank provider (used by every locale
#: without one of its own, en_US among them) writes "GB", check digits, four letters and 13 digits, one digit
#: short of a real British IBAN, with check digits that pass mod-97. Generated fixtures and synthetic data
#: sets are full of them (bench/pii.py: 30 of 350 IBANs); accepted in exactly that shape, checksum and all.
_GENERATED_IBAN = lazy_re(r"GB\d{2}[A-Z]{4}\d{13}")


@validator("iban")
def iban(value: str) -> bool:
    compact = re.sub(r"\s", "", value).upper()
    if len(compact) < 4 or (IBAN_LENGTHS.get(compact[:2]) != len(compact) and not _GENERATED_IBAN.fullmatch(compact)):
        return False
    if not compact[2:4].isdigit() or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


# --- US SSN --------------------------------------------------------------------------------------

# Numbers the SSA published in advertising and that are known not to be assigned.
_SSN_PUBLICISED = {"078051120", "219099999", "457555462", "123456789", "111223333", "012345678"}


@validator("ssn")
def ssn(value: str) -> bool:
    digits = re.sub(r"[ .-]", "", value)
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in {"000", "666"} or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    if digits in _SSN_PUBLICISED or digits.endswith("456789"):
        return False  # (234-45-6789, 458-45-6789: 123-45-6789's counted tail under another area, a stand-in)
    return len(set(digits)) > 1


# --- phone numbers -------------------------------------------------------------------------------

#: Groups that are each a decimal number (one dot inside), as path data writes coordinates.
_DECIMALS_ONLY = lazy_re(r"\d+\.\d+(?:[ -]+\d+\.\d+)+")


#: A decimal with one digit after the point (17.7), as SVG path data writes coordinates.
_ONE_DECIMAL = lazy_re(r"\.\d(?!\d)")
#: A signed decimal with four digits or more after its one point (+18.479728): a coordinate.
_SIGNED_DECIMAL = lazy_re(r"[+-]\d{1,3}\.\d{4,}")
#: A number with one point in it (2.84), standing alone between other characters than digits and points.
_DECIMAL = lazy_re(r"(?<![\d.])\d+\.\d+(?![\d.])")


@validator("phone")
def phone(value: str) -> bool:
    """A phone number in international (+, 00), North American or Japanese mobile format.

    Numbers written with a "+" are accepted when their length is possible for the country, not only
    when the number block is assigned today: test data and fixtures (and real numbers in plans newer
    than this phonenumbers release) are personal data all the same. "00" numbers, which look like any
    other digits, and numbers in national formats must be valid.
    """
    if _DECIMALS_ONLY.fullmatch(value.strip()):
        return False  # 004.405 5.776 25.823: decimals of SVG path data inlined in JSX, not a number's groups
    if value.strip().startswith("00") and " " in value and (
            all(sep in value for sep in ".-") or _ONE_DECIMAL.search(value) or len(_DECIMAL.findall(value)) >= 2):
        # SVG path data, not a number written: an arc's two flags run into the next coordinate, then
        # decimals (a1 1 0 001.53.12 2.84 2.84, 004.54-4 3.12 3.12, a18 18 0 0017.7 18.5 18 18 0). A number
        # may still have dotted groups after a space (0033 1.23.45.67.89), not decimals.
        return False
    if _SIGNED_DECIMAL.fullmatch(value.strip()):
        return False  # +73.854321: a latitude or longitude with its sign, not a number dialled from abroad
    if _ISO6709_POINT.fullmatch(value.strip()):
        return False  # +4439-06336: a place's latitude and longitude (ISO 6709, the tz database's zone.tab)
    text = value.strip().replace("(0)", "")  # +44(0)115...: the trunk zero is not dialled from abroad
    if text.startswith("(+") or text.startswith("(00"):
        text = text[1:].replace(")", "", 1)  # (+30) 2491 186252: the country code in brackets
    plus = text.startswith("+")
    if text.startswith("00"):
        text = "+" + text[2:]
    region = None if text.startswith("+") else ("JP" if text.startswith("0") else "US")
    if region == "US" and _DOTTED_OUTSIDE_PLAN.fullmatch(text):
        return False  # 100.999.9191 (Matomo's tests of version numbers): dots, and no area code opens with 1
    if region == "US" and _NANP_WRITTEN.fullmatch(text):
        # (212) 555-0187, 697-555-0142: what phonenumbers would answer, without its 0.1 ms a number (a data
        # file of customers holds tens of thousands; tests/test_detect_pii_validators.py compares the two)
        return _nanp_national_ok(_NOT_DIGIT.sub("", text))
    if region is None and _NANP_INTERNATIONAL.fullmatch(text):
        return _nanp_national_ok(_NOT_DIGIT.sub("", text)[1:])  # +1 212 555 0187: the same, after its country code
    return _phone_by_library(text, region, plus)


#: Latitude and longitude in degrees and minutes (and seconds), each with its sign, run together as ISO 6709 and
#: the tz database's zone tables write them (+4439-06336, +394606-0860929).
_ISO6709_POINT = lazy_re(r"[+-]\d{4}[+-]\d{5}|[+-]\d{6}[+-]\d{7}")
#: Ten digits of the North American plan written with separators only, the area code not opening with 0 or 1
#: (which phonenumbers would read as a trunk prefix): the national number is those ten digits.
_NANP_DIGITS = r"\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]?\d{4}"
_NANP_WRITTEN = lazy_re(_NANP_DIGITS)
_NOT_DIGIT = lazy_re(r"\D")
#: The same ten digits after the plan's country code, +1 (or 001, turned into +1 before this is asked).
_NANP_INTERNATIONAL = lazy_re(r"\+1[ .-]?" + _NANP_DIGITS)
#: Digits that repeat a unit of one to four of them (123123123, 45454545).
_REPEATED_UNIT = lazy_re(r"(\d{1,4})\1+")
#: Ten digits in groups of three, three and four split by dots, the first group opening with 1: a North American
#: number outside the plan, written as software versions are.
_DOTTED_OUTSIDE_PLAN = lazy_re(r"1\d{2}\.\d{3}\.\d{4}")


def _nanp_national_ok(national: str) -> bool:
    """North American plan: ten digits. Numbers outside today's plan (area code or exchange starting with 0 or 1,
    the fictional 555-01xx) are still kept: fixtures and generated test data use them, and written in a phone
    format they are phone numbers to whoever reads them. Fillers (000 000 0000) and counting runs
    (123-456-7890) are placeholders."""
    return len(national) == 10 and len(set(national)) > 2 and not has_ordered_run(national, 7)


def _phone_by_library(text: str, region: str | None, plus: bool) -> bool:
    """Whether phonenumbers reads ``text`` (in ``region`` when it has no +) as a number worth reporting."""
    phonenumbers = _phonenumbers()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    national = str(number.national_number)
    if len(set(national)) <= 2:
        return False  # 000 000 0000, 1111111: fillers
    if number.country_code == 1:
        return _nanp_national_ok(national)
    if phonenumbers.is_valid_number(number):
        return True
    return plus and phonenumbers.is_possible_number(number) and len(national) >= 7


# --- e-mail --------------------------------------------------------------------------------------

# Top-level domains that can never hold a mailbox (RFC 2606/6761), and the `domain.tld` stand-in.
# example.com/org/net addresses are still reported: test data and fixtures are full of them, and they
# have the shape of personal data wherever they stand.
_EXAMPLE_DOMAINS = lazy_re(r"(^|\.)(example|test|invalid|localhost|domain\.tld)$")


#: An internationalised top-level domain in its ASCII form (xn--p1ai is .рф).
_PUNYCODE_TLD = lazy_re(r"xn--[a-z0-9-]{2,59}")


#: File extensions that end names with an @ in them (icon@2x.png, Package@swift-5.9.swift), and no TLD
#: of a mailbox a client would have.
_FILE_EXTENSIONS = frozenset({
    "png", "jpg", "jpeg", "gif", "svg", "webp", "js", "ts", "py", "css", "map", "json", "md", "swift", "kt", "kts",
    "java", "rb", "go", "php", "html", "htm", "txt", "yml", "yaml", "xml", "toml", "lock", "tsx", "jsx", "vue",
    "scss", "less", "mjs", "cjs", "gradle", "plist", "pbxproj", "xib", "storyboard", "ico", "bmp", "tiff", "woff",
    "woff2", "ttf", "eot", "pdf", "cpp", "hpp", "hh", "cxx", "dart", "scala", "groovy", "lua",
    # systemd unit instances: sshd-keygen@rsa.service, getty@tty1.service, backup@daily.timer
    "service", "socket", "timer", "mount", "automount", "slice", "scope", "swap",
})
#: Domains that name SSH algorithms (RFC 4251's name@domain extensions): hmac-sha2-512-etm@openssh.com,
#: curve25519-sha256@libssh.org, sntrup4591761x25519-sha512@tinyssh.org. A name with a digit or a hyphen
#: is an algorithm; the developers' own addresses there (djm@openssh.com) have neither.
_SSH_ALGORITHM_DOMAINS = frozenset({"openssh.com", "libssh.org", "tinyssh.org"})
#: Stand-ins that templates ship: gettext's "Language-Team: LANGUAGE <LL@li.org>".
_TEMPLATE_ADDRESSES = frozenset({"ll@li.org"})


@validator("email")
def email(value: str) -> bool:
    local, _, domain = value.rpartition("@")
    if not local or not domain or "." not in domain:
        return False
    domain = domain.lower().rstrip(".")
    tld = domain.rsplit(".", 1)[-1]
    if not (tld.isalpha() or _PUNYCODE_TLD.fullmatch(tld)) or len(tld) < 2:
        return False  # file names like icon@2x.png end in a non-TLD
    if tld in _FILE_EXTENSIONS:
        return False
    if _EXAMPLE_DOMAINS.search(domain):
        return False
    if local.startswith("-") or ".." in local:
        return False
    if value.lower() in _TEMPLATE_ADDRESSES:
        return False
    if local in {"this", "super"} and value.rpartition("@")[2][:1].isupper():
        return False  # Kotlin's labelled this (this@SubscriptionEntity.description), not a mailbox
    if local.lower() in {"git", "hg", "svn"}:
        return False  # SSH remote of a code host (git@github.com:org/repo.git), not a person's mailbox
    if domain in _SSH_ALGORITHM_DOMAINS and (local == "zlib" or re.search(r"[\d-]", local)):
        return False  # an SSH algorithm's name (umac-128-etm@openssh.com), not a mailbox
    return True


# --- IP addresses --------------------------------------------------------------------------------

def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


# Public resolvers and the classic example address: they identify no one.
_WELL_KNOWN_PUBLIC = {"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9", "149.112.112.112", "208.67.222.222",
                      "208.67.220.220", "1.2.3.4", "4.3.2.1", "2001:4860:4860::8888", "2001:4860:4860::8844",
                      "2606:4700:4700::1111", "2606:4700:4700::1001",
                      # example.com's addresses (IANA's), which tests resolving a name mock it with
                      "93.184.216.34", "93.184.215.14", "2606:2800:220:1:248:1893:25c8:1946",
                      "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast and str(ip) not in _WELL_KNOWN_PUBLIC


#: Address blocks reserved for documentation (RFC 5737, RFC 3849), parsed once: this runs per candidate.
_DOCUMENTATION_NETS = tuple(ipaddress.ip_network(n) for n in
                            ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


def _documentation_net(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip in n for n in _DOCUMENTATION_NETS if n.version == ip.version)


#: X.509 object identifiers (id-at 2.5.4.x, id-ce 2.5.29.x: keyUsage is 2.5.29.15) have four parts too, and
#: so do RFC 8410's curves (1.3.101.110 X25519, .111 X448, .112 Ed25519, .113 Ed448).
_X509_OID = lazy_re(r"2\.5\.(?:4|29)\.\d{1,3}|1\.3\.101\.11[0-3]")


def _section_number(value: str) -> bool:
    # 7.9.2.2 or 1.2.1.0: four single-digit parts are a section or version number, not a host;
    # 40.40.40.40, 20.20.20.20: one octet four times is a test filler (8.8.8.8 and 1.1.1.1 are resolvers), and so is
    # a pair typed twice (123.234.123.234, a chart's stand-in loadBalancerIP)
    parts = value.split(".")
    return all(len(part) == 1 for part in parts) or len(set(parts)) == 1 or parts[:2] == parts[2:]


@validator("ipv4_public")
def ipv4_public(value: str) -> bool:
    if _section_number(value) or _X509_OID.fullmatch(value) or value.endswith(".0.0.0"):
        # (17.0.0.0, 4.0.0.0: a .NET tool's or assembly's version, as every resource Designer.cs names its
        # generator's; a network of its own, never one host's address)
        return False
    if has_ordered_run(value.replace(".", ""), 7):
        return False  # 123.45.67.89, 98.76.54.32: the digits counted out, documentation's stand-in address
    ip = _ip(value)
    return isinstance(ip, ipaddress.IPv4Address) and _is_public(ip) and not _documentation_net(ip)


@validator("ipv4_private")
def ipv4_private(value: str) -> bool:
    ip = _ip(value)
    if not isinstance(ip, ipaddress.IPv4Address):
        return False
    # Loopback, unspecified and link-local addresses name no host of the client's network; nor does the
    # reserved 240.0.0.0/4, where netmasks (255.255.0.0, 255.255.255.0) fall. The broadcast address stays
    # reported, as Presidio's labelled cases count it.
    reserved = ip.is_reserved and value != "255.255.255.255"
    # Nor RFC 1122's "this network" 0.0.0.0/8 (0.0.0.1-0.255.255.255 in squid.conf): no host has one.
    this_network = value.startswith("0.")
    return ip.is_private and not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or reserved or this_network) \
        and not _documentation_net(ip)


def _ipv6_shaped(value: str) -> bool:
    # `1::2` and `::3` are valid addresses but in code they are slices; real ones have three groups or more.
    groups = value.split(":")
    if len(groups) == 8 and all(len(g) == 2 for g in groups):
        return False  # c1:64:70:c8:e8:0b:6c:b9: bytes of a signature or fingerprint in a certificate's dump
    if sum(1 for g in groups if g.lower() == "ffff") >= 4:
        return False  # 2001:db7:ffff:ffff:ffff:ffff:ffff:ffff: the top of a range, or a mask
    return sum(1 for g in groups if g) >= 3


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_FE00_9 = ipaddress.ip_network("fe00::/9")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 (64:ff9b::a9fe:a9fe) or 6to4 (2002:a00:1::) address carries."""
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _reserved_filler(ip: ipaddress.IPv6Address, value: str) -> bool:
    """IETF-reserved space that no host has, written as tests and configs write fillers, and not a form that
    carries an IPv4 address.

    0000::/4 written with a run of zero groups left out, where a first group of three hex digits or fewer
    lands (fec::abcd:9 in IPAM tests, ::abc:7:def, 1:20::300, 0000:000:000:000::2 in an Apache config) or with
    every group of one or two digits (1:1:1:1:1:1:1:1, a:b:0:0:0:c:0:0 in URL parser tests); and fe00::/9
    beside link-local (/etc/hosts' fe00::0 ip6-localnet, fe00::1 typed for fe80::1). All eight groups written
    out (fd6:30f1:f29d:da9:953f:48f2:a09f:76b5) is how generated addresses look, Faker's among them: one in
    sixteen of its random addresses lies in 0000::/4, and leaving those out cost bench/pii.py's IPv6 recall
    0.997 -> 0.929. Other reserved blocks stay reported: Presidio's labelled cases count 684d:1111:... and
    a099::... as addresses.
    """
    if not ip.is_reserved or ip in _NAT64 or ip.ipv4_mapped is not None:
        return False
    if ip in _FE00_9:
        return True
    return int(ip) >> 124 == 0 and ("::" in value or all(len(g) <= 2 for g in value.split(":")))


@validator("ipv6_public")
def ipv6_public(value: str) -> bool:
    if not _ipv6_shaped(value):
        return False
    ip = _ip(value)
    if not isinstance(ip, ipaddress.IPv6Address) or not _is_public(ip) or _documentation_net(ip):
        return False
    if _reserved_filler(ip, value):
        return False
    inner = _embedded_ipv4(ip)
    # 64:ff9b::7f00:1 is loopback, 2002:a9fe:a9fe:: the cloud metadata address: an SSRF test's translations
    # of internal addresses, public only in form
    if inner is None or inner.packed[0] == 0:
        return True  # 64:ff9b::192 cut before a dotted tail (64:ff9b::192.0.2.1): no IPv4 address inside it
    return _documentation_net(inner) or not (inner.is_private or inner.is_loopback or inner.is_link_local)


@validator("ipv6_private")
def ipv6_private(value: str) -> bool:
    if not _ipv6_shaped(value):
        return False
    ip = _ip(value)
    if not isinstance(ip, ipaddress.IPv6Address):
        return False
    return (ip.is_private or ip.is_site_local) and not (ip.is_loopback or ip.is_unspecified or ip.is_link_local) \
        and not _documentation_net(ip)


# --- tokens --------------------------------------------------------------------------------------

def json_object(raw: str | bytes) -> dict | None:
    """The JSON object a candidate decodes to, or None: not JSON, not an object, or nested so deep (a thousand
    levels) that json gives up, which no token or configuration is. The one way validators read JSON."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def b64url_json(part: str) -> dict | None:
    """The JSON object of one base64url part of a token (padding optional), or None."""
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except ValueError:
        return None
    return json_object(raw)


@validator("jwt")
def jwt(value: str) -> bool:
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header = b64url_json(parts[0])
    return bool(header and "alg" in header) and b64url_json(parts[1]) is not None


# Values that stand for a secret without being one.
_PLACEHOLDER_WORDS = lazy_re(
    r"(?i)^(?:changeme|change[_-]?(?:me|this|it)|changeit|password|passwd|secret|token|apikey|api[_-]?key|none|null|nil|"
    r"undefined|true|false|example|sample|dummy|placeholder|redacted|hidden|masked|todo|tbd|fixme|test|testing|"
    r"default|empty|string|value|(?:your|my)[_-]?(?:own[_-]?)?(?:[a-z]{2,12}?[_-]?)?(?:secret|password|passwd|pass|token|key|api[_-]?key|"
    r"access[_-]?key|app|client|db|database|auth|value|pw|pwd)\w*|\w*[_-]here|replace[_-]?me|(?:insert|enter)[_-]\w*|"
    r"foo|bar|baz|qwerty|letmein|admin|root|user|username|pass|secret[_-]?key|private[_-]?key|"
    r"not[_-]?set|unset|n/?a|xxx+|\*+|\.+|-+|_+|0+|1234\w*|abc\w{0,3}|abc123\w{0,6}|s3cr3t|p@ssw[0o]rd)$"
)
_TEMPLATE = lazy_re(
    # ($$MYSQL_PASSWORD: a variable as Compose escapes it for the container's shell)
    r"^(?:\$\{[^}]*\}|\$\([^)]*\)|\$\$?[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|\{\%.*\%\}|%\([^)]*\)s|%s|<[^>]*>|\[[^\]]*\]|"
    r"#\{[^}]*\}|@[A-Za-z_]+@|__[A-Z0-9_]+__|#{2,}[A-Za-z_][A-Za-z0-9_]*#{2,}|\|[A-Z][A-Z0-9_]*\||![A-Z][A-Z0-9_]*!|"
    # a variable negated, indexed or dereferenced (!$canEdit, $provider['secret'] cut at its quote, $user->token)
    r"!\$[A-Za-z_][A-Za-z0-9_]*|\$[A-Za-z_][A-Za-z0-9_]*(?:\[['\"]?[\w-]*['\"]?\]?|->[A-Za-z_]\w*)+)$"
)
_CODE_REFERENCE = lazy_re(
    r"(?i)(os\.environ|os\.getenv|getenv\(|process\.env|env\(|environ\[|config\[|settings\.|secrets\.|vault:|"
    r"\$\{\{|ENV\[|System\.getenv|Environment\.GetEnvironmentVariable|keyring|\bsecretKeyRef\b)"
)


#: Instructions in the value's place: yourWeak(!)Password, YourPwdShouldBeLongAndSecure!, your_api_key, and
#: in leetspeak, Your$tr0ngP@ss! (a connection string's stand-in).
YOUR_VALUE = lazy_re(r"[Yy]our[A-Z_\- $]")


#: Values providers and standards print as the example of a credential: the Telegram Bot API's bot token, the
#: bearer token of RFC 6750 (OAuth 2.0 bearer tokens), the TOTP seed of Google Authenticator's key-URI format page,
#: the Azure emulators' account keys.
#: Only the generic rules (a secret-looking name, no format) pass them by; a rule for the service's own format
#: still reports its documented examples, as it cannot tell one from a key someone reused.
#: The account keys of the Azurite / Azure Storage Emulator account "devstoreaccount1" and of the Azure
#: Cosmos DB emulator: published by Microsoft for local development, the same on every machine, so they
#: protect nothing, wherever they are written (a connection string's AccountKey=, a setting of their own).
AZURE_EMULATOR_KEYS = frozenset({
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
})
DOCUMENTED_EXAMPLES = frozenset({"123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "mF_9.B5f-4.1JqM", "JBSWY3DPEHPK3PXP"}) \
    | AZURE_EMULATOR_KEYS
#: How the secret access key of AWS's documentation opens (wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY): a guide that
#: cuts it short loses the EXAMPLE that marks the rest.
_AWS_EXAMPLE_SECRET_START = "wJalrXUtnFEMI"
#: Eight bytes or more written in hex, each a digit twice (00 11 22 ... FF): a key typed as an example.
DOUBLED_NIBBLES = lazy_re(r"(?:([0-9A-Fa-f])\1){8,}")
#: One chunk of two to sixteen characters, three times or more: typed or pasted again, not drawn.
_REPEATED_CHUNK = lazy_re(r"(.{2,16}?)\1{2,}")


def is_placeholder(value: str) -> bool:
    """True when a value is a template, an environment lookup, a mask or a well-known stand-in."""
    v = value.strip().strip("'\"`")
    if not v:
        return True
    if _PLACEHOLDER_WORDS.match(v) or _TEMPLATE.match(v) or _CODE_REFERENCE.search(v) or YOUR_VALUE.match(v):
        return True
    if len(set(v.lower())) <= 2:  # xxxxxxxx, ********, aaaa1111
        return True
    if DOUBLED_NIBBLES.fullmatch(v):
        return True  # 00112233445566778899AABBCCDDEEFF: every byte a hex digit twice, typed in order, not drawn
    if v.startswith(_AWS_EXAMPLE_SECRET_START):
        return True  # AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI: the start of AWS's documented example key, cut short
    if v in DOCUMENTED_EXAMPLES or _REPEATED_CHUNK.fullmatch(v.removeprefix("base64:").rstrip("=")):
        return True  # a provider's documented example; testing123testing123testing123: a chunk typed again
    low = v.lower()
    if any(w in low for w in ("example", "changeme", "placeholder", "your_", "your-", "<your", "dummy", "mock", "xxxxx",
                               "redacted", "*****", "fake", "bogus", "sample", "notreal", "not_real", "not-real", "not-a-secret", "not_a_secret",
                               "insert_", "replace", "randomstring", "random_string", "random-string", "lorem", "ipsum",
                               "_here", "-here", "here_", "here-")):  # SET_A_PASSWORD_HERE_123, token-here
        return True
    return False


@validator("generic_secret")
def generic_secret(value: str) -> bool:
    """A literal value assigned to a secret-looking name that is not a placeholder or a code reference."""
    v = value.strip().strip("'\"`")
    if len(v) < 8 or is_placeholder(v):
        return False
    # A bare identifier path (settings.DB_PASSWORD, self.password) is a reference, not a literal.
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(\(\))?", v):
        return False
    if re.fullmatch(r"[a-z]+(_[a-z]+)+", v) or re.fullmatch(r"[A-Z]+(_[A-Z]+)+", v):
        return False  # snake_case words: a variable or constant name
    if re.fullmatch(r"[/~.][\w./-]*", v) and "/" in v:
        return False  # a file path
    return True


@validator("not_placeholder")
def not_placeholder(value: str) -> bool:
    return not is_placeholder(value)


def validate(name: str, value: str) -> bool:
    return VALIDATORS[name](value)


# Validators that belong to particular rule families live beside this module and register on import.
from clientguard.detect import validators_secrets, validators_services  # noqa: E402,F401


#: Regions tried, in order, for a phone number written in national format (no country code).
#: Regions a nationally written number is tried in, most common first (a number valid in any of them is
#: kept; the national rules' formats, not this list, keep ordinary digit runs out).
NATIONAL_PHONE_REGIONS = ("DE", "GB", "FR", "NL", "AT", "CH", "IT", "ES", "BE", "US", "CA", "AU", "IE", "IN", "PL",
                          "SE", "NO", "DK", "FI", "PT", "RO", "RU", "UA", "IL", "GR", "HU", "CZ", "TR", "BR", "MX",
                          "JP", "KR", "CN", "NZ")


#: A date, year first or last, with one separator throughout (2024-01-15, 2024 01 01, 15.01.2024, 1/15/2024):
#: after "contact:" or "call" it is a day, not a number.
_DATE_SHAPED = lazy_re(r"(?:19|20)\d\d([ ./-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
                       r"|(?:0?[1-9]|[12]\d|3[01])([ ./-])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)\d\d")


def _counted_groups(value: str) -> bool:
    """Four or more groups of digits of one length that step by the same amount (01 03 05 07 09)."""
    groups = re.findall(r"\d+", value)
    if len(groups) < 4 or len({len(g) for g in groups}) != 1:
        return False
    steps = {int(b) - int(a) for a, b in zip(groups, groups[1:])}
    return len(steps) == 1 and steps != {0}


@validator("phone_national")
def phone_national(value: str) -> bool:
    """A nationally written number (leading 0) that is valid in one of the common regions."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 6 or len(set(digits)) <= 2 or _DATE_SHAPED.fullmatch(value):
        return False
    if longest_ordered_run(digits) >= len(digits) - 1 or (digits.startswith("123") and "555" in digits[3:]):
        return False  # tel:0123456789, tel:123-555-12345: digits counted out or the fictional 555, a stand-in
    if _REPEATED_UNIT.fullmatch(digits):
        return False  # contact_phone = "123123123": a few digits typed again and again
    if _counted_groups(value):
        return False  # 01 03 05 07 09, 05 06 07 08 09: a count written in pairs (a range's steps in a comment)
    if not digits.startswith("0"):
        # Written without the trunk zero (Italy, Poland, Brazil, Spain...) or as a local number (New
        # Zealand, Ukraine): the label says it is a phone number; accept a plausible length of national
        # digits (7-12; not the 555-1234 of docs), unless the digits count up or down (1234567890) like
        # a placeholder.
        if len(digits) == 7 and digits.startswith("555"):
            return False
        return 7 <= len(digits) <= 12 and not has_ordered_run(digits, 7)
    phonenumbers = _phonenumbers()
    for region in NATIONAL_PHONE_REGIONS:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False
