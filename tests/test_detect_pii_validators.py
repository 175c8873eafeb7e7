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
    "212.555.0187",  # dotted, as many write them, in today's plan
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
    "$this->assertIsStableVersion('100.999.9191');",  # a version: dots, and no area code opens with 1
    "$this->assertIsVersionNumber('100.999.9991-rc90');",
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
    assert not VALIDATORS["ipv4_public"]("17.0.0.0")  # a tool's version in every .NET resource Designer.cs
    assert VALIDATORS["ipv4_public"]("17.0.0.9") and VALIDATORS["ipv4_public"]("81.0.0.1")
    assert not VALIDATORS["ipv4_public"]("123.234.123.234") and VALIDATORS["ipv4_public"]("123.234.123.235")
    assert not VALIDATORS["credit_card"]("4566 4510-4559 5678")  # EXPOSE's ports; one separator makes a card
    assert VALIDATORS["credit_card"]("4111 1111 1111 1111") and VALIDATORS["credit_card"]("4111-1111-1111-1111")
    assert not VALIDATORS["ssn"]("234-45-6789") and VALIDATORS["ssn"]("234-45-6798")  # 123-45-6789's tail
    assert not VALIDATORS["credit_card"]("2592000000000000")
    assert VALIDATORS["credit_card"]("4111111111111111")
    assert not VALIDATORS["email"]("Package@swift-5.9.swift")
    assert not VALIDATORS["email"]("LL@li.org")
    assert VALIDATORS["email"]("webmaster@mail.example.pl")


def test_ssh_algorithm_names_and_systemd_units_are_not_mailboxes():
    for value in ("hmac-sha2-512-etm@openssh.com", "umac-128-etm@openssh.com", "zlib@openssh.com",
                  "curve25519-sha256@libssh.org", "sntrup4591761x25519-sha512@tinyssh.org",
                  "sshd-keygen@rsa.service", "getty@tty1.service", "backup@daily.timer"):
        assert not email(value), value
    # People at those domains, and a mailbox whose domain merely resembles one, still are.
    assert email("jdoe@openssh.com") and email("ops-team@acme-health.de") and email("jane@service.acme.io")


def test_a_certificate_dump_s_byte_pairs_are_not_an_ipv6_address():
    ipv6_public, ipv6_private = VALIDATORS["ipv6_public"], VALIDATORS["ipv6_private"]
    assert not ipv6_public("c1:64:70:c8:e8:0b:6c:b9")
    assert not ipv6_private("fd:12:34:56:78:9a:bc:de")
    assert ipv6_public("2a00:1450:4001:82a::200e") and ipv6_private("fd12:3456:789a:1::5")


def test_oids_and_the_this_network_block_are_not_hosts():
    ipv4_public, ipv4_private = VALIDATORS["ipv4_public"], VALIDATORS["ipv4_private"]
    assert not any(ipv4_public(v) for v in ("1.3.101.110", "1.3.101.111", "1.3.101.112", "1.3.101.113"))
    assert not ipv4_private("0.0.0.1") and not ipv4_private("0.255.255.255")
    assert ipv4_public("1.3.101.114") and ipv4_private("10.0.0.1")
    # The blocks' own addresses are still addresses to the validator (Presidio counts "Private 10.0.0.0");
    # only the rule's pattern leaves out the RFC 1918 blocks written with their prefix (10.0.0.0/8).
    assert ipv4_private("10.0.0.0") and ipv4_private("172.16.0.0")
    det = Detector.create(fingerprint_key=b"k" * 32)
    assert not det.scan("acl localnet src 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16")
    assert [f.rule_id for f in det.scan("acl office src 10.0.0.0/16")] == ["ipv4-private"]


def test_an_ssn_written_with_dots_is_read_like_one_with_dashes():
    ssn = VALIDATORS["ssn"]
    assert ssn("536.22.8728") and ssn("536-22-8728")
    assert not ssn("078.05.1120") and not ssn("666.22.8728")


def test_nat64_and_6to4_forms_of_internal_addresses_and_range_tops_are_not_public():
    """Found scanning koel and outline (SSRF tests: 64:ff9b::a9fe:a9fe is the metadata address through NAT64,
    2002:a00:1:: is 10.0.0.1 through 6to4) and hexpm (the tops of address ranges)."""
    ipv6_public = VALIDATORS["ipv6_public"]
    for value in ("64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "2002:a00:1::", "2002:a9fe:a9fe::",
                  "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2606:2800:220:1:248:1893:25c8:1946"):
        assert not ipv6_public(value), value
    # a public address carried the same ways, and Presidio's NAT64 case with a documentation address, still are
    for value in ("64:ff9b::3425:6e07", "2002:3425:6e07::1", "2a00:1450:4001:82a::200e"):
        assert ipv6_public(value), value
    det = Detector.create(fingerprint_key=b"k" * 32)
    assert [f.rule_id for f in det.scan("NAT64: 64:ff9b::198.51.100.1")] == ["ipv6-public"]


def test_network_blocks_assembly_versions_spec_sections_and_counted_addresses_are_not_hosts():
    """Found scanning dub (the networks of a bot list, 45.92.116.0/22), eShopOnWeb (Version=11.0.0.0), a core-js
    bundle in Made-With-ML's notebook ("// 19.1.2.6 Object.getOwnPropertyDescriptor(O, P)") and tldr (123.45.67.89)."""
    det = Detector.create(fingerprint_key=b"k" * 32)
    for text in ('RANGES = ["45.92.116.0/22", "157.240.0.0/16"]', "TraceCollector, Version=11.0.0.0, Culture=neutral",
                 "// 19.1.2.6 Object.getOwnPropertyDescriptor(O, P)", "// 22.1.3.23 / 15.4.4.17 Array.prototype.some(f)",
                 "[ES5](https://es5.github.io/#x15.1.2.2)", "dnsmap example.com -i 123.45.67.89,98.76.54.32"):
        assert not [f for f in det.scan(text) if f.kind == "pii"], text
    # a host with its prefix, a host in a comment, and an address after a word are still reported
    for text in ("allow 52.29.110.7/32;", "// 52.29.110.7 Gateway of the office", "server 81.169.145.105 is up"):
        assert [f.rule_id for f in det.scan(text)] == ["ipv4-public"], text


def test_labelled_this_decimals_of_path_data_and_counted_phone_numbers_are_not_personal_data():
    """Found scanning NewPipe (Kotlin's this@SubscriptionEntity.avatarUrl), dub and koel (path data inlined in
    JSX and SVG read as 00-numbers), outline (tel:0123456789) and grav (tel:123-555-12345)."""
    assert not email("this@SubscriptionEntity.avatarUrl") and not email("super@Outer.description")
    assert email("this@example.org")
    assert not phone("004.405 5.776 25.823") and not phone("001.613-4.276 1.08")
    assert phone("0044 20 7946 0958")
    # mealie's saved recipe pages: path data in HTML, a minus between decimals (0 004.54-4 3.12 3.12 0)
    assert not phone("004.54-4 3.12 3.12") and not phone("008.49-6.27 65 65 0")
    assert not phone("0017.7 18.5 18 18 0") and not phone("0011.3 27.8 34 34 0")  # SVG arcs (mailcow's flags)
    assert not phone("001.53.12 2.84 2.84")  # a logo's arc (ghostfolio): a1 1 0 001.53.12 2.84 2.84 0 00.71-1.2
    assert phone("0033 1.23.45.67.89")  # two-digit groups after the points: still a number
    assert not phone("+73.854321") and not phone("+1.0001220703125")  # a longitude (traccar), a double (BSON)
    assert phone("0044 20 7946-0958") and phone("+44 20.7946-0958 ")
    assert not phone_national("0123456789") and not phone_national("123-555-12345")
    assert not phone_national("123123123") and not phone_national("45 45 45 45")  # nautobot's contact_phone
    assert phone_national("06 12 34 56 78") and phone_national("0161 496 0066")


def test_an_svg_s_coordinates_are_not_an_ssn():
    """Found scanning wagtail/bakerydemo (an illustration's points="... 881 57 1102 6 61 ...")."""
    from clientguard.detect.rules import builtin_rules

    rule = next(r for r in builtin_rules() if r.id == "us-ssn")
    assert "*.svg" in rule.skip_files
    det = Detector.create(fingerprint_key=b"k" * 32)
    assert [f.rule_id for f in det.scan("SSN 536-22-8726")] == ["us-ssn"]


def test_reserved_ipv6_below_1000_and_beside_link_local_is_not_public():
    """Found scanning netbox ('fec::abcd:9/64' in form tests), certbot ([0000:000:000:000::2]:7081 in an Apache
    config, fe00:0:0::1, 1:20::300), allauth (::abc:7:def) and Mailu (fe2f:2a73:43a8:7a1b::1)."""
    ipv6_public = VALIDATORS["ipv6_public"]
    for value in ("fec::abcd:9", "0000:000:000:000::2", "fe00:0:0::1", "1:20::300", "::abc:7:def",
                  "1:1:1:1:1:1:1:1", "a:b:0:0:0:c:0:0",
                  "fe2f:2a73:43a8:7a1b::1", "201:db8:1234::", "65:ff9b::a00:1"):
        assert not ipv6_public(value), value
    # global unicast, NAT64 with a public address inside, and other reserved blocks that Presidio's labelled
    # cases count as addresses are still reported
    for value in ("2a01:4f8:160:13a2::1017", "64:ff9b::808:808", "684D:1111:222:3333:4444:5555:6:77",
                  "A099::09C0:876A:130B"):
        assert ipv6_public(value), value
    # 0000::/4 with all eight groups written out, as generated addresses (Faker's) come: still reported
    for value in ("fd6:30f1:f29d:da9:953f:48f2:a09f:76b5", "72a:98d2:3606:defc:dfb8:5c0e:d37e:e915"):
        assert ipv6_public(value), value


def test_a_number_under_an_id_key_is_not_a_card_but_under_a_card_key_it_is():
    """Found scanning moto ("owner_id": "591542846629", an AMI's publishing AWS account, 19,767 times) and
    paperless-ngx (Angular's <trans-unit id="5070799004079086984">, 2,375 times)."""
    det = Detector.create(fingerprint_key=b"k" * 32)
    cards = lambda text: [f for f in det.scan(text) if f.rule_id == "payment-card-number"]  # noqa: E731
    for text in ('"owner_id": "591542846629",', '<trans-unit id="5070799004079086984" datatype="html">',
                 '{"ImageOwnerId":591542846629}'):
        assert not cards(text), text
    for text in ('"card_number": "591542846629",', 'card="4111111111111111"', "amex=378282246310005"):
        assert cards(text), text


def test_a_url_s_user_is_not_an_address_unless_it_is_one_with_a_password():
    det = Detector.create(fingerprint_key=b"k" * 32)
    mails = lambda text: [text[f.start:f.end] for f in det.scan(text) if f.rule_id == "email-address"]  # noqa: E731
    assert mails('parse_git_url("https://tok@github.com/dbt-labs/dbt-utils.git")') == []
    assert mails('dsn = "https://examplePublicKey@o0.ingest.sentry.io/0"') == []
    assert mails("EMAIL_SERVER=smtps://jane.doe@gmail.com:Pw0000TEST@smtp.gmail.com:465") == ["jane.doe@gmail.com"]
    assert mails("maintainer: jane.doe@acme-health.de") == ["jane.doe@acme-health.de"]


def test_fakers_default_iban_shape_is_an_iban_when_its_checksum_holds():
    """Faker's default bank provider writes GB IBANs one digit short (21 characters) with a valid checksum;
    generated fixtures hold them. That exact shape passes; other wrong lengths and bad checksums do not."""
    iban = VALIDATORS["iban"]
    assert iban("GB81TEST0000000012345")          # made here: the shape, with check digits computed
    assert iban("GB82WEST12345698765432")         # a real-length British IBAN (the ECBS example)
    for value in ("GB82TEST0000000012345",        # the shape, checksum wrong
                  "GB81TEST000000001234",         # 20 characters
                  "DE81TEST0000000012345",        # not the generated shape for another country
                  "GB8112340000000012345"):       # digits where the bank code's letters go
        assert not iban(value), value


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_a_public_network_block_is_left_out_and_a_host_with_its_prefix_is_not(engine):
    """An address whose host bits are all zero under its prefix names a block of addresses (a cloud provider's
    published ranges), and so does any x.x.x.0 with a prefix; every other address with a prefix, /32 and an
    interface's 81.169.145.105/24 among them, is one address. Checked against the standard library for every
    last octet and prefix length from /24 (and a few shorter ones)."""
    import ipaddress

    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    for last in range(256):
        for n in (0, 8, 16, 20, 24, 25, 26, 27, 28, 29, 30, 31, 32):
            address = f"81.169.145.{last}"
            try:
                ipaddress.ip_network(f"{address}/{n}")
                block = n < 32
            except ValueError:  # host bits set
                block = last == 0 and n < 32
            found = [f for f in det.scan(f'ranges: ["{address}/{n}", "x"]') if f.rule_id == "ipv4-public"]
            assert (not found) == block, f"{address}/{n}"


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
@pytest.mark.parametrize("address", ["jürgen.müller@acme-health.de", "josé.garcía@correo.es", "föo@ory.sh",
                                     "ёжик.иванов@mail.ru", "café@acme.fr"])
def test_an_address_with_letters_beyond_ascii_is_found_whole(engine, address):
    # Cut to its ASCII tail (ller@…, a@…), a redacted address would still show the start of the name.
    det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
    text = f'customers: [{{"name": "x", "email": "{address}"}}]'
    found = [text[f.start:f.end] for f in det.scan(text) if f.rule_id == "email-address"]
    assert found == [address]


def test_a_domain_running_on_into_a_letter_beyond_ascii_is_no_address():
    det = Detector.create(fingerprint_key=b"k" * 32)
    assert det.scan('Kullanıcı "kullanıcıadı@alan.adı" yazmak zorunda değil') == []


def test_north_american_numbers_read_without_phonenumbers_get_its_answer():
    """The phone validator answers ten-digit North American numbers written with separators itself (a data file of
    customers holds tens of thousands, at 0.1 ms each through phonenumbers): its answer must be the library's,
    for real numbers, the fictional 555-01xx, fillers, counting runs and exchanges opening with 0 or 1."""
    import random

    from clientguard.detect.validators import _NANP_WRITTEN, _phone_by_library

    rng = random.Random(20261128)
    shapes = ["({a}) {e}-{n}", "{a}-{e}-{n}", "{a}.{e}.{n}", "{a} {e} {n}", "({a}){e}-{n}", "{a}{e}{n}",
              "({a}) {e}.{n}", "{a}-{e}{n}", "({a}{e}-{n}", "{a}) {e}-{n}"]
    specials = [("212", "555", "0187"), ("800", "555", "0100"), ("234", "567", "8901"), ("222", "222", "2222"),
                ("200", "000", "0000"), ("415", "012", "3456"), ("987", "654", "3210"), ("345", "678", "9012")]
    cases = []
    for _ in range(3000):
        a = str(rng.randint(200, 999))
        e = rng.choice([str(rng.randint(0, 999)).zfill(3), "555"])
        n = rng.choice([str(rng.randint(0, 9999)).zfill(4), "01" + str(rng.randint(0, 99)).zfill(2)])
        cases.append((a, e, n))
    answers = []
    for a, e, n in specials + cases:
        text = rng.choice(shapes).format(a=a, e=e, n=n)
        if not _NANP_WRITTEN.fullmatch(text):
            continue
        answer = VALIDATORS["phone"](text)
        assert answer == _phone_by_library(text, "US", False), text
        answers.append(answer)
    assert len(answers) > 2500 and True in answers and False in answers
    # The same numbers after the plan's country code (+1, or 001 dialled from abroad): phonenumbers parses them
    # with no region, and still answers for ten digits of the plan.
    international = []
    for a, e, n in specials + cases:
        shape = rng.choice(shapes)
        if not shape.startswith("{a}"):
            continue  # the area code in brackets after +1 is written "+1 (212) ...", below
        for lead in ("+1", "+1 ", "+1-", "001 "):
            text = lead + shape.format(a=a, e=e, n=n)
            assert VALIDATORS["phone"](text) == _phone_by_library("+" + text[2:] if text.startswith("00") else text,
                                                                  None, text.startswith("+")), text
            international.append(text)
        text = f"+1 ({a}) {e}-{n}"
        assert VALIDATORS["phone"](text) == _phone_by_library(text, None, True), text
    assert len(international) > 4000


@pytest.mark.parametrize("text", [
    "v+=(p^d&(s^p))+M[2]+606105819,v=(v<<17|v>>>15)+d<<0",  # an MD5's constants in minified code
    "CA\t+4439-06336\tAmerica/Halifax",  # the tz database's zone.tab: latitude and longitude
    "US\t+394606-0860929\tAmerica/Indiana/Indianapolis",
    "# Serial: 6643877497813316402",  # a CA bundle's certificate serial
    'AllocID:  "4321-1234-4321-1234",',  # groups counted up and down
    'openjdk version "17.0.4.1" 2022-08-12 LTS',
])
def test_coordinates_serials_versions_and_code_sums_are_not_personal_data(detector, text):
    assert [f for f in detector.scan(text) if f.kind == "pii"] == []


def test_numbers_near_coordinates_and_serials_are_still_personal_data(detector):
    assert VALIDATORS["phone"]("+44 20 7946 0958") and VALIDATORS["credit_card"]("4111-1111-1111-1111")
    assert VALIDATORS["phone"]("+3183-8859509")  # a Dutch number written with one dash: not a coordinate's shape
    assert {f.rule_id for f in detector.scan("call +4420 7946 0958 or card 4012 8888 8888 1881")} \
        >= {"phone-number", "payment-card-number"}
