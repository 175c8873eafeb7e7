"""The PII validators accept what people and test-data generators write, and refuse fillers."""

from __future__ import annotations

import pytest

from clientguard.detect import Detector
from clientguard.detect.validators import VALIDATORS

phone = VALIDATORS["phone"]
phone_national = VALIDATORS["phone_national"]
email = VALIDATORS["email"]
credit_card = VALIDATORS["credit_card"]


@pytest.mark.parametrize("value", [
    "(415) 555-0132",  # the fictional 555-01xx block: fixtures use it, and it reads as a phone number
    "415-555-0132",
    "+1 415 555 0132",
    "(123) 556-7843",  # an area code outside today's plan, as generated test data has
    "019-827-4623",
])
def test_north_american_numbers_in_phone_formats_are_phone_numbers(value):
    assert phone(value)


@pytest.mark.parametrize("value", ["123-456-7890", "+1 000 000 0000", "111-111-1111", "987-654-3210"])
def test_counting_runs_and_fillers_are_not_phone_numbers(value):
    assert not phone(value)


@pytest.mark.parametrize("value", ["(0161) 496 0066", "03 51 44 97 86", "0191 4960657", "(030) 90182-0"])
def test_national_numbers_valid_in_their_country(value):
    assert phone_national(value)


def test_an_internationalised_top_level_domain_is_a_domain():
    assert email("a@xn--d1acufc.xn--p1ai")
    assert not email("icon@2x.png")


def test_uatp_cards_pass_luhn_and_issuer_checks_when_written_as_cards():
    assert credit_card("1220 000000 00003")
    assert credit_card("1220-0000-0000-003")
    assert not credit_card("1220 000000 00004")  # Luhn fails
    assert not credit_card("1220 0000 0000 0003")  # UATP numbers have 15 digits
    # Ungrouped, 1 and 14 digits is far more often an ID (Facebook's 1000... user IDs) than an airline card.
    assert not credit_card("122000000000003")
    assert not credit_card("100004000000009")


@pytest.fixture(scope="module")
def detector():
    return Detector.create(fingerprint_key=b"k" * 32)


@pytest.mark.parametrize("text, found", [
    ("My US number is (415) 555-0132, and my international one is +1 415 555 0132",
     ["(415) 555-0132", "+1 415 555 0132"]),
    ("My US number is (415) 555-0132, and my international one is +30 21 0 1234567",
     ["(415) 555-0132", "+30 21 0 1234567"]),
    ("customer = {'value': '(0161) 496 0066'}", ["(0161) 496 0066"]),
    ("|03 51 44 97 86|", ["03 51 44 97 86"]),
    ("contato: 22 4978-6907", ["22 4978-6907"]),
])
def test_phone_numbers_in_prose_and_fixtures_are_found_whole(detector, text, found):
    spans = [text[f.start:f.end] for f in detector.scan(text) if f.kind == "pii" and "phone" in f.rule_id]
    assert spans == found


@pytest.mark.parametrize("text", [
    "#  0x00 03 ff 05 00 01 02 03 04",  # a hex dump
    "released 01-02-2024",
    "at 2024-01-02 03:04:05",
    "ids = [123-456-7890]",
])
def test_digit_groups_that_are_not_phone_numbers(detector, text):
    assert not [f for f in detector.scan(text) if "phone" in f.rule_id]


def test_netmasks_oids_round_numbers_and_file_names_are_not_personal_data():
    """Found scanning caddy and okhttp (255.255.0.0, 252.253.254.255 in the reserved 240/4; keyUsage
    2.5.29.15), the pki test of caddy (a lifetime of 2592000000000000 ns read as a card), Alamofire
    (Package@swift-5.9.swift) and djangoproject.com (gettext's LL@li.org)."""
    from clientguard.detect.validators import VALIDATORS

    assert not VALIDATORS["ipv4_private"]("255.255.0.0")
    assert not VALIDATORS["ipv4_private"]("252.253.254.255")
    assert VALIDATORS["ipv4_private"]("10.20.30.41")
    assert VALIDATORS["ipv4_private"]("255.255.255.255")  # the broadcast address: Presidio counts it
    assert not VALIDATORS["ipv4_public"]("2.5.29.15")
    assert VALIDATORS["ipv4_public"]("2.58.29.15")
    assert not VALIDATORS["credit_card"]("2592000000000000")
    assert VALIDATORS["credit_card"]("4111111111111111")
    assert not VALIDATORS["email"]("Package@swift-5.9.swift")
    assert not VALIDATORS["email"]("LL@li.org")
    assert VALIDATORS["email"]("webmaster@mail.example.pl")
