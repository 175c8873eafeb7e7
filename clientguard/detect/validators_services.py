"""Validators for the services rules (registered into clientguard.detect.validators.VALIDATORS).

Service tokens have fixed prefixes and charsets, so the pattern already does most of the work; what is
left is telling a real token from the masks and fillers people paste into docs and templates
(``ghp_xxxxxxxx…``, ``sk_live_****``, ``AKIA0000000000000000``).
"""

from __future__ import annotations

import base64
import re

from clientguard.detect.validators import AZURE_EMULATOR_KEYS, has_ordered_run, lazy_re, shannon_entropy, validator  # noqa: F401

# A masked value (xxxx, ****, ####, ....) or a long run of one character: nobody's real random token.
# Slashes excepted: AWS's FwoG/FQoG session tokens carry "//////////" (0xFF bytes, base64-encoded) at a
# fixed place in every real token.
_MASK_OR_RUN = lazy_re(r"(?i)x{6,}|\*{3,}|#{4,}|\.{4,}|([^/])\1{9,}")
# Characters that separate the parts of most token formats (prefix, IDs, random part, checksum).
_SEPARATORS = lazy_re(r"[-_.:/+=$~]")
# Strings that only show where a value goes: <token>, {{ token }}, ${TOKEN}, $(TOKEN).
_TEMPLATE_MARK = lazy_re(r"[<>{}]|\$\{|\$\(")


#: An environment variable's name (and its `=`): what a context rule takes for the value when a setting
#: is left empty and its pattern reads on into the next line (``BITBUCKET_SECRET=`` then ``_APP_X_ID=``).
_ENV_NAME = lazy_re(r"_*[A-Z][A-Z0-9]*(?:_+[A-Z0-9]+)+_*=?")


@validator("token")
def token(value: str) -> bool:
    """A service token of the rule's shape that is not a mask, a template or a patterned filler.

    Documentation examples with the right shape (AWS's ``…EXAMPLE`` keys) still count: a scanner
    protecting a client cannot tell a published example from a key someone reused. So do counted
    fillers (``ghp_1234567890abcdef…``, ``NEWSAPI_KEY=0123456789abcdef…``): the service's prefix or name
    and the format's length make them its token to whoever reads or reuses them, and replacing one in a
    prompt costs nothing.
    """
    if not value or _MASK_OR_RUN.search(value) or _TEMPLATE_MARK.search(value):
        return False
    if _ENV_NAME.fullmatch(value) and sum(c.isalpha() for c in value) >= 2 * sum(c.isdigit() for c in value):
        return False  # SCREAMING_SNAKE words, not drawn at random
    # The longest run between separators is the random part (IDs and prefixes sit between separators).
    runs = [run for run in _SEPARATORS.split(value) if run]
    longest = max(runs, key=len, default="")
    if len(longest) >= 8 and _periodic(longest):
        return False  # abab…, 1234 1234…, deadbeefdeadbeef…
    # The fixed prefix says nothing about randomness; judge the end of the value.
    tail = _SEPARATORS.sub("", value)[-16:]
    return len(set(tail.lower())) >= min(6, max(1, len(tail) // 3))


def _periodic(text: str, longest_period: int = 8) -> bool:
    """True when the text repeats a unit of at most ``longest_period`` characters."""
    for period in range(1, min(longest_period, len(text) // 2) + 1):
        unit = text[:period]
        if (unit * (len(text) // period + 1))[: len(text)] == text:
            return True
    return False


# Program identifiers: camelCase or PascalCase words, snake_case or SCREAMING_CASE words, without digits.
# A rule that finds a token by a service name nearby ("confluence ... = <24 characters>") otherwise
# takes `getPagesInConfluenceSpace,searchConfluenceUsingCql` or `sumOfExposures = sumOfExposures`.
_MASK = lazy_re(r"(?i)x{6,}|\*{3,}|#{4,}|\.{4,}")  # not runs of one character: Dropbox tokens hold ten A's
_IDENTIFIER = lazy_re(r"[A-Za-z][a-z]+(?:[A-Z][a-z]+)+|[a-z]+(?:_[a-z]+)+|[A-Z]+(?:_[A-Z]+)+")


@validator("context_token")
def context_token(value: str) -> bool:
    """A token found by context (a service's name near an assignment): not an identifier, a mask or a
    template mark.

    Random tokens of 12 characters or more from 62 symbols almost never read as camelCase or snake_case
    words without a single digit; names of functions and variables always do.
    """
    if _IDENTIFIER.fullmatch(value) or _MASK.search(value) or _TEMPLATE_MARK.search(value):
        return False
    if value.isalpha() and value.islower() and _SECRET_WORD.search(value):
        return False  # DROPBOX_OAUTH_KEY=dropboxoauthkey: the setting's name written again, not a token
    return True


#: The kind of secret, named inside a value of lower-case letters only.
_SECRET_WORD = lazy_re(r"key|token|secret|pass|auth")


@validator("token_digits")
def token_digits(value: str) -> bool:
    """A token that contains at least one digit and one letter (random base-36/62 strings almost always do)."""
    if not token(value):
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


@validator("hex_token")
def hex_token(value: str) -> bool:
    """A hex token (prefix and hex digits): `token_digits`, and no six hex letters or digits in order
    (``abcdef``, ``123456``), which a random 40-digit hex string holds about once in 15,000 and typed fillers
    (``cosmo_abcdef1234556789…``) hold by design."""
    return token_digits(value) and not has_ordered_run(value, 6)


@validator("dropbox_long_lived")
def dropbox_long_lived(value: str) -> bool:
    """A Dropbox long-lived token (11 characters, ten ``A``, 43 characters): `token_digits` on the two
    random parts, since the run of ``A`` is the format's own, not a filler."""
    return len(value) == 64 and value[11:21] == "A" * 10 and token_digits(value[:11] + value[21:])


@validator("azure_storage_key")
def azure_storage_key(value: str) -> bool:
    """An Azure storage or Cosmos DB account key that is not an emulator's well-known public key."""
    return value not in AZURE_EMULATOR_KEYS and token(value)


def _b64_decode_text(part: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return raw.decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None


@validator("discord_bot_token")
def discord_bot_token(value: str) -> bool:
    """A Discord bot token: its first part is the bot's numeric user ID, base64-encoded."""
    first = value.split(".", 1)[0]
    decoded = _b64_decode_text(first)
    return decoded is not None and decoded.isdigit() and 15 <= len(decoded) <= 21 and token(value)
