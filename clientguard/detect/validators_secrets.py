"""Validators for the secrets rules (registered into clientguard.detect.validators.VALIDATORS).

They decide whether a candidate is a real secret or a stand-in for one: key blocks with no key material,
passwords in URLs that are templates or well-known defaults, generic assignments whose value is a
variable name, a path, a label or a placeholder.
"""

from __future__ import annotations

import base64
import binascii
import re

from clientguard.detect.validators import generic_secret, is_placeholder, shannon_entropy, validator

# --- private key blocks --------------------------------------------------------------------------

_PEM_ARMOR = re.compile(r"-{4,5} ?(?:BEGIN|END)[^-\n]*-{4,5}")
_PEM_HEADER_LINE = re.compile(r"(?m)^[ \t]*[A-Za-z][A-Za-z0-9-]*:[^\n]*$")
_ESCAPED_NEWLINE = re.compile(r"\\[rn]")


@validator("private_key_block")
def private_key_block(value: str) -> bool:
    """An armored key block that carries key material (not '...', 'xxxx' or '<your key>')."""
    body = _PEM_ARMOR.sub(" ", value)
    body = _ESCAPED_NEWLINE.sub("\n", body)
    body = _PEM_HEADER_LINE.sub(" ", body)
    material = re.sub(r"[\s\\\"',#*;]+", "", body)
    if len(material) < 40:
        return False
    if re.search(r"(?i)x{6,}|\.{3}|your|paste|redacted|placeholder", material):
        return False
    # Key material is base64 of DER: many distinct symbols. Filler (AAAA..., 0000...) has few.
    return len(set(material)) >= 16


# --- passwords inside URLs and connection strings ------------------------------------------------

#: Passwords that ship as defaults of local services or appear in every tutorial: not a client's secret.
_DEFAULT_PASSWORDS = frozenset({
    "postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb", "redis", "rabbitmq", "guest", "admin",
    "root", "pass", "password", "passwd", "pwd", "secret", "test", "user", "username", "changeme", "example",
    "sa", "dev", "demo", "local", "localhost", "default", "docker", "airflow", "superset", "keycloak",
    "pw", "p", "x", "xxx", "foo", "bar", "baz", "hunter2", "anonymous", "tiger", "scott", "mypassword", "yourpassword", "dbpass", "dbpassword",
})
_FORMAT_FIELD = re.compile(r"\{[^}]*\}|%\(?[A-Za-z_]*\)?[sd]|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\[[^\]]*\]|\{\{|\}\}")


@validator("url_password")
def url_password(value: str) -> bool:
    """A password written into a URL or connection string, not a template, mask or service default."""
    v = value.strip().strip("'\"")
    if len(v) < 3:
        return False
    if v.lower() in _DEFAULT_PASSWORDS:
        return False
    if _FORMAT_FIELD.search(v):
        return False  # f"{pw}", %(pw)s, ${DB_PASS}, <password>, [password]
    if set(v) <= set("*x.X#-_0•"):
        return False  # a mask: ****, xxxx, ....
    if is_placeholder(v):
        return False
    return True


# --- generic assignments -------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_WORDS = re.compile(r"[a-z][a-z0-9]*(?:[-_.:/][a-z][a-z0-9]*)+|[A-Z][A-Z0-9]*(?:[-_.:][A-Z][A-Z0-9]*)+")
_FILE_REF = re.compile(r"(?i)^[\w.~/\\-]*[/\\][\w.~/\\-]*$|\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|ya?ml|txt|env|"
                       r"pub|gpg|asc|ini|cfg|conf|toml|xml|properties)$")
_URL = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://")
_CALL_OR_INDEX = re.compile(r"[()\[\]{}]")
_VERSION_OR_NUMBER = re.compile(r"^[vV]?\d+(?:[.\-_]\d+)*(?:[.-]?[A-Za-z]+\d*)?$")
_HASH_ALGO_PREFIX = re.compile(r"(?i)^(?:sha\d*|md5|bcrypt|argon2\w*|pbkdf2\w*|scrypt)[-:=$]")
_UUID_NIL = re.compile(r"^0{8}-0{4}-0{4}-0{4}-0{12}$")


def _char_classes(v: str) -> int:
    return sum((
        any(c.islower() for c in v),
        any(c.isupper() for c in v),
        any(c.isdigit() for c in v),
        any(not c.isalnum() for c in v),
    ))


@validator("generic_assigned_secret")
def generic_assigned_secret(value: str) -> bool:
    """A literal assigned to a secret-named variable that looks like a credential, not like code or prose.

    On top of ``generic_secret`` (length, placeholders, references, snake_case names, absolute paths) it
    rejects: bare identifiers (a variable name, a class name), dotted/dashed lowercase words (i18n keys,
    Kubernetes secret names), file references, URLs without credentials, version numbers, format
    fields, and values with too little variety to be a password or key.
    """
    v = value.strip().strip("'\"`")
    if not generic_secret(v):
        return False
    if _CALL_OR_INDEX.search(v) or _FORMAT_FIELD.search(v):
        return False
    if _WORDS.fullmatch(v) or _FILE_REF.search(v) or _URL.match(v) or _VERSION_OR_NUMBER.fullmatch(v):
        return False
    if _UUID_NIL.match(v):
        return False
    if _IDENTIFIER.fullmatch(v) and not any(c.isdigit() for c in v):
        return False  # refreshToken, SecretStr, myApiKey: names, not values
    if v.isdigit():
        return len(v) >= 16 and shannon_entropy(v) >= 3.0
    if _char_classes(v) < 2:
        # One character class (all lowercase letters, say): only long random-looking strings qualify.
        return len(v) >= 16 and shannon_entropy(v) >= 3.5
    return True


@validator("generic_unquoted_secret")
def generic_unquoted_secret(value: str) -> bool:
    """Like ``generic_assigned_secret`` for values written without quotes (.env, YAML, properties, flags).

    Unquoted, a value is much more often a reference (``$VAR``, ``true``, ``none``, a name) than a
    literal, so it must also mix letters with digits or symbols.
    """
    v = value.strip()
    if not generic_assigned_secret(v):
        return False
    has_letter = any(c.isalpha() for c in v)
    has_other = any(not c.isalpha() for c in v)
    return (has_letter and has_other) or v.isdigit()


@validator("basic_auth_credentials")
def basic_auth_credentials(value: str) -> bool:
    """Base64 of ``user:password`` as sent in an HTTP Basic Authorization header."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        return False
    return url_password(password)


@validator("bearer_token")
def bearer_token(value: str) -> bool:
    """A bearer token literal: long, varied, not a template or a placeholder."""
    v = value.strip()
    if is_placeholder(v) or _FORMAT_FIELD.search(v):
        return False
    if _IDENTIFIER.fullmatch(v) and not any(c.isdigit() for c in v):
        return False
    return shannon_entropy(v) >= 3.0 and _char_classes(v) >= 2
