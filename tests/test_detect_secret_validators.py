"""The validators of the secret rules tell a credential from the things that stand for one."""

from __future__ import annotations

import base64
import random

import pytest

from clientguard.detect.validators import VALIDATORS

private_key_block = VALIDATORS["private_key_block"]
url_password = VALIDATORS["url_password"]
generic_assigned_secret = VALIDATORS["generic_assigned_secret"]
generic_unquoted_secret = VALIDATORS["generic_unquoted_secret"]
generic_password = VALIDATORS["generic_password"]
basic_auth_credentials = VALIDATORS["basic_auth_credentials"]
bearer_token = VALIDATORS["bearer_token"]
jwt_token = VALIDATORS["jwt_token"]
token_body = VALIDATORS["token_body"]
base64_private_key = VALIDATORS["base64_private_key"]
mixed_case_random = VALIDATORS["mixed_case_random"]

BODY = "MIIEowIBAAKCAQEAFAKE0000ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn\nTEST/+9876543210zyxwvutsrqponmlk"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END RSA PRIVATE KEY-----"


def test_a_key_block_with_key_material_is_a_key():
    assert private_key_block(PEM)


@pytest.mark.parametrize("body", ["...", "x" * 64, "<paste your key here>", "A" * 64])
def test_a_key_block_without_key_material_is_not_a_key(body):
    assert not private_key_block(f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----")


def test_a_base64_encoded_key_block_is_decoded_and_checked():
    assert base64_private_key(base64.b64encode(PEM.encode()).decode())
    filler = "-----BEGIN PRIVATE KEY-----\n" + "x" * 64 + "\n-----END PRIVATE KEY-----"
    assert not base64_private_key(base64.b64encode(filler.encode()).decode())


@pytest.mark.parametrize("password", ["Tst0000Pw9q", "P@ss0000TEST$1", "r00t-0000-TEST", "mySecret789", "my_pass2024"])
def test_a_url_password_is_a_secret(password):
    assert url_password(password)


@pytest.mark.parametrize("password", ["${DB_PASSWORD}", "{password}", "%(pw)s", "<password>", "****", "postgres",
                                      "guest", "password", "xyz", "password>", "mysecret", "my_password", "AuthToken",
                                      "url.password", "your_password1", "LoremIpsum86", "wordpress",
                                      "user:password", "password:auth"])  # imap://auth:user:password@server
def test_templates_masks_defaults_and_short_url_passwords_are_not(password):
    assert not url_password(password)


@pytest.mark.parametrize("value", ["Xk9#mQ2$vL7pR4", "a8f5f167f44f4964e6c998dee8270000", "s7ndb0x", "s3cr3t-p4ss",
                                   "django-insecure-0000test8s9d7f6g5h4j3k2l1z", "NTxqRBrHWajcyAkhGUfpggblWognbHQD",
                                   "kDfGhJkLmNbVcXzAsQwErT"])
def test_a_literal_credential_is_a_generic_secret(value):
    assert generic_assigned_secret(value)


@pytest.mark.parametrize("value", ["@dm1n.2024!Kq", ".Kq8v.Tz2m!Wn"])
def test_an_at_sign_or_leading_dot_alone_does_not_make_a_value_code(value):
    assert generic_assigned_secret(value)


@pytest.mark.parametrize("value", [
    "refreshToken", "SecretStr", "_EllipticCurvePrivateKey", "REPLACE_ME", "prod-db-credentials", "auth.password.label",
    "application/json", "/etc/ssl/private/server.key", "https://acme.io/token", "1.2.3", "2024-01-31",
    "#d8dee9", "required|min:8", "test_password_123", "jjwt-jackson-0.11.2", "username:", "(?:key|pwd|token)",
    "${APP_SECRET}", "changeme", "xxxxxxxxxxxx", "hasPermissionToCreateApiKey", "isUpToDateOrNotChecked",
    "1/m/ip,1/m/key", "100/hour", "br,input,link,meta,!doctype,?xml,embed,?php,?,?=", "pbrtDoc", "-0x3f879678",
    "SECRETBASE32", "SECRET2FASEED", "base64:testing123testing123testing123testing123=",
    "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "mF_9.B5f-4.1JqM", "wekan-cards-sortBy", "{.data[", "/$file_pwd",
    "0x0102030405060708ULL", "appl_TESTfakeRevenueCatKeyAbCdEf", "env(SUPABASE_AUTH_SMS_TWILIO_AUTH_TOKEN)",
    "hashedpassword", "not!hex", "not!valid!hex", "JBSWY3DPEHPK3PXP", "API-KEY-MOCK1023893INAPP",
    # a Razor view's calls after their @, and cookie or session key names with a leading dot
    "@Html.GetAntiforgeryToken()", "@string.Join(", ".Smart.CheckoutState", ".AspNetCore.Session",
    "somerandomvalue123489",  # a value that says what it is, in a plist example
    "passcode",  # LOCK_PASSCODE = "passcode": a preference's key, named as it is
    "wJalrXUtnFEMI",  # AWS's documented example secret key, cut short
    "00112233445566778899AABBCCDDEEFF112233445566",  # each byte a hex digit twice: an example key
    "_sf2_attributes", "_sf2_meta", "oauth2TokenSql",  # names with a digit in them: a storage key, a variable
    # Azurite's published account key, in a connection string a generic rule reads
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "$encrypted$foo",  # AWX's mask of a secret field, in its tests
    "smithy.api#httpBearerAuth", "com.acme.auth.TokenStore#refresh",  # a Smithy shape's ID, a Javadoc reference
    "Database:SelfHostPassword", "GlobalSettings:Mail:SmtpPassword",  # .NET configuration paths
    "en_001", "sr_Latn_BA", "pt-BR",  # locales (Symfony's parents.json maps "en_PW" to en_001)
    "urn:k8s:secret:oidc:redisPass",  # where the secret is kept (Traefik's docs)
    "mynewcert.pfx",  # a file's name, not letters drawn at random
    "$password$key",  # two shell variables run together
    "@config.password@",  # filled in by Maven's resource filtering at build time
])
def test_names_words_paths_and_placeholders_are_not_generic_secrets(value):
    assert not generic_assigned_secret(value)


def test_unquoted_values_must_look_random_not_like_a_name():
    assert generic_unquoted_secret("7f0000TEST3a9c2b1d")
    assert not generic_unquoted_secret("token_value2")
    assert not generic_unquoted_secret("password1")
    assert not generic_unquoted_secret("tokens[0]")


@pytest.mark.parametrize("value", [
    "self::$nullToken", "static::$apiToken",  # a PHP class's static property
    "elem?elem.innerText:null", "pw<0?0:pw", "t?t.token:void",  # minified conditionals on one variable
])
def test_code_where_an_unquoted_value_would_be_is_not_a_secret(value):
    assert not generic_unquoted_secret(value)


@pytest.mark.parametrize("value", ["Xk9?mQ2:vL7p", "Tok3n0000?ab:cd", "Qw8e?Rt5y.Ui:Op3"])
def test_a_random_value_with_a_question_mark_and_a_colon_is_still_a_secret(value):
    assert generic_unquoted_secret(value)


def test_a_base64_pem_block_is_a_key_only_when_it_holds_one():
    random_key_value = VALIDATORS["random_key_value"]
    armour = "-----BEGIN PRIVATE KEY-----\n{}-----END PRIVATE KEY-----\n"
    assert not random_key_value(base64.b64encode(armour.format("").encode()).decode())  # Traefik's fixtures
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7TEST0000\n"
    assert random_key_value(base64.b64encode(armour.format(body).encode()).decode())


def test_a_password_that_reads_like_a_locale_is_still_one():
    assert generic_password("fti-110")  # a language's letters and a number, but no area CLDR names


def test_a_version_inside_a_camel_case_name_is_a_name():
    assert not generic_unquoted_secret("hasV2UpgradeToken")


def test_a_generated_password_is_not_minified_code():
    symbol_rich_secret = VALIDATORS["symbol_rich_secret"]
    assert symbol_rich_secret("9`Q'}/TEST)T;W\\0]Zk0000;_&k>qX??]G&3CF=;@vy")
    assert not symbol_rich_secret('I",elements:[{type:"vbox",padding:0,children:[{type:"hbox",widths:["280px')


@pytest.mark.parametrize(("value", "expected"), [
    ("acme_0000test9f3c0a17b2e84d65e0f1", True),    # an issuer's prefix, then a random body
    ("live_test0000x1ib9sdxm9ea61kvtpp5", True),
    ("user_profile_cache_entry_2", False),          # snake_case words
    ("test_abc123def456ghi789", False),             # counting, a letter run and a digit run at a time
    ("acme_abcdef1234567890abcdef12345678", False),  # a counting filler
    ("bogus_secret_a8b3afe691c933c1", False),       # says it stands in for one
])
def test_a_prefixed_random_token_is_not_read_as_a_snake_case_name(value, expected):
    assert generic_unquoted_secret(value) is expected


def test_the_entropy_floor_for_random_values_follows_their_length_and_alphabet():
    import random
    import string

    from clientguard.detect.validators import shannon_entropy
    from clientguard.detect.validators_secrets import _random_entropy_floor

    rng = random.Random(26)
    for alphabet in ("0123456789abcdef", string.ascii_lowercase + string.digits, string.ascii_letters + string.digits):
        for n in (16, 24, 32, 48):
            values = ["".join(rng.choice(alphabet) for _ in range(n)) for _ in range(400)]
            kept = sum(shannon_entropy(v) >= _random_entropy_floor(v) for v in values)
            assert kept >= 390, (alphabet, n, kept)  # about one in a thousand random values falls below
    assert shannon_entropy("0a0a0a0a0b0b0b0b0c0c0c0c0d0d0d0d") < _random_entropy_floor("0a0a0a0a0b0b0b0b0c0c0c0c0d0d0d0d")


def test_a_sealed_secret_s_ciphertext_is_not_a_secret():
    # kubeseal's output: the encrypted session key's length (512 bytes for a 4096-bit cluster key, 256 for 2048),
    # that key, then the value encrypted with it; made to be committed
    assert not generic_unquoted_secret("AgA" + "Xk9mTEST0000pL7q" * 45)
    assert not generic_assigned_secret("AQA" + "Xk9mTEST0000pL7q" * 24)
    assert generic_unquoted_secret("BgA" + "Xk9mTEST0000pL7q" * 45)  # no such header: a long token
    assert generic_unquoted_secret("AgA" + "Xk9mTEST0000pL7q" * 20)  # too short to hold a 512-byte key


def test_a_quoted_password_may_be_a_plain_word_but_not_a_field_word():
    assert generic_password("rootpasswd")
    assert not generic_password("required")
    assert not generic_password("password")
    assert not generic_password("function")  # pw:"function"==typeof n, in minified code
    assert not generic_password("superlongpasswordthatnoonewillknow")  # a sentence naming itself
    assert generic_password("correcthorsebatterystaple")  # plain words that do not


def test_basic_auth_credentials_decode_to_user_and_real_password():
    assert basic_auth_credentials(base64.b64encode(b"ci:Tst0000Pw9q").decode())
    assert not basic_auth_credentials(base64.b64encode(b"user:password").decode())
    assert not basic_auth_credentials("realm")


def test_a_bearer_token_is_varied_and_not_a_header_name():
    assert bearer_token("0000TESTa1b2c3d4e5f6g7h8")
    assert not bearer_token("proxy-authorization")
    assert not bearer_token("YOUR_ACCESS_TOKEN")


def test_a_jwt_needs_a_json_header_or_payload_and_a_signature():
    header = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"sub":"FAKE-0000"}').rstrip(b"=").decode()
    assert jwt_token(f"{header}.{payload}.FAKEsignature00000000000000")
    assert jwt_token(f"eyJhbGciOieeeiIsInR5cCI6IkpXVCJ9.{payload}.FAKEsignature00000000000000")
    assert not jwt_token(f"{header}.{payload}.")
    assert not jwt_token("eyJabcdefghijk.eyJabcdefghijk.FAKEsignature00000000000000")


def test_a_base64_encoded_jwt_is_decoded_and_checked():
    jwt_base64 = VALIDATORS["jwt_base64"]
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"sub":"FAKE-0000"}').rstrip(b"=").decode()
    signed = f"{header}.{payload}.FAKEsignature00000000000000"
    assert jwt_base64(base64.b64encode(signed.encode()).decode())
    assert jwt_base64(base64.b64encode(signed.encode() + b"\n").decode())  # `echo` adds a line break
    assert not jwt_base64(base64.b64encode(f"{header}.{payload}.".encode()).decode())  # unsigned
    assert not jwt_base64(base64.b64encode(f"{header} is how a token begins".encode()).decode())
    assert not jwt_base64("ZXlK!!not-base64")


def test_a_run_of_one_character_is_a_mask_but_the_slashes_of_an_aws_session_token_are_not():
    token = VALIDATORS["token"]
    body = "gtD7fGUOv8fwNfBb0jXxUJR4QQAAabVVloZa" * 3  # clearly fake; only the shape matters here
    assert token("FwoGZXIvYXdzEJr//////////wEaD" + body)
    assert not token("FwoGZXIvYXdzEJrAAAAAAAAAAwEaD" + body)
    assert not token("ghp_" + "a" * 36)


def test_a_service_token_filler_is_not_a_token():
    assert token_body("dop_v1_" + "0123456789abcdef" * 4)
    assert not token_body("dop_v1_" + "0" * 64)
    assert not token_body("pul-" + "x" * 40)


def test_a_legacy_vault_token_must_mix_cases_and_digits():
    assert mixed_case_random("s.ZC9Ecf4M5gTEST0000sj0zAB")
    assert not mixed_case_random("s.makeKubeConfigController")
    assert not mixed_case_random("s.THISSTRINGISALLUPPERCASE")


@pytest.mark.parametrize("value", ["searchConfluenceUsingCql", "sumOfExposures", "get_user_by_name", "MAX_RETRY_COUNT"])
def test_context_token_rejects_program_identifiers(value: str) -> None:
    from clientguard.detect.validators_services import context_token

    assert not context_token(value)


@pytest.mark.parametrize("value", ["nP4kq9TzR2mWx7LbV3yHc8Js", "sl.B0000AAAAAAAAAAx9", "suTEST0000ABCD"])
def test_context_token_accepts_random_looking_tokens(value: str) -> None:
    from clientguard.detect.validators_services import context_token

    assert context_token(value)


@pytest.mark.parametrize("value, expected", [
    ("xdbS3djMqe", True),      # random mixed case, one digit
    ("kWNVC4wLERLG1U", True),
    ("value2", False),         # a word and a counter: a reference or a placeholder
    ("pass1", False),
    ("dbPassword1", False),    # camelCase words
])
def test_unquoted_secret_with_one_digit_needs_random_mixed_case(value: str, expected: bool) -> None:
    assert VALIDATORS["generic_unquoted_secret"](value) is expected


@pytest.mark.parametrize("value", [
    "@token", "@old_request_forgery_protection_token", "@scanner.next_token", "Rack::RACK_SESSION",
    "ActionController::Base.request_forgery_protection_token", "$this->apiKey",
])
def test_unquoted_variable_and_constant_references_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_unquoted_secret"](value) is False


@pytest.mark.parametrize("value", ["$KAMAL_REGISTRY_PASSWORD", "--password", "492f...", "sk_live_4eC39H…"])
def test_env_names_flags_and_elided_values_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is False
    assert VALIDATORS["generic_unquoted_secret"](value) is False


def test_a_trailing_full_stop_is_not_part_of_an_unquoted_value() -> None:
    assert VALIDATORS["generic_unquoted_secret"]("active_record_encryption.") is False
    assert VALIDATORS["generic_unquoted_secret"]("kWNVC4wLERLG1U.") is True


@pytest.mark.parametrize("value", [
    "%TestSourcePassword%",                                              # a Windows environment variable
    "xoxp-572370529330-573807301142-572331691188-####################",  # masked
    "d2dc414f9953226bad0a356cXXXXYYYY",                                  # masked with X's (a setup guide's sample)
    "xoxp-1234567890",                                                   # a counted filler
])
def test_masked_counted_and_env_reference_values_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is False


@pytest.mark.parametrize("value", [
    "|CURSOR|",                          # a marker a template replaces
    "!UNDERSCORE!",
    "?$feed_credential",                 # a shell variable, after the ? that joins it to a URL
    "secret-A",                          # a test's labels for one value and the next
    "slot-B",
    "traceSystemPrompt:collapsed",       # a browser storage key's name
    "DirectoryV2Configuration",          # a type's name, as `private DirectoryV2Configuration directoryV2;` has it
    "DynamicE164ExperimentEnrollmentConfiguration",
])
def test_markers_storage_key_names_and_type_names_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is False
    assert VALIDATORS["random_key_value"](value) is False


@pytest.mark.parametrize("value", [
    "Kx9Lm2Qp7Rt4Vw8Yz3Ab6Cd0000",       # capitals, small letters and digits drawn at random
    "QmVhcmVyIFRva2VuIDEy0000TEST",      # base64 with capitals between digits
    "Ab3De5Gh7Jk9Mn2Pq4St6Vw8TEST0000",  # capital, small letters, a digit, again and again
])
def test_random_values_near_those_shapes_are_still_secrets(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is True
    assert VALIDATORS["random_key_value"](value) is True


@pytest.mark.parametrize("value", ["test-api-key-123", "secret-token-456", "dev_bearer_token_1"])
def test_a_header_value_of_words_naming_a_secret_is_a_stand_in(value: str) -> None:
    assert VALIDATORS["bearer_token"](value) is False


def test_constants_offered_as_alternatives_and_elided_values_are_not_secrets() -> None:
    assert VALIDATORS["generic_assigned_secret"]("API_KEY/ZENAPI_KEY/USERNAME:PASSWORD") is False
    assert VALIDATORS["generic_unquoted_secret"]("API_KEY/ZENAPI_KEY/USERNAME:PASSWORD") is False
    assert VALIDATORS["generic_unquoted_secret"]("AstraCS:..") is False  # the docs cut the token short
    assert VALIDATORS["generic_unquoted_secret"]("AstraCS:0000TESTkQpZrWvXnYbMcLdFgHj:8e5b1f27c9a4d6") is True


def test_a_real_looking_password_that_contains_a_counted_run_is_still_a_secret() -> None:
    assert VALIDATORS["generic_assigned_secret"]("Gx7!password12345678") is True


def test_abnf_repetition_in_a_grammar_comment_is_not_a_secret() -> None:
    assert VALIDATORS["generic_unquoted_secret"]("1*tchar") is False


def test_a_controller_action_route_is_not_a_secret() -> None:
    assert VALIDATORS["generic_assigned_secret"]("active_storage/disk#update") is False


@pytest.mark.parametrize("value", ["CancelToken$1", "CancelToken$2"])
def test_bundler_renamed_identifiers_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_unquoted_secret"](value) is False


@pytest.mark.parametrize("value", ["^5.0.1", "~1.2.3", ">=2.0.0", "==3.1.4"])
def test_version_ranges_of_packages_named_like_tokens_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is False


@pytest.mark.parametrize("value, expected", [("40.40.40.40", False), ("20.20.20.20", False), ("40.40.25.25", True),
                                             ("81.2.69.160", True)])
def test_one_octet_repeated_four_times_is_a_test_filler_not_an_address(value: str, expected: bool) -> None:
    assert VALIDATORS["ipv4_public"](value) is expected


@pytest.mark.parametrize("value", ["changethis", "change_this", "change-it"])
def test_change_this_placeholders_are_not_secrets(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is False


@pytest.mark.parametrize("value", ["yourWeak(!)Password", "YourPwdShouldBeLongAndSecure!", "your_api_key_goes_here"])
def test_values_that_tell_you_to_put_yours_there_are_placeholders(value: str) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is False
    assert VALIDATORS["url_password"](value) is False


def test_a_password_that_merely_starts_with_your_is_still_a_secret() -> None:
    assert VALIDATORS["generic_assigned_secret"]("yourself9Xq!vT2") is True


@pytest.mark.parametrize("value, expected", [
    ("lRDXTESTmQwZbPfKcFZj", True),   # random mixed case without digits: not camelCase
    ("parseHTTPResponse", False),     # camelCase words, acronyms included
    ("toJSON", False),
    ("innerHTML", False),
    ("xmlHttpRequest", False),
])
def test_random_mixed_case_letters_are_not_read_as_camel_case(value: str, expected: bool) -> None:
    assert VALIDATORS["generic_assigned_secret"](value) is expected


def test_an_empty_setting_does_not_lend_the_next_line_s_name_as_its_value():
    """Found scanning appwrite's .env: `BITBUCKET_CLIENT_SECRET=` left empty, and the context rule read on
    into the next line, taking `_APP_VCS_BITBUCKET_WEBHOOK_SECRET=` for the secret."""
    from clientguard.detect import Detector

    env = "_APP_VCS_BITBUCKET_CLIENT_ID=\n_APP_VCS_BITBUCKET_CLIENT_SECRET=\n_APP_VCS_BITBUCKET_WEBHOOK_SECRET=\n"
    assert [f for f in Detector.create().scan(env) if f.kind == "secret"] == []
    token = VALIDATORS["token"]
    assert not token("_APP_VCS_BITBUCKET_WEBHOOK_SECRET=")
    assert not token("STRIPE_WEBHOOK_SIGNING_SECRET")
    assert token("AKIAIOSFODNN7EXAMPLE")  # upper case and digits, no words between underscores
    assert token("Q2X9_7KF3_9ZP1_4M8T")  # digits as often as letters: drawn at random


@pytest.mark.parametrize("value", ["Access-Control-Allow-Credentials", "X-CSRF-Token", "Secret-", "api_key/"])
def test_header_names_and_prefixes_to_join_are_not_generic_secrets(value):
    """Found scanning appwrite: HEADER_ALLOW_CREDENTIALS = 'Access-Control-Allow-Credentials' and
    'secret' => 'Secret-' . ucfirst($key)."""
    assert not VALIDATORS["generic_assigned_secret"](value)


@pytest.mark.parametrize("value", ["Xy7-Kd9-Qw3", "C0rrect-H0rse", "s3cr3t-p4ss", "Summer2024!"])
def test_hyphenated_or_worded_passwords_with_digits_still_are(value):
    assert VALIDATORS["generic_assigned_secret"](value)


def test_a_make_pattern_is_not_an_unquoted_secret():
    """Found scanning supabase/auth's Makefile: `release-%/auth: auth-%`."""
    assert not VALIDATORS["generic_unquoted_secret"]("auth-%")
    assert VALIDATORS["generic_unquoted_secret"]("p%40ssw0rdXY9z")  # percent-encoded, still a value


def test_names_with_ticket_numbers_null_conditional_chains_and_here_placeholders_are_not_secrets():
    """Found scanning bitwarden/server: DeviceAuthKey = "pm-27581-device-auth-key", resetPasswordKey =
    "2.reset-password-key", paymentIntentClientSecret = invoice?.ConfirmationSecret?.ClientSecret and a
    connection string's Password=SET_A_PASSWORD_HERE_123."""
    assert not VALIDATORS["generic_assigned_secret"]("pm-27581-device-auth-key")
    assert not VALIDATORS["generic_assigned_secret"]("2.reset-password-key")
    assert VALIDATORS["generic_assigned_secret"]("xk9-27581-qzv-wpl")  # not words
    assert not VALIDATORS["generic_unquoted_secret"]("invoice?.ConfirmationSecret?.ClientSecret")
    assert not VALIDATORS["url_password"]("SET_A_PASSWORD_HERE_123")
    assert VALIDATORS["url_password"]("S3cr3tPassw0rd!")


def test_schema_types_and_code_references_in_prose_are_not_secrets():
    """Found scanning saleor (GraphQL `token: String!`) and spree (`live pass: `Pricing::Context.from_order``)."""
    assert not VALIDATORS["generic_unquoted_secret"]("String!")
    assert not VALIDATORS["generic_unquoted_secret"]("[String!]!")
    assert VALIDATORS["generic_unquoted_secret"]("Xk9mQ2pL7vR4")  # capitalised, but random
    assert not VALIDATORS["generic_password"]("Pricing::Context.from_order")


def test_package_sources_url_tails_and_angle_bracket_placeholders_are_not_secrets():
    """Found scanning next-auth: "next-auth": "workspace:*", `Postgres: DATABASE_URL=postgres://nextauth:
    password@127.0.0.1:5432/...` (the URL rules judge a URL's password) and SECRET="<Client secret value>"."""
    assert not VALIDATORS["generic_assigned_secret"]("workspace:*")
    assert not VALIDATORS["generic_assigned_secret"]("npm:string-width@^4.2.0")
    assert not VALIDATORS["generic_unquoted_secret"]("password@127.0.0.1:5432/nextauth?synchronize=true")
    assert not VALIDATORS["generic_unquoted_secret"]("<Client")
    assert VALIDATORS["generic_unquoted_secret"]("Xk9mQ2pL7vR4")


def test_a_css_custom_property_named_ring_holds_no_phone_number():
    """Found scanning next-auth: `--ring: 212.7 26.8% 83.9%;` (a colour); "ring" is Norwegian for "call"."""
    from clientguard.detect import Detector

    det = Detector.create()
    assert [f for f in det.scan("    --ring: 212.7 26.8% 83.9%;") if f.kind == "pii"] == []
    assert [f.rule_id for f in det.scan("phone: 030 901820")] == ["phone-number-national"]  # context still works


def test_a_command_line_flag_with_its_equals_sign_is_not_a_password():
    """Found scanning laravel/framework: 'password' => '--password='.$connection['password']."""
    assert not VALIDATORS["generic_password"]("--password=")
    assert VALIDATORS["generic_password"]("-Xk9mQ2pL7vR4")


@pytest.mark.parametrize("value", ["password123", "newpassword456", "wrongpassword", "somepassword", "secret123",
                                   "token1", "MyPassword123!", "test_password_1"])
def test_values_that_only_name_what_they_stand_for_are_not_secrets(value):
    """Found across saleor, spree, supabase/auth and appwrite's tests: the value says it is a password."""
    assert not VALIDATORS["generic_password"](value)
    assert not VALIDATORS["generic_assigned_secret"](value)


@pytest.mark.parametrize("value", ["rootpasswd", "sunshine", "ncc-1701", "V@nt@Compl2024#", "passw0rdXY9z"])
def test_weak_but_chosen_passwords_still_are(value):
    assert VALIDATORS["generic_password"](value)


def test_private_fields_mount_specs_and_more_self_named_values_are_not_secrets():
    """Found scanning bitwarden/server (user.PrivateKey = _v1PrivateKey; ResetPasswordKey =
    "resetpasswordkey1"; device.PushToken = "push-token-" + id) and OWASP/wrongsecrets
    (docker build --secret id=mysecret,env=SECRET_VALUE)."""
    unquoted, quoted = VALIDATORS["generic_unquoted_secret"], VALIDATORS["generic_assigned_secret"]
    assert not unquoted("_v1PrivateKey")
    assert not unquoted("_mockEncryptedType7String")
    assert not unquoted("id=mysecret,env=SECRET_VALUE")
    assert unquoted("_aB3xK9pQ7zL2")  # a random value may start with an underscore
    assert not quoted("resetpasswordkey1")
    assert not quoted("push-token-")
    assert not quoted("clientsecret")
    assert quoted("tokenizer2020x9Q")


def test_keys_made_to_be_public_are_not_generic_secrets():
    """Found scanning mem0: POSTHOG_API_KEY = "phc_..." (a project key meant for front ends)."""
    assert not VALIDATORS["generic_assigned_secret"]("phc_TEST0000abcdEFGHijklMNOPqrstUVWXyz0123456")
    assert not VALIDATORS["generic_assigned_secret"]("pk_live_TEST0000abcdEFGHijklMNOPqrst")
    assert VALIDATORS["generic_assigned_secret"]("sk_TEST0000abcdEFGHijklMNOPqrst9x")


def test_translated_labels_file_references_and_counting_fillers_are_not_secrets():
    """Found scanning jenkinsci/jenkins (Password=Пароль in a translation, -secret @secret-file) and
    prometheus (s.sendV2SamplesWithBackoff(...) read as a Vault token). Interleaved counting fillers
    (A1B2C3D4E5F6...) are still reported: labelled sets count them as secrets."""
    assert not VALIDATORS["generic_unquoted_secret"]("Пароль")
    assert not VALIDATORS["generic_unquoted_secret"]("Lösenord")
    assert not VALIDATORS["generic_unquoted_secret"]("@secret-file")
    assert VALIDATORS["generic_assigned_secret"]("Q2X97KF39ZP14M8T")
    assert not VALIDATORS["mixed_case_random"]("sendV2SamplesWithBackoff")
    assert VALIDATORS["mixed_case_random"]("ZC9Ecf4M5gTEST0000sj0zAB")


def test_types_commands_constraints_translations_and_encoded_stand_ins_are_not_secrets():
    """Found scanning Alamofire and okhttp (Swift/Kotlin optional types), bitnami/charts (base64 of
    "test-api-key", an image tag, newRootPassword123, USERNAME:PERSONAL_ACCESS_TOKEN in URLs, $(<FILE)),
    monica and firefly-iii (composer constraints, translated 'password' labels, admin123, code joining
    strings, minified comparisons), spring-boot (username:password and customUser:customPass in docker
    configs, password2 in URLs) and documenso (openssl's env:VAR)."""
    unquoted, quoted, password = generic_unquoted_secret, generic_assigned_secret, generic_password
    assert not unquoted("URLCredential?")
    assert not unquoted("-Overview")
    assert not unquoted("1.124.0-debian-12-r0")
    assert not unquoted("process.platform===")
    assert not unquoted("env:TEST_CERT_PASS")
    assert not unquoted(base64.b64encode(b"test-api-key\n").decode())
    assert not quoted(base64.b64encode(b"username:password").decode())
    assert not basic_auth_credentials(base64.b64encode(b"customUser:customPass").decode())
    assert not basic_auth_credentials(base64.b64encode(b"testuser:testpass123").decode())
    assert not quoted("^10.48.4|^11.0.8|^12.0")
    assert not quoted("$(<TEST_ADMIN_TOKEN_FILE)")
    assert not quoted(".config(")
    assert not quoted("+t.token+")
    assert not quoted("([a-zA-Z0-9-!#$%&")
    assert not quoted("このパスワード再設定トークンは無効です。")
    assert not quoted("abc123def456")
    for value in ("Palavra-passe", "wachtwoord", "adgangskode", "newReplicationPassword123", "Test124!",
                  "test123456", "credentials"):
        assert not password(value), value
    assert not url_password("PERSONAL_ACCESS_TOKEN")
    assert not url_password("password2")
    assert not url_password("randompassword")
    assert not unquoted("SomeRandomStringOf32CharsExactly")
    # Still secrets: random values, base64 of a random password, and what labelled sets count.
    assert basic_auth_credentials(base64.b64encode(b"user:Xk9mQ2vL7pR4TEST").decode())
    assert quoted(base64.b64encode(b"Jm5AJKtlW2TEST").decode())
    assert url_password("testpassword") and url_password("pass456")
    assert password("rootpasswd") and password("topsecret1x")
    # The weak passwords real systems are left with stay reported (the gateway replaces them at no cost).
    assert password("admin123") and password("root1234") and quoted("admin123")
    assert quoted("Xk9#mQ2$vL7pR4")


def test_labels_of_language_files_are_not_secrets():
    quoted, password = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_password"]
    for value in ("Passwort*", "Пароль*", "Parol*", "Password*", "Senha:", "Cyfrinair*", "API-Schlüssel",
                  "API-sleutel", "API-ключ", "Brevo-API-Schlüssel", "请在管理面板中配置PayU商户密钥和Salt。",
                  "សូម​បញ្ចូល​ពាក្យ​សម្ងាត់​។"):
        assert not quoted(value), value
        assert not password(value), value
    # Random values with a letter beyond ASCII, or words with digits, are still secrets.
    assert quoted("Xk9#mQ2$vL7pR4ü") and quoted("Kx9-m2Q7-vL4p")


def test_counted_fillers_jwt_headers_keys_and_accounts_are_not_secrets():
    quoted, unquoted = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_unquoted_secret"]
    for value in ("def456", "ghi789", "xyz456", "0123456789ABCDEFGH", "userOne-token", "adminUser_secret",
                  "some!Password", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "fields:showPassword",
                  "dev@acme-cms.test.io", "OAuth2.0"):
        assert not quoted(value), value
    assert not unquoted(".*/DB_PASSWORD=shopdb/")
    assert not unquoted("++updateTokenRef.current")
    # A token that starts like a JWT but carries a payload and signature is judged as before.
    assert quoted("dEf4x56Gh9TESTq")
    assert quoted("eyJ0000TESTzI1NiJ9x")


def test_a_cache_key_with_a_content_digest_is_not_a_random_key():
    random_key_value = VALIDATORS["random_key_value"]
    assert not random_key_value("Linux-node-0000aaaa1111bbbb2222cccc3333dddd4444eeee")
    assert not random_key_value("macOS-pip-deps-" + "0a1b" * 16)
    assert random_key_value("f7b3cb83a7fdb915a71ce17ab0000test")


def test_a_random_hex_key_is_random_though_under_the_fixed_entropy_floor():
    # 32 random hex digits have 3.3 to 3.9 bits/char: below 3.5 for many of them
    random_key_value = VALIDATORS["random_key_value"]
    assert random_key_value("47c8865481842ff8ce3f8655c6aa0000")
    assert random_key_value("b1bc3b3cd352f68d0000")
    assert random_key_value("0e8e82565579af1f261e0000a4424e12")
    assert not random_key_value("0a0a0a0a0b0b0b0b0c0c0c0c0d0d0d0d")


def test_a_random_mixed_case_key_may_have_fewer_than_three_digits():
    random_key_value = VALIDATORS["random_key_value"]
    assert random_key_value("XvqNiQQhxWTcDgNPD3VgTESTDgJzqRvZQ")        # one digit, letters of both cases at random
    assert not random_key_value("XvqNiQQhxWTcDgNPDVgTESTDgJzqRvZQ")     # no digit at all
    assert not random_key_value("SomeRandomStringOf32CharsExactly")      # words
    assert not random_key_value("CDjXqf7AJBXWhMczcy+Fs7JlACEptgceysutTESTFQI=")  # 32 bytes: a Curve25519 public key


def test_minified_code_is_not_a_connection_string_password():
    url_password = VALIDATORS["url_password"]
    assert not url_password("this.base.password")
    assert not url_password("t}prepareRequest(e){if(!e.headers){throw")
    assert url_password("Tst0000Pw9q") and url_password("Qx0000TEST}z(9)")


def test_a_css_selector_is_not_an_api_key():
    assert not VALIDATORS["bearer_token"](".auth-fields__changing-password")
    assert VALIDATORS["bearer_token"]("0000TESTa1b2c3d4e5f6g7h8")


def test_a_provider_prefix_before_stand_in_words_or_a_counter_is_not_a_secret():
    quoted, password = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_password"]
    assert quoted("ncc-1701") and password("ncc-1701")  # a counter that does not count is a chosen password
    for value in ("AIzaSyD-test-api-key-123", "AIzaSyD-new-api-key", "whsec_123", "vercel_blob_rw_TEST_asdf",
                  "abc=def=ghi", "testUser@1234", "p@ssword"):
        assert not quoted(value), value
        assert not password(value), value
    assert not VALIDATORS["url_password"]("p%40ssword")
    # Provider prefixes before random text are still keys.
    assert quoted("sk_live_0000TESTa1B2c3D4e5F6") and quoted("whsec_0000TESTq9Xk2LmP7v")
    assert VALIDATORS["url_password"]("Qx0000%40TESTz9")


def test_encoded_certificates_variables_and_generated_names_are_not_secrets():
    quoted, unquoted = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_unquoted_secret"]
    random_key_value = VALIDATORS["random_key_value"]
    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANTEST0000\n").decode()
    assert not quoted(cert)  # EKS's cluster_auth_base64: a certificate is public however it is encoded
    assert not quoted(base64.b64encode(b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHTEST0000\n").decode())
    key = base64.b64encode(b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFAKE0000TEST\n").decode()
    assert quoted(key) and unquoted(key)  # a private key, encoded, is still one
    assert not unquoted("newMD5Password") and not unquoted("oldSHA256Secret")  # variables, not values
    assert unquoted("xdbS3djMqe")
    assert not unquoted("gs_service_key_file=$GOOGLE_APPLICATION_CREDENTIALS")
    assert not unquoted("Zm9vYmFy") and not unquoted("Zm9vYmFyX25ldw==")  # "foobar", "foobar_new"
    assert not random_key_value("layout_627194c5313e0") and not random_key_value("layout_627194c5313e0-update")
    assert not random_key_value("bmF2X21lbnVfaXRlbTo2Mjk=")  # nav_menu_item:629, a GraphQL global ID
    assert random_key_value("mlh0000test96mx0r2cxbzky4jzr83fw1q")
    point = base64.urlsafe_b64encode(b"\x04" + b"TEST0000" * 8).decode()  # a VAPID public key's shape
    assert not random_key_value(point) and not random_key_value(point.rstrip("="))
    assert random_key_value(base64.urlsafe_b64encode(b"\x05" + b"TEST0000" * 8).decode())


def test_framework_parameters_scopes_header_lists_and_fingerprints_are_not_secrets():
    quoted, unquoted = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_unquoted_secret"]
    for value in ("%kernel.secret%", "%env(APP_SECRET)%", "%env(resolve:DATABASE_URL)%"):  # Symfony parameters
        assert not quoted(value) and not unquoted(value), value
    assert not quoted("markup.heading.1") and not quoted("constant.numeric.2")  # an editor's highlight scopes
    assert quoted("s3cr3t.p4ss.0000TEST")
    assert not quoted("not-a-secret--see-the-docs!") and not unquoted("not_a_secret_TEST0000")
    assert not VALIDATORS["bearer_token"]("X-Amz-Security-Token")  # the next name in a list of header names
    assert VALIDATORS["bearer_token"]("0000TESTa1b2c3d4e5f6g7h8")
    random_key_value = VALIDATORS["random_key_value"]
    assert not random_key_value("0000FEED17FAAC97907FF8EF2E54EA7BFE630000")  # an OpenPGP fingerprint
    assert random_key_value("mlh0000test96mx0r2cxbzky4jzr83fw1q")


def test_version_ranges_abap_expressions_config_names_and_named_values_are_not_secrets():
    quoted, unquoted = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_unquoted_secret"]
    assert not quoted(">=0.7.0,<1.0.0") and not quoted(">=1.2, !=1.3.0")  # poetry.lock: tiktoken = "..."
    assert not quoted("secret1value") and not quoted("token_value")  # a value that names itself
    assert not unquoted("lv_auth+6.") and not quoted("offset+12")  # ABAP's offset into a field
    assert not unquoted("my-infra-project:githubSecret")  # pulumi config set --secret project:key
    assert not VALIDATORS["bearer_token"]("ls_auth-authorization.")  # an ABAP structure's component
    assert quoted("Qx0000+TESTz9") and unquoted("k3y0000TESTvalue")


def test_random_parts_are_not_read_as_references_or_paths():
    quoted, unquoted = VALIDATORS["generic_assigned_secret"], VALIDATORS["generic_unquoted_secret"]
    # a token with a dot or a slash in it has the shape of a reference or a path, its random part says otherwise
    assert quoted("hvb.TEST0000aCkOSgsZ56uhGlTK2zyC1j2mwhy") and unquoted("hvb.TEST0000aCkOSgsZ56uhGlTK2zyC1j2mwhy")
    assert quoted("xapp-000000000000-TESTwge/87H4lC3j7lZ48pAL")
    for value in ("TestEncryptionConstants.AES256_CBC_HMAC_Encstring", "settings.API_KEY_V2", "window.__NEXT_DATA__.props",
                  "config/credentials/Production2024Key.yml", "src/auth/TokenProvider2", "k8s/secrets/db-pass",
                  "rust_openssl.hpke.MLKEM768X25519PrivateKey"):
        assert not quoted(value) and not unquoted(value), value


def test_a_jwt_without_its_signature_is_not_a_secret():
    quoted = VALIDATORS["generic_assigned_secret"]
    header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(b'{"sub":"TEST0000","scope":"read"}').decode().rstrip("=")
    assert not quoted(f"{header}.{payload}")
    assert quoted(f"{header}.{payload}.")  # an unsecured JWT (alg "none") is complete, and servers may take it
    assert quoted(f"{header}.e30.TEST0000A1JJJW8opB1Qfp7QDnH0sWd2N_gy0lsVOKiQ")  # signed, empty claims


def test_a_damaged_byte_in_a_base64_key_block_leaves_it_a_key():
    damaged = base64.b64encode(PEM.replace("TEST/+", "TEST\xa1/+").encode("latin-1")).decode()
    assert base64_private_key(damaged)


def test_a_word_with_symbols_after_it_is_a_password_but_not_a_name():
    assert generic_password("Prestidigit$") and generic_password("sunshinetest@#")
    for value in ("Password$", "currentUser$", "Changeme$", "isAdminUser$", "Token$"):
        assert not generic_password(value), value


def test_symbol_rich_secrets_are_generated_values_not_code_or_patterns():
    symbol_rich = VALIDATORS["symbol_rich_secret"]
    assert symbol_rich("9`Q'}/TEST)T;W\\0]Zk0000;_&k>qX??]G&3CF=;@vy")
    for value in ("([a-zA-Z0-9-!#$%&'*+.^_`{|}~]+)", "${lookup('env','APP_SECRET_VALUE')}", "0000TEST-a1b2c3d4e5f6a7b8c9d0",
                  "function(e){return'x'+e.length}", "p\"ab'cd"):
        assert not symbol_rich(value), value


def test_a_password_a_sentence_gives_for_a_named_user_may_be_a_short_word():
    prose = VALIDATORS["prose_password"]
    assert prose("kiwi") and prose("Tst0")
    for value in ("admin", "empty", "required", "{password}", "$PASSWORD", "xxxx"):
        assert not prose(value), value


def _multibase(raw: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return "z" + out


def test_a_public_key_in_multibase_is_not_a_random_key():
    random_key_value = VALIDATORS["random_key_value"]
    # did:key:zQ3sh... (secp256k1), zDnae... (P-256), z6Mk... (Ed25519): public keys with their multicodec type
    for prefix in (b"\xe7\x01\x02", b"\x80\x24\x03", b"\xed\x01"):
        assert not random_key_value(_multibase(prefix + b"TEST0000" * 4)), prefix
    # the same encoding of a private key (ed25519-priv, p256-priv) is still a secret
    for prefix in (b"\x80\x26", b"\x86\x26"):
        assert random_key_value(_multibase(prefix + b"TEST0000" * 4)), prefix


def test_code_where_an_unquoted_value_would_be_is_not_a_secret():
    # non-null assertions (TypeScript, Swift), a generic type's opening, declared types with digits in their names
    for value in ("process.env.WEBHOOK_SECRET!", "passwordTextField.text!", "rotated.refreshToken!", "z.infer<",
                  "ctx.authVerifier.authorization<", "Secp256k1Keypair", "Uint8Array", "Ed25519Signer"):
        assert not generic_unquoted_secret(value), value
    for value in ("xdbS3djMqe", "Kx9Lmq2ZrTw8Pa0000TEST", "Tr0ub4dor0000TEST!"):
        assert generic_unquoted_secret(value), value


def test_stand_ins_that_name_themselves_or_describe_the_secret_are_not_secrets():
    quoted, unquoted = generic_assigned_secret, generic_unquoted_secret
    for value in ("hunter2", "hunter42", "asdf1234", "qwerty123", "newpassxx", "session123", "56789secret", "s3cr3t55",
                  "myrootpassword", "myappdbpassword", "TheSecretKeyObtainedFromS3", "AuthKeyOfDoomThatMustBeAMinimumLength",
                  "didPurgeImageCachesForResizing-2026-03-30", ":secret"):
        assert not quoted(value) and not generic_password(value), value
    assert not unquoted("56789secret") and not unquoted("TheSecretKeyObtainedFromS3")
    # chosen weak passwords and random values of the same lengths are still passwords
    for value in ("Pass@word1", "admin123", "Xk9mQ2vL7pR4TEST", "s7ndb0x", "Secr3tValue", "hunt3rZ0000TEST"):
        assert quoted(value), value
    assert generic_password("bratwurst")


def test_base64_of_a_stand_in_sentence_or_of_default_json_credentials_is_not_a_secret():
    quoted, unquoted = generic_assigned_secret, generic_unquoted_secret
    sentence = base64.b64encode(b"my-secret-key-which-should-be-changed-and-be-base64-encoded\n").decode()
    assert not quoted(sentence) and not unquoted(sentence)
    defaults = base64.b64encode(b'{"UserID":"defaultUser","Password":"defaultPassword"}').decode()
    assert not quoted(defaults)
    real = base64.b64encode(b'{"UserID":"svc","Password":"Xk9mQ2vL7pR40000TEST"}').decode()
    assert quoted(real)


def test_translated_secret_labels_and_url_password_conventions_are_not_secrets():
    quoted = generic_assigned_secret
    for value in ("Palavra-chave", "OAuth-klienthemmelighed", "Client-Geheimnis"):
        assert not quoted(value) and not generic_unquoted_secret(value), value
    assert quoted("Sekret0000TESTxy9")
    # https://TOKEN:x-oauth-basic@github.com, user[:password]@host, mysql://benutzer:passwort@host
    for value in ("x-oauth-basic", "x-access-token", "unused", "password]", "passwort]", "contraseña]", "passwort",
                  "kata_sandi"):
        assert not url_password(value), value
    assert url_password("sVn0000TESTqE") and url_password("Pw0000TEST]x")
    context_token = VALIDATORS["context_token"]
    assert not context_token("dropboxoauthkey") and context_token("a1b2c3d4e5f6g7h")


def test_names_with_retronyms_query_strings_and_refused_passwords_are_not_secrets():
    quoted = generic_assigned_secret
    # e2e, k8s, s3 are words of a name (NEXTAUTH_SECRET: "e2e-test-secret-at-least-32-chars-long" in a CI file)
    for value in ("e2e-test-secret-at-least-32-chars-long", "cs_test_e2e_redirect", "k8s-staging-s3-bucket",
                  "itscg=10000&itsct=apl_hp-stream_now--220622"):
        assert not quoted(value), value
    # random parts between separators, a real UUID under a token's name, a name with a random tail still are
    for value in ("live_a1b2c3d4e5f6g7h8", "k8s-prod-deploy-key-a9f3", "0000feed-572a-4559-9081-b41e3bc2test"[:-4] + "0000",
                  "sk_test_4eC39HqLyjWDar0000TEST"):
        assert quoted(value), value
    assert not url_password("wrong") and not url_password("Expired") and url_password("Wr0ng0000TEST")


def test_query_strings_of_plain_values_and_host_names_are_not_secrets_but_a_signature_is():
    """Found scanning terragrunt (SasToken: "sv=2023-01-01&sig=x", authKey: "registry-1.docker.io")."""
    quoted = generic_assigned_secret
    for value in ("?sv=2023-01-01&sig=x", "sv=test", "registry-1.docker.io", "api.eu.example-host.io"):
        assert not quoted(value), value
    # a SAS token's signature, a token parameter and a dotted random token are still secrets
    for value in ("sv=2021-06-08&ss=b&sp=rl&sig=abcd0000testxyzw", "token=x9f0000test7k2q",
                  "hvb.TEST0000aCkOSgsZ56uhGlTK2zyC1j2mwhy"):
        assert quoted(value), value


def test_a_translated_message_with_a_number_a_wrapped_mask_and_symfony_s_debug_token_are_not_secrets():
    """Found scanning mealie (ja-JP.json: "パスワードは8文字以上にしてください") and wallabag
    ('password' => '**masked**'; X-Debug-Token: e01c51, the profiler's answer in its API docs)."""
    from clientguard.detect.engine import Detector

    for value in ("パスワードは8文字以上にしてください", "**masked**", "*REDACTED*"):
        assert not generic_password(value), value
        assert not generic_assigned_secret(value), value
    # a password with a few letters beyond ASCII, a masked word with a secret after it, are still secrets
    for value in ("Пароль0000TEST9x", "пароль2024", "**masked**Qx0000TEST"):
        assert generic_password(value), value
    det = Detector.create(fingerprint_key=b"k" * 32)
    for text in ("X-Debug-Token: e01c51\n", "x-debug-token: 19c8e0\n"):
        assert not [f for f in det.scan(text) if f.kind == "secret"], text
    for text in ("FIREBASE_APPCHECK_DEBUG_TOKEN=0000TEST-a1b2-4c3d-9e8f-000011112222\n",
                 "X-Auth-Token: Qx0000TESTz9k2Lm\n"):
        assert [f for f in det.scan(text) if f.kind == "secret"], text


def test_stand_ins_calls_entry_points_and_scopes_are_not_secrets():
    """Found scanning netbox (auth_key='foobar123', 'password': 'FooBar123'), moto (MasterUserPassword="hunter2_"),
    akaunting (:label="trans('auth.password.new')", 'required_if:change_password,true'), paperless-ngx
    ([password]="pdfPassword()"), dbt (var(--fgSyntaxStrings), --token $env:WINGET_PUBLISH_PAT, UNPAIRED_TOKEN:i32=451),
    localstack and certbot (Python entry points; X-Amz-Credential=...%2Faws4_request) and localstack's
    "secret": "123e4567-e89b-12d3-a456-426614174000", the example UUID."""
    for value in ("foobar123", "foo123", "bar456", "foobarbaz999", "fooBarFoo123", "foobar123abc", "FOOBAR123ABC",
                  "foosecret1", "hunter2_", "trans(", "pdfPassword()", "required_if:change_password,true",
                  "var(--fgSyntaxStrings)", "certbot_dns_route53._internal.dns_route53:HiddenAuthenticator",
                  "123e4567-e89b-12d3-a456-426614174000"):
        assert not generic_password(value), value
        assert not generic_assigned_secret(value), value
    for value in ("$env:WINGET_PUBLISH_PAT", "i32=451", "u64=7",
                  "localstack.services.iam.resource_providers.aws_iam_accesskey_plugin:IAMAccessKeyProviderPlugin",
                  "__test_call__%2F20220513%2Fus-east-1%2Fsqs%2Faws4_request"):
        assert not VALIDATORS["generic_unquoted_secret"](value), value
    # chosen passwords around such words, random values with a colon or a call-like tail, are still secrets
    for value in ("foobar!Qx0000TEST", "Bar0000TESTq9#", "P2$Sword", "hunter2_Qx0000TEST", "Xk9(mQ2$vL7pR4)"):
        assert generic_password(value), value
    for value in ("i32=451Qx0000TESTz9", "Sx0000TEST:Qk9zL2mW7v"):
        assert VALIDATORS["generic_unquoted_secret"](value), value


def test_a_random_key_with_a_slash_is_not_a_type_name_for_a_chance_capitalised_pair():
    """A 40-odd character base64 key throws up two capitalised runs now and then (WvysFjf); only runs with a
    vowel in each part (PrivateKey) mark a type's name. The key is generated here, never a real one."""
    import random

    from clientguard.detect.validators import VALIDATORS

    rng = random.Random(8)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    head = "".join(rng.choice(alphabet) for _ in range(20)) + "WvysFjf" + "".join(rng.choice(alphabet) for _ in range(18))
    key = head + "/" + "".join(rng.choice(alphabet) for _ in range(5))
    assert VALIDATORS["generic_assigned_secret"](key)
    assert not VALIDATORS["generic_assigned_secret"]("rust_openssl.hpke.MLKEM768X25519PrivateKey")  # still a name


def test_validator_patterns_are_compiled_on_first_use_and_then_are_the_compiled_pattern_s_methods(monkeypatch):
    import re

    from clientguard.detect import validators

    compiled = []
    real = re.compile
    monkeypatch.setattr(validators.re, "compile", lambda *a: compiled.append(a) or real(*a))
    lazy = validators.lazy_re(r"(?i)ab(c+)", 0)
    assert compiled == []  # nothing compiled until used
    assert lazy.fullmatch("ABccc").group(1) == "ccc" and lazy.search("xxabc") and not lazy.match("xabc")
    assert lazy.sub("-", "abc abcc") == "- -" and [m.span() for m in lazy.finditer("abc abc")] == [(0, 3), (4, 7)]
    assert lazy.pattern == r"(?i)ab(c+)" and lazy.flags & re.IGNORECASE
    assert len(compiled) == 1  # once, whatever is used after
    with pytest.raises(AttributeError):
        lazy.no_such_method  # noqa: B018
    # Every validator pattern the modules define this way compiles (a bad one would fail only when used).
    from clientguard.detect import validators_secrets, validators_services

    for module in (validators, validators_secrets, validators_services):
        for name, value in vars(module).items():
            if isinstance(value, validators.LazyPattern):
                assert value.pattern, f"{module.__name__}.{name}"


# Seen on real repositories (fourteenth session: mautic, medusa, spree, ansible, hoppscotch, pocketbase): code and
# stand-ins that the generic rules took for values. Each shape is followed by credentials of a similar look that stay.
@pytest.mark.parametrize("value", [
    "{CODEMODEBLOCK", "{trackable=", "{dynamiccontent=", "[CDATA[",  # a template token cut where code joins it
    ".$this->auth.", ".$requestToken[", ".$this->keys[",  # PHP between two string literals
    "br,input,link,meta,source,!doctype,basefont", "Somewhere%26Else", "!important", "@medusajs/medusa/auth",
    "sk_a***yx", "sk_test_1234567890", "whsec_test_1234567890", "BECOME-SUCCESS-abcdefghijklmnopqrstuvxyz",
    "pi_3ABC_secret_xyz", "seti_ABC123_secret_xyz", "sk_abc123def456ghi789",
])
def test_code_around_quotes_and_filled_in_formats_are_not_generic_secrets(value):
    assert not generic_assigned_secret(value)


def _drawn(alphabet: str, n: int, seed: int) -> str:
    """A value drawn at random at test time (seeded), in a real token's alphabet: never a real token."""
    import random

    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@pytest.mark.parametrize("value", [
    "pi_3" + _drawn(_ALNUM, 24, 1) + "_secret_" + _drawn(_ALNUM, 25, 2), "sk_live_" + _drawn(_ALNUM, 24, 3),
    "whsec_" + _drawn("0123456789abcdef", 16, 4), _drawn(_ALNUM + "-_", 43, 5), _drawn(_ALNUM + "#$!%", 11, 6),
    "Tr0ub4dor&3",
])
def test_credentials_of_those_shapes_still_are(value):
    assert generic_assigned_secret(value) or generic_password(value)


@pytest.mark.parametrize("value", [
    "this.last_token=this.last_text=this.token_type=", "n.withCredentials?", "cart?.payment_collection?.",
    "currentUser$.value?.accessToken", "OAuth2Config", "oauth2Response", "isSecretBase64Encoded",
])
def test_minified_assignments_optional_chains_and_names_with_numbers_are_not_unquoted_secrets(value):
    assert not generic_unquoted_secret(value)


def test_names_with_numbers_are_told_from_random_mixed_case():
    import random
    import string

    from clientguard.detect import validators_secrets

    rng = random.Random(14)
    alphabet = string.ascii_letters + string.digits
    taken = sum(bool(validators_secrets._CAMEL_WITH_NUMBER.fullmatch("".join(rng.choice(alphabet) for _ in range(12))))
                for _ in range(20_000))
    assert taken < 40  # ~0.1% of random 12-character values have the shape of camelCase words with a number
    for value in ("xdbS3djMqe", _drawn(_ALNUM, 24, 7), _drawn(_ALNUM, 24, 8), "B0bP4ss0000TEST"):
        assert generic_unquoted_secret(value), value


@pytest.mark.parametrize("value", ["supersecret", "topsecret", "newsecurepassword", "plaintextpassword", "somehash",
                                   "incorrect", "whatever"])
def test_passwords_that_describe_themselves_are_stand_ins(value):
    assert not generic_password(value)


# A second batch (fourteenth session: formbricks, logto, rubygems.org, pterodactyl, halo, bookstack, photoprism).
@pytest.mark.parametrize("value", ["eyJhb...2g", "com.j256.two-factor-auth:two-factor-auth:1.3",
                                   "better-auth-secret-at-least-32-chars!!", "encrypted-2fa-secret",
                                   "integration-test-better-auth-secret-0123456789abcdef",
                                   "constraintName=CONSTRAINT_OFFL_CL_SES_PK2"])
def test_elided_values_coordinates_and_words_naming_a_secret_are_not_generic_secrets(value):
    assert not generic_assigned_secret(value)


@pytest.mark.parametrize("value", ["DisplayName>Email", "2fa_required", "@user.issue_password_reset!", "a.token+",
                                   "//totp/BookStack:admin%40admin.com"])
def test_markup_setting_names_ruby_bang_calls_and_joins_are_not_unquoted_secrets(value):
    assert not generic_unquoted_secret(value)


def test_a_short_base64_stand_in_and_a_filler_word_are_not_passwords():
    assert not generic_password("YWRtaW4=")  # base64 of "admin"
    assert not generic_password("irrelevant")


@pytest.mark.parametrize("value", ["m2mAuthorizationHeader", "eyJhbGciOiJFZERTQSJ9.invalid.signature",
                                   "fbk_validBearerKey123"])
def test_names_and_worded_stand_ins_are_not_bearer_tokens(value):
    assert not bearer_token(value)
    assert not token_body("fbk_validApiKeySecret123")


@pytest.mark.parametrize("value", [_drawn("0123456789abcdef", 64, 9), _drawn(_ALNUM, 32, 10),
                                   "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123DEF456ghiJKL"])
def test_bearer_tokens_of_those_shapes_still_are(value):
    assert bearer_token(value)


# A third batch (fourteenth session: snipe-it, pixelfed, kratos, dex, duplicati, lldap, FreshRSS).
@pytest.mark.parametrize("value", ["crwdns12312:0crwdne12312:0", "+String(y))}if(3!=i.biff&&v>=0&&-1==[",
                                   "_token-to-simulate-request-from-gui", "SettingsController@password", "Abcdef123456"])
def test_tool_placeholders_minified_code_and_routes_are_not_generic_secrets(value):
    assert not generic_assigned_secret(value)


@pytest.mark.parametrize("value", ["forgot-email:active-count:dur-", "IEndpointV1", "password+webauth_empty"])
def test_key_prefixes_interface_names_and_method_lists_are_not_unquoted_secrets(value):
    assert not generic_unquoted_secret(value)


def test_validation_rules_cut_at_a_quote_and_masked_url_passwords_are_not_passwords():
    assert not generic_password("confirmed|") and not generic_password("required|notIn:[")
    assert not generic_password("passwords")  # a Kubernetes resource's name
    assert not url_password("***PASSWORD***") and not url_password("\\backup")  # a mask; file://C:\backup
    assert generic_assigned_secret("Pass@word1") and generic_assigned_secret("P@ss&&w0rd(x)")  # still passwords


# A fourth batch (fourteenth session: atmos, firezone, kong, netdata).
@pytest.mark.parametrize("value", ["step-live-secret-8f14a2", "tf-disk-guard-SECRET-abc123xyz", "demo-key-ABCD1234EFGH5678",
                                   "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test.signature", "aaa.!!!notbase64!!!.sig",
                                   "value1", "wrong1", "NETDATA_CLAIM_ROOMS=room-1", "NGINX_PROXY_PROTOCOL_TLV_0X01",
                                   "v0.0.0-20161001094733-a6f4afe4910c", "atmos-gist/secrets/*", "--host=localhost"])
def test_test_stand_ins_settings_constants_and_versions_are_not_generic_secrets(value):
    assert not generic_assigned_secret(value)


@pytest.mark.parametrize("value", ["30..52", "^preshared_key", "FIREZONE_TOKEN:/etc/firezone/gateway-token"])
def test_ranges_pinned_variables_and_credential_paths_are_not_unquoted_secrets(value):
    assert not generic_unquoted_secret(value)


@pytest.mark.parametrize("value", ["prod-db-password-Xk9#mQ2$vL7p", _drawn(_ALNUM, 32, 11)])
def test_secrets_with_words_or_constants_nearby_still_are(value):
    assert generic_assigned_secret(value)
    assert not bearer_token("abcdef0123456789")


def test_base32_seeds_with_padding_and_passwords_opening_with_a_bracket_are_still_secrets():
    # The shapes left out above (NAME_WITH_UNDERSCORE=value, {TemplateName) must not swallow these.
    for value in ("JBSWY3DPEHPK3PXP====", "GEZDGNBVGY3TQOJQ====", "(Summer2024", "[Xk9#mQ2vL7"):
        assert generic_assigned_secret(value), value


def test_a_compiler_s_snake_case_message_keys_are_names_and_cost_no_backtracking():
    """The TypeScript compiler (bundled with Monaco in many web consoles) keys its messages by sentence:
    `Unterminated_string_literal_1002: diag(1002, ..., "Unterminated_string_literal_1002", ...)`. They were read as
    generic keys, and the package-version check split each 100-character key in exponentially many ways (0.4-0.9 s
    a value; 18 s for one 1.5 MB file). A regression runs into the suite's time-out."""
    words = ["The", "right", "hand", "side", "of", "an", "instanceof", "expression", "must", "be", "of", "type",
             "any", "or", "of", "a", "type", "assignable", "to", "the", "Function", "interface", "type"]
    keys = ["_".join(words[i % 5:] + [str(2000 + i)]) for i in range(40)]
    keys += ["Unterminated_string_literal_1002", "Identifier_expected_1003", "_0_modifier_already_seen_1030",
             "Trying_other_entries_in_rootDirs_6110", "Type_0_is_not_assignable_to_type_1_2322"]
    for key in keys:
        assert not VALIDATORS["random_key_value"](key), key
        assert not generic_assigned_secret(key), key
    from clientguard.detect import Detector

    det = Detector.create(fingerprint_key=b"k" * 32)
    text = "\n".join(f'{k}: diag({i}, 1, "{k}", "message"),' for i, k in enumerate(keys * 20))
    assert [f for f in det.scan(text) if f.kind == "secret"] == []
    for value in ("sk_live_" + _drawn(_ALNUM, 24, 12), "prod_db_" + _drawn(_ALNUM, 12, 13)):
        assert generic_assigned_secret(value), value  # underscores alone do not make a name


@pytest.mark.parametrize("value", [".tls.mutualAuth", "keyword.tag-$1", "data:,", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.",
                                   "br,input,link,meta,!doctype,basefont,?xml,embed"])
def test_property_suffixes_token_names_a_cut_data_url_and_a_bare_jwt_header_are_not_generic_secrets(value):
    assert not generic_assigned_secret(value)
    assert not generic_unquoted_secret("++avatarFetchToken")  # an increment of a variable


def test_the_letter_pair_table_is_a_log_probability_per_letter_and_word_edge():
    import json  # noqa: PLC0415
    import math  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import clientguard.detect.validators as validators  # noqa: PLC0415

    table = json.loads((Path(validators.__file__).with_name("letter_pairs.json")).read_text(encoding="utf-8"))
    assert table["rows"] == "^abcdefghijklmnopqrstuvwxyz" and table["columns"] == "abcdefghijklmnopqrstuvwxyz$"
    assert table["source"] and table["retrieved"]
    for row in table["logp"]:
        assert len(row) == 27 and abs(sum(math.exp(x) for x in row) - 1) < 0.05  # rounded to 0.01


def test_words_read_like_words_and_letters_drawn_at_random_do_not():
    import random  # noqa: PLC0415

    from clientguard.detect.validators import letter_pair_score  # noqa: PLC0415

    words = ["sunshine", "password", "kataras", "tigger", "geheimnis", "contraseña", "welcome", "postgres"]
    assert all(letter_pair_score(w) > -3.2 for w in words)
    rng = random.Random(7)
    drawn = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(6, 14))) for _ in range(400)]
    below = sum(letter_pair_score(d) < -3.6 for d in drawn)
    assert below > 300, below  # most; the rest happen to be pronounceable


@pytest.mark.parametrize("value", [
    "vpmlrq", "djabprxYdjpbbac", "xdlfjeh_znys", "ivmjnjdj", "qfzluf", "qaluj6tt",
    # a short part among nine letters or more, three digits, yy and no word after it, a long upper-case run
    "zq_fgagvioj", "jtofabzujf_az", "qhhuicxa-rq-pxvocre", "jubzhjk674-uhj", "yydgu_ucdh_bzj", "YMHVIBWLNXLBBVYMYB",
    # three alike in a row, among 16 letters or more (which chance gives one such value in 50 or more)
    "azpppazuffqzgyjo", "uajcinjujeqkqqugqmmqzyyiiifjpgfgpqjsbpcgifhq",
])
def test_a_password_of_letters_drawn_at_random_is_one(value):
    assert generic_password(value)


@pytest.mark.parametrize("value", [
    "sunshin", "dbpwd", "pgsql", "xmlhttp", "asdfgh", "mnbvcxz", "fjdkslafjdk", "YYCURSOR", "TlsxSource", "abcdefg",
    "rabbitmq", "kubectl", "mysql", "qwertz", "xxxxxx", "utf8mb4", "oauth2", "ghs_cp", "ghp_xxxx", "sdhjcbjsdhcbshjdcb",
    "eyJhbGciOiJSUzI1NiJ9.oidcpayload", "eyJrefresh", "yylval", "yywrap", "EPOLLRDHUP", "sm_aat_owvdytnmal",
    # three alike in a row among fewer than 16 letters, four among more: a mask or a key held down
    "qzvkkkwjrpb", "qzvkwjrpbxmhfdlttttgnc",
])
def test_words_abbreviations_and_typed_letters_are_not_letters_drawn_at_random(value):
    from clientguard.detect.validators_secrets import random_letters  # noqa: PLC0415

    assert not random_letters(value)
    if len(value) < 8 and value.isalpha():  # eight lowercase letters or more are a password (rootpasswd)
        assert not generic_password(value)


def test_four_letters_drawn_at_random_are_a_password_but_words_acronyms_and_runs_are_not():
    import random  # noqa: PLC0415

    from clientguard.detect.validators_secrets import short_random_letters  # noqa: PLC0415

    assert all(short_random_letters(v) for v in ("urqv", "ghqg", "yrpn", "sxyb", "pxny"))
    stand_ins = ("pass", "root", "test", "yeah", "jinx", "asdf", "abcd", "wxyz", "html", "jdbc", "ahhh", "HSBC", "ab1c",
                 "fmkdx", "kqn")
    assert not any(short_random_letters(v) for v in stand_ins)
    rng = random.Random(11)
    drawn = ["".join(rng.sample("abcdefghijklmnopqrstuvwxyz", 4)) for _ in range(1000)]
    assert 300 < sum(map(short_random_letters, drawn)) < 700  # about half: the rest read like a word
    assert generic_password("ghqg") and url_password("ghqg") and generic_unquoted_secret("ghqg")
    assert not generic_password("root") and not url_password("pass") and not generic_unquoted_secret("test")


def test_an_unquoted_value_of_random_letters_is_a_secret_but_a_name_is_not():
    assert generic_unquoted_secret("wegwqnjr")
    assert not generic_unquoted_secret("fjdkslafjdk") and not generic_unquoted_secret("YYCURSOR")
    assert not generic_unquoted_secret("TlsxSource") and not generic_unquoted_secret("yyminor")


def test_five_digits_or_more_drawn_at_random_after_a_name_are_a_password_but_a_counter_or_a_count_is_not():
    assert generic_unquoted_secret("roqDDP885077")  # docker run -e MYSQL_ROOT_PASSWORD=roqDDP885077
    assert not generic_unquoted_secret("roqDDP8850")  # four digits: a counter or a year (value2, token2024)
    assert not generic_unquoted_secret("myPassword98765")  # counted down: a stand-in
    assert not generic_unquoted_secret("SecretKey" + "0123456789" * 6)  # counted out


@pytest.mark.parametrize("value", ["6412871", "297769", "047553", "92940", "390566594"])
def test_digits_typed_at_random_under_a_password_name_are_a_password(value):
    assert VALIDATORS["digit_password"](value)


@pytest.mark.parametrize("value", ["123456", "12345678", "654321", "111111", "12354", "1212", "1122334455667",
                                   "20240101x", "123456678"])
def test_counted_repeated_short_or_long_digits_are_a_fixtures_stand_in(value):
    assert not VALIDATORS["digit_password"](value)


@pytest.mark.parametrize("value", ["m{{h}o)p${e]nob(ody[finds>-_$#thisone}}", "e!@$%s^&*j)_x+m.", "Qz}7(kL]w{9"])
def test_brackets_that_do_not_nest_are_drawn_at_random_not_a_template(value):
    assert generic_password(value)


@pytest.mark.parametrize("value", ["${DB_PASS", "[[username]:[password]]", "{{ vault_pw }}", "$1-key", "prefix_{hardcoded9}",
                                   # a parser's tables (Lezer's tokenData in bundled JavaScript): too long for a password
                                   "J^~R!^OX$}X^%u^p$}pq%uqr)Xrs.Rst/utu6duv$}vw7^wx7oxy9^yz9oz{9t{|:_|}?Q}!O?c!O!P@Q!P!Q@i"])
def test_templates_whose_brackets_nest_or_are_cut_stay_templates(value):
    assert not generic_password(value) and not generic_assigned_secret(value)


def test_a_jetbrains_scrambled_password_is_unscrambled_and_judged():
    def scramble(p: str) -> str:
        return "".join("%04x" % (ord(c) ^ 0xDFAA) for c in p)
    check = VALIDATORS["jetbrains_scrambled_password"]
    assert check(scramble("Hka0000TEST9")) and check(scramble("SuperSeecretPassword!"))
    assert not check(scramble("password")) and not check(scramble("${FTP_PASS}"))
    assert not check("dfe2dfc1dfcb") or check(scramble("Hka"))  # three characters: too short for a password
    assert not check("dfe2dfc1dfc")  # not four digits per character


@pytest.mark.parametrize(("value", "expected"), [
    ("hunter22", True), ("password", True), ("Ftp0000TESTq9", True), ("RnRwMDAwMFRFU1RxOQ==", True),
    ("", False), ("null", False), ("false", False), ("********", False), ("${FTP_PASSWORD}", False),
    ("$FTP_PASSWORD", False), ("<password>", False), ("ab", False),
])
def test_a_saved_credential_counts_whatever_it_looks_like_unless_it_is_no_value(value, expected):
    assert VALIDATORS["saved_credential"](value) is expected


@pytest.mark.parametrize("value", [
    "UA-28909194-3", "G-0000TESTAB", "GTM-T0000ST",  # analytics properties, public in every page's source
    "AUTHDATA(api_token)", "getenv('DB_TOKEN')",  # a macro or function applied to a name
    "max:50", "min:8", "between:8,64",  # a form's validation rules for the field
    ":apiKey", ":userId",  # a route's parameters
    "{$fields[",  # Smarty's {$fields['smtpPassword'].value}, cut at its quote
    "%CONFIG-DBPASS", "%DB_PASS",  # an installer's token to replace
    "header..signature",  # a token's shape with nothing in it
    ".db_input(strtoupper(md5(time().$vars[", "+encodeURIComponent(o)),{",  # a call joined to the string before
    "FastDFS1234567890", "someRandomApiKeyForTesting1234567890",  # a name and the digits counted out
    "$2y$10$abcdefghijklmnopqrstuv", "$2y$13$changedchangedchangedchangedchg",  # a hash's opening around a filler
])
def test_this_session_s_code_and_stand_ins_are_not_generic_secrets(value: str) -> None:
    assert not generic_assigned_secret(value)


@pytest.mark.parametrize("value", [
    "UA-2890T0000ST-3",  # an analytics ID's opening, then letters and digits mixed
    "AUTH(Xk9mQ2vL7p)",  # brackets in a generated value: no name inside
    "max:50a9Xk2",  # a rule's name, then more than a size
    "Kq8vTz2mWn12345678",  # random letters before the counted digits are not a name
    ":Xk9mQ2vL7p", "{$Xk9mQ2vL7p",  # a colon or a brace before random letters and digits
])
def test_random_values_near_this_session_s_shapes_are_still_secrets(value: str) -> None:
    assert generic_assigned_secret(value)


def test_compose_s_escaped_variable_is_not_a_url_or_command_password() -> None:
    assert not url_password("$$MYSQL_PASSWORD")
    assert url_password("Xk9$$mQ2vL7p")  # $$ inside a generated password does not make it a variable


@pytest.mark.parametrize("value", ["changepasswd", "changepassword", "resetpassword", "forgotpasswords"])
def test_a_page_named_for_what_is_done_to_a_password_is_not_one(value: str) -> None:
    assert not generic_password(value)
    assert generic_password(value + "Xk9")  # more than the name


def test_pointers_to_a_variable_and_short_name_parts_are_not_unquoted_secrets() -> None:
    assert not generic_unquoted_secret("&req.Password")  # Go's pointer to a field
    assert not generic_unquoted_secret("&newPassword")
    assert not generic_unquoted_secret("apiV3Key")  # WeChat Pay's key name
    assert generic_unquoted_secret("&Xk9mQ2vL7p0000")  # an & in a generated value


def test_public_keys_css_and_translated_messages_are_not_generic_secrets() -> None:
    # A wallet's extended public key's shape: base58 drawn here at random, to the length BIP32's encoding gives it
    rng = random.Random(28)
    base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    xpub = "xpub" + "".join(rng.choice(base58) for _ in range(107))
    assert not generic_assigned_secret(xpub)
    assert generic_assigned_secret("xprv" + xpub[4:])  # its private form is the wallet
    assert not generic_assigned_secret("white-space:pre-wrap;")  # Emmet's "whs:pw", pw for pre-wrap
    assert not generic_password("支持非下划线开头，英文、数字、_,长度1-30")  # a form's hint, translated
    assert not generic_assigned_secret("私钥(KEY)")


def test_flow_s_nullable_types_are_not_unquoted_secrets() -> None:
    assert not generic_unquoted_secret("?string;") and not generic_unquoted_secret("?boolean;")
    assert generic_unquoted_secret("?Xk9mQ2vL7p0000")  # a ? opening a generated value


def test_a_bearer_token_elided_in_its_middle_or_the_next_argument_is_not_a_token() -> None:
    assert not bearer_token("eyJhbGciOiJIUz....jdpn9kIjuGRnGejmbFbM")
    assert not bearer_token("uploadPartData.FileMd5")  # f(d.client.Authorization, uploadPartData.FileMd5)
    assert bearer_token("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJURVNUMDAwMCJ9.Xk9mQ2vL7p0000TESTabQ4")


def test_words_a_test_says_of_its_wrong_password_and_a_cut_word_in_a_url_are_stand_ins() -> None:
    for value in ("wrongpin", "differentpin", "anotherpin", "invalidpassword"):
        assert not generic_password(value)
    assert not url_password("passw")  # http://user:passw@hostname:port/path


def test_b2c_flow_names_cdk_logical_ids_and_filler_at_a_counter_are_not_secrets() -> None:
    assert not generic_password("B2C_1_reset_v3")  # forgotPassword: which B2C user flow resets it
    assert not generic_assigned_secret("UserClicksServiceAPIEndpoint1DA4E100")  # "OutputKey" in a CDK snapshot
    assert generic_assigned_secret("A1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4")  # no words before the hex: still a value
    assert not generic_password("xyz@123") and not generic_password("xxxx@123")
    assert generic_password("Xyzzy0000TEST@123")  # a generated password that opens with the same letters


def test_a_dotted_token_with_digits_inside_its_parts_is_not_a_member_path() -> None:
    assert bearer_token("AbCd0000TEST.eFgH1111.iJkL2222")
    assert not bearer_token("d.client.Authorization") and not bearer_token("uploadPartData.FileMd5")


def test_cache_keys_error_codes_and_named_stand_ins_are_not_generic_secrets() -> None:
    assert not generic_assigned_secret("nocache::session.")  # $sessionKey = 'nocache::session.'.md5($url)
    assert not generic_assigned_secret("ANTLR_087")  # TYPE_PARSER_INVALID_SWITCH_TOKEN: a parser's error code
    assert not generic_assigned_secret("aRadLicenseKey42")  # a test's license key says what it is
    assert not generic_password("myusername") and not generic_password("originalpassword")
    assert not generic_password("obscured")  # what a config dump writes where a password was
    assert not generic_password("$2a$10$abcdefghijklmnopqrstuvwx..ABCDEFGHIJKLMNOPQRSTUVWXYZ12")
    assert not generic_assigned_secret("AbC-dEf5")  # two counted runs and a digit
    assert not generic_assigned_secret('\\n",e+="')  # minified code adding to a form's HTML
    assert not generic_unquoted_secret("test-token$/") and not generic_unquoted_secret("Key:payment:i-pass")
    assert not bearer_token("Win32_Storage_FileSystem")  # the next item after "Win32_Security_Authorization",
    assert not url_password("%filtered%") and not url_password("some-password") and not url_password("somepassword")


def test_drawn_values_near_names_codes_and_stand_ins_are_still_secrets() -> None:
    assert generic_assigned_secret("Xk9mQ2vL7p0000TEST_087")
    assert generic_password("mypassword0000TESTqZ8v")
    assert generic_password("$2a$10$Xk9mQ2vL7p0000TESTabQ4ePz3Wc8Rt6Yn1Hs5Dj2Gf7Kl0MbVuN9sA")
    assert generic_unquoted_secret("Xk9mQ2vL7p0000TEST$/")  # a token at a regex's end is still a token
    assert bearer_token("Xk9m_Q2vL7p_0000TEST_abQ4")  # parts that are no words
    assert url_password("%Xk9mQ2vL7p0000%")  # percent signs around a drawn value
    assert generic_password("cackle!")  # a word and a symbol, as CredSweeper's samples count it


def test_mount_targets_login_methods_addresses_and_named_tokens_are_not_secrets() -> None:
    assert not generic_unquoted_secret("/app:ro")  # docker run -v "$PWD:/app:ro": $PWD read as a password's key
    assert not generic_password("publickey+password") and not generic_password("TLSCertificate+password")
    assert not generic_password("fe80:0000:0000:0000:0204:61ff:fe9d:f156")  # a validator's test: `pass: '<IPv6>'`
    assert not url_password("access-token")  # curl -u "username:access-token" in a comment
    assert generic_unquoted_secret("/Xk9mQ2vL7p0000TEST:roQ4")  # not a mount option after the path
    assert generic_password("Xk9mQ2vL7p+0000TEST")  # a + inside a drawn value
    assert generic_password("fe80:0000:Xk9mQ2vL7p0000")  # hex groups, then no address
    assert url_password("super-token")  # a chosen password that names its kind stays one in a URL


def test_audit_hmacs_object_identifiers_and_encoded_counted_digits_are_not_secrets() -> None:
    # Vault's audit device writes an HMAC of every token and password it logs
    rng = random.Random(29)
    hex_digits = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    assert not generic_assigned_secret("hmac-sha256:" + hex_digits) and not generic_password("hmac-sha256:" + hex_digits)
    assert generic_assigned_secret(hex_digits)  # the same digits alone in a token's place: a token
    assert not generic_unquoted_secret("OBJ_X509,35L") and not generic_unquoted_secret("OBJ_ISO_US,113533L,7L,66L,13L")
    # base64 of counted digits, written without padding: a test's VAPID key, a key setting in docs
    for digits in ("01020304050607080910111213141516", "01234567890123456789012345678900"):
        encoded = base64.b64encode(digits.encode()).decode().rstrip("=")
        assert not generic_assigned_secret(encoded) and not generic_assigned_secret(encoded.replace("+", "-"))
    drawn = base64.b64encode("".join(rng.choice("0123456789") for _ in range(32)).encode())
    assert generic_assigned_secret(drawn.decode().rstrip("="))  # digits drawn at random, encoded: a key


def test_an_extractor_s_test_tokens_and_the_token68_alphabet_are_not_secrets() -> None:
    assert not generic_assigned_secret("token==") and not generic_assigned_secret("token68=")
    assert not bearer_token("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")
    assert not generic_assigned_secret("abc-._~+/==")  # every character a token68 value may hold, once
    assert not generic_assigned_secret("!!!not-base64!!!")
    assert generic_assigned_secret("Xk9mQ2vL7p0000TEST==")  # padding after a drawn value
    assert bearer_token("Xk9mQ2vL7p0000TEST-._~+/=")


def test_references_templates_globs_and_codec_ids_are_not_generic_secrets() -> None:
    # Argo CD's $secret-name:key and a user with a variable for the password
    for value in ("$k8ssecret:clientsecret", "$plugin-secret:plugin.token", "$ext:webhook.github.secret",
                  "lita:$lita_password", "fluxcd:$GITHUB_TOKEN", "deploy:${REGISTRY_TOKEN}"):
        assert not generic_assigned_secret(value) and not generic_unquoted_secret(value), value
    assert not generic_unquoted_secret("-@token_value")  # Ruby: a variable, negated
    assert not generic_assigned_secret("USER@REALM!TOKENID=UUID")  # what a Proxmox API token is made of
    assert not generic_assigned_secret("SERVICE_NAME-2")  # a constant's name and a counter
    assert not generic_assigned_secret("RADICALE:share-token")  # a namespaced key
    assert not generic_unquoted_secret("telegraf.*")  # systemd's ImportCredential=: a pattern of names
    assert not generic_assigned_secret("pg/varchar@1") and not generic_assigned_secret("sql/text@12")
    assert not generic_unquoted_secret("jwt,pub-key=<pub")  # options whose values are placeholders
    # a postgres:// usage line with nested optional parts; InfluxDB line protocol's tags after a URL
    assert not url_password("password]]")
    assert not url_password("15672,queue=telegraf,vhost=influxdb,node=rabbit")


def test_drawn_values_near_references_and_templates_are_still_secrets() -> None:
    assert generic_assigned_secret("$Xk9mQ2vL7p:0000TEST")  # no name after the $ and the colon: mixed case, digits
    assert generic_assigned_secret("Xk9m@Q2vL!7p0000TEST")  # @ and ! inside a drawn value
    assert generic_unquoted_secret("Xk9mQ2vL7p0000TEST.*x")  # not a pattern's wildcard at its end
    assert generic_assigned_secret("pg/Xk9mQ2vL7p0000TEST@1")  # no type name
    assert generic_assigned_secret("Xk9m<Q2vL7p0000TEST")  # a < inside a drawn value, no option before it
    assert url_password("15672Xk9mQ2vL7p0000TEST")  # digits and no fields
    assert url_password("Xk9mQ2vL7p0000TEST]")  # a bracket closed after a drawn password


@pytest.mark.parametrize(("before", "value", "expected"), [
    ('HTPASSWD = "', "htpasswd", True),
    ("public const string ManageResetPassword = \"", "manageresetpassword", True),
    ('GCPServiceAccountKey:             "', "GCPServiceAccountKey", True),
    ("sonar.api_token=", "API_TOKEN", True),  # the last dotted part named again
    ('HTPASSWD = "', "htpasswd0000TEST", False),
    ('user = "admin", password = "', "admin", False),  # another key's value repeated: not this key's name
    ('API_KEY = "', "key", False),  # too short to say
    ("postgres://boundary:", "boundary", False),  # a user's name, and a password that repeats it
    ('"PGSSLPASSWORD":        "', "sslpassword", True),  # the name's last words
    ('"PGSSLPASSWORD":        "', "password", True),
    ('"PGSSLPASSWORD":        "', "Xk9mpassword", False),
    ('URI: "postgresql://supertokens:', "supertokens", False),  # a user's name with a secret's word in it
])
def test_a_value_that_repeats_the_name_it_is_assigned_to(before: str, value: str, expected: bool) -> None:
    from clientguard.detect.validators_secrets import key_rules_out

    assert key_rules_out(before, value) is expected


def test_asserted_paths_anchored_patterns_and_named_tokens_in_urls_are_not_secrets() -> None:
    assert not generic_unquoted_secret("registration.data!.client_secret!")  # TypeScript's non-null assertions
    assert not generic_password("^96940$")  # a postcode pattern under a country code that reads "pw"
    assert not url_password("personal-access-token")  # github://user:personal-access-token@owner/repo in a README
    assert generic_unquoted_secret("Xk9mQ2vL7p!.0000TEST!")  # no path: a drawn value with ! in it
    assert generic_password("^Xk9mQ2vL7p0000TEST")  # not anchored at both ends
    assert url_password("Xk9m-access-token")  # not a word before the name


@pytest.mark.parametrize(("before", "expected"), [
    ("aws acm list-certificates --max-items 2 --next-token ", True),
    ("aws wafv2 delete-ip-set --lock-token ", True),
    ('    "NextLockToken": "', True),
    ('    "ChangeToken": "', True),
    ("--idempotency-token ", True),
    ("aws dynamodb list-backups --starting-token ", True),
    ('    "PolicyUpdateToken": "', True),
    ("--lifecycle-action-token ", True),
    ("opts.NextToken = \"", True),
    ("--token ", False),  # a token of no such kind
    ('    "SessionToken": "', False),
    ('    "ClientToken": "', False),  # AWS's is an idempotency token, Vault's client_token a credential
    ("https://lock:", False),
])
def test_a_key_naming_a_token_that_authenticates_nobody_rules_the_value_out(before: str, expected: bool) -> None:
    from clientguard.detect.validators_secrets import key_rules_out

    assert key_rules_out(before, "Xk9mQ2vL7p0000TESTabQ4ePz3") is expected
