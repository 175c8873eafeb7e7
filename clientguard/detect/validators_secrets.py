"""Validators for the secrets rules (registered into clientguard.detect.validators.VALIDATORS).

They decide whether a candidate is a real secret or a stand-in for one: key blocks with no key material,
passwords in URLs that are templates or well-known defaults, generic assignments whose value is a
variable name, a path, a label or a placeholder.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re

from clientguard.detect.validators import (
    DOCUMENTED_EXAMPLES, DOUBLED_NIBBLES, YOUR_VALUE, _ip, b64url_json, generic_secret, has_ordered_run, is_placeholder,
    json_object, lazy_re, letter_pair_score, longest_ordered_run, shannon_entropy, validator,
)

# --- private key blocks --------------------------------------------------------------------------

_PEM_ARMOR = lazy_re(r"-{4,5} ?(?:BEGIN|END)[^-\n]*-{4,5}")
_PEM_HEADER_LINE = lazy_re(r"(?m)^[ \t]*[A-Za-z][A-Za-z0-9-]*:[^\n]*$")
_ESCAPED_NEWLINE = lazy_re(r"\\[rn]")


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



@validator("base64_private_key")
def base64_private_key(value: str) -> bool:
    """Base64 of a PEM private key block (Kubernetes secrets, CI variables) that carries key material."""
    compact = re.sub(r"\s+", "", value)
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        return False
    # A byte damaged in copying (a non-ASCII byte in the key material) leaves the rest of the key readable.
    text = raw.decode("ascii", errors="replace")
    return "PRIVATE KEY" in text and private_key_block(text)


#: What a base64-encoded token decodes to: three base64url parts, the first a JSON object's ("eyJ").
_JWT_TEXT = lazy_re(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@validator("jwt_base64")
def jwt_base64(value: str) -> bool:
    """Base64 of a signed JSON Web Token (a Kubernetes secret's `data`, a CI variable): the decoded text
    holds a token ``jwt_token`` accepts, perhaps with a line break after it."""
    compact = re.sub(r"\s+", "", value)
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4))
        text = raw.decode("ascii").strip()
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return False
    return bool(_JWT_TEXT.fullmatch(text)) and jwt_token(text)


# --- passwords inside URLs and connection strings ------------------------------------------------

#: Passwords that ship as defaults of local services or appear in every tutorial: not a client's secret.
_DEFAULT_PASSWORDS = frozenset({
    "postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb", "redis", "rabbitmq", "guest", "admin",
    "root", "pass", "password", "passwd", "pwd", "secret", "test", "user", "username", "changeme", "example",
    "sa", "dev", "demo", "local", "localhost", "default", "docker", "airflow", "superset", "keycloak", "wordpress",
    "pw", "p", "x", "xxx", "foo", "bar", "baz", "foobared", "anonymous", "anonymous@", "tiger", "scott", "mypassword", "yourpassword", "dbpass", "dbpassword",
})
#: What code hosts take in a URL's password place when the token is the user (https://TOKEN:x-oauth-basic@github.com,
#: https://{token}:x-access-token@host), and a password that says there is none (http://root:unused@localhost).
_URL_PASSWORD_WORDS = frozenset({"x-oauth-basic", "x-access-token", "unused", "nopass", "nopassword", "no-password",
                                 "passw"})  # http://user:passw@hostname:port/path, a usage comment
#: A value that only says what it stands for: an optional word about it, the kind of secret, a number
#: (password123, newpassword456, wrongpassword, secret123, token1, test_password_1, secret1value,
#: somerandomvalue123489). Tests are full of them.
_SELF_NAMED = lazy_re(
    r"(?i)\d{0,6}(?:(?:new|old|wrong|bad|some|any|first|second|third|my|test|testing|dummy|default|temp|tmp|valid|invalid|"
    r"correct|incorrect|other|another|strong|weak|good|current|updated|reset|random|custom|secure|simple|sample|super|top|original|"
    r"very|plain|plaintext|mock|fake|hashed|encrypted)[_!-]?){0,2}"
    r"(?:(?:api|auth|client|private|public)[_-]?)?(?:(?:pass(?:word|wd|w|phrase|code)?|pwd|secret|s3cr3t|token|key|refresh|access|session|hash|value|user(?:name)?|login)[_-]?){1,3}"
    r"(?:[_-]?(?:one|two|three|changed|updated|again|confirm(?:ed|ation)?))?"  # passwordtwo, passwordchanged
    r"\d{0,6}(?:x{2,4})?(?:[_-]?value\d{0,6})?(?:[!.#]|={1,2})?"  # (token==, token68=: a test of an extractor)
)
#: Words that name the value rather than being it: an upper-case constant (DB_PASSWORD, PERSONAL_ACCESS_TOKEN
#: in https://USERNAME:PERSONAL_ACCESS_TOKEN@github.com), or camelCase words, an acronym among them, ending in the
#: kind of secret and a counter (newReplicationPassword123, adminUserSecret2, newMD5Password): a README's
#: stand-in or a variable.
_WORDS_IN_VALUE = lazy_re(r"[A-Z]+(?:_[A-Z]+)+|(?:[a-z]+|[A-Z][a-z]+)(?:[A-Z][a-z]+|[A-Z]{2,4}\d{1,3})*(?:Pass(?:word|phrase)|Secret|Token)"
                          r"\d{0,6}[!.#]?"
                          # userOne-token, adminUser_secret: camelCase words, then the kind of secret
                          r"|(?:[a-z]+|[A-Z][a-z]+)(?:[A-Z][a-z]+)+[-_](?:pass(?:word|phrase)?|secret|token|key)\d{0,6}"
                          # SECRETBASE32, SECRET2FASEED: a constant-like stand-in that opens with the kind of secret
                          r"|(?:SECRET|TOKEN|PASSWORD|PASSWD|APIKEY)[A-Z0-9]{0,16}")
#: In a URL (http://user2:password2@...), only the word itself numbered, or a constant's name, is a stand-in:
#: labelled sets count testpassword and pass456 there as passwords.
_NUMBERED_PASSWORD = lazy_re(r"(?i)password[_:-]?\d{1,3}|(?:random|custom|secure|simple|sample|dummy|some|any)[_-]?password\d{0,3}")
_UPPER_CONSTANT = lazy_re(r"[A-Z]+(?:_[A-Z]+)+")
#: "my", a word and a number in a URL's password place (mongodb://devuser:mySecret789@...): a password someone
#: chose, as labelled sets count it; written without the number (mysecret, my_password) it stays a stand-in.
_MY_WORD_AND_NUMBER = lazy_re(r"(?i)my[_-]?[a-z]{2,12}[_-]?\d{2,6}[!.#]?")
#: The same in PascalCase: twilio://AccountSid:AuthToken@FromPhoneNo, the stand-ins of Apprise's URL syntax.
_PASCAL_SECRET_NAME = lazy_re(r"(?:[A-Z][a-z]+)+(?:Token|Secret|Password|Passwd|Key)")
#: The same in lower case, one of its words naming a credential: curl -u 'api_username:access_token' in API docs.
_LOWER_SECRET_NAME = lazy_re(r"(?:[a-z]+_)+(?:token|password|passwd|secret|key|apikey|pwd)(?:_[a-z]+)*"
                             r"|(?:[a-z]+-)?(?:access|api|auth|bearer|personal|refresh|client|app)-(?:token|key|secret)"
                             r"|(?:token|password|passwd|secret|apikey|pwd)(?:_[a-z]+)+")
#: A word of a test account or a filler and a counter: test123456, Test124!, blank123, testUser@1234, xyz@123,
#: xxxx@123. Not admin123 or root123: those are the weak passwords real systems are left with, and the gateway
#: replaces them for free.
_ACCOUNT_WORD_AND_NUMBER = lazy_re(r"(?i)(?:test|demo|guest|blank|user|hunter)(?:[A-Z][a-z]+)?@?\d{1,6}[!.#_]?"
                                   r"|(?:xyz|x{3,})@\d{1,6}")
#: A run of keys along a keyboard row and a counter: asdf1234, qwerty123, zxcvbnm! (hunter2, above, is the other
#: password every test file borrows).
_KEYBOARD_FILLER = lazy_re(r"(?i)(?:asdf(?:g(?:h(?:jkl?)?)?)?|qwer(?:t(?:y(?:uiop?)?)?)?|zxcv(?:b(?:nm?)?)?)\d{0,8}[!.#]?")
#: A sentence in PascalCase that names a secret (TheSecretKeyObtainedFromR2, AuthKeyOfDoomThatMustBeLongEnough): a
#: description of the value in its place, four words or more, one of them the kind of secret.
_SENTENCE_NAMING_SECRET = lazy_re(r"(?=.*(?:Secret|Key|Pass(?:word)?|Token)(?:[A-Z\d]|$))"
                                  # four capitalised words, or a lower-case first word and three (aRadLicenseKey42)
                                  r"(?:(?:[A-Z][a-z]+|A(?=[A-Z])){4,}|[a-z]+(?:[A-Z][a-z]+|A(?=[A-Z])){3,})[A-Z]?\d{0,3}")
#: A name and the date it was made (didPurgeImageCachesForResizing-2026-03-30): a versioned setting's key.
_NAME_AND_DATE = lazy_re(r"([A-Za-z_]+)[-_.]\d{4}-\d{2}-\d{2}")
#: The word "password" in languages whose translation files hold it as a label ('password' => 'wachtwoord').
_PASSWORD_TRANSLATIONS = frozenset({
    "adgangskode", "wachtwoord", "contrasenya", "contraseña", "contrasena", "palavra-passe", "passwort", "kennwort",
    "salasana", "lösenord", "losenord", "passord", "heslo", "parola", "parool", "parole", "lozinka", "geslo",
    "jelszó", "jelszo", "slaptažodis", "şifre", "sifre", "senha", "wagwoord", "pasahitza", "contrasinal",
    "pasvorto", "mot de passe", "kata sandi", "katasandi", "kata laluan", "mật khẩu", "lykilorð", "salasõna",
    "parol", "parolă", "zaporka", "sandi", "nenosiri", "iphasiwedi", "hasło", "haslo", "fjalëkalimi", "cyfrinair",
    "aðgangsorð", "palavra-chave", "password",
})
#: "Secret" in languages whose compounds carry it (OAuth-klienthemmelighed, Client-Geheimnis): a label of a
#: translation file ("OAuth client secret": "OAuth-klienthemmelighed"), not the secret.
_SECRET_TRANSLATIONS = lazy_re(r"(?i)hemmelighed|hemmelighet|hemlighet|geheimnis|geheim|salaisuus|secreto|segredo|segreto|"
                               r"sekret|tajemstv|titkos")
#: Words of a label, one of them an acronym or written with letters beyond ASCII: 'API-Schlüssel', 'API-sleutel',
#: 'Brevo-API-Schlüssel' (the translations of "API key" in a language file).
_LABEL_WORDS = lazy_re(r"(?:[^\W\d_]+[- ]){1,3}[^\W\d_]+")
_ACRONYM_FIRST = lazy_re(r"[A-Z]{2,5}[- ]")
#: A service's or product's name (Postmark, hCaptcha.com, App) and one more word after a hyphen or a space.
_BRAND_THEN_WORD = lazy_re(r"([A-Za-z][A-Za-z.]{1,30})[- ]([^\W\d_]{4,24})")
#: Han, kana and Hangul: no generated secret is written in them.
_CJK = lazy_re(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
#: The punctuation that goes with them: ideographic marks and full-width forms (the colon of "OAuth2：客户端凭据").
_CJK_PUNCTUATION = lazy_re(r"[\u3000-\u303f\uff00-\uffef]")
#: What is left of such a message: a product's name or an acronym with a version (FIDO2, hCaptcha.com), or nothing.
_BRAND_OR_ACRONYM = lazy_re(r"[A-Za-z][A-Za-z.]{0,15}\d{0,2}|")


def _translated_label(v: str) -> bool:
    """A label or message in a language file, not a secret: the word "password" in another language,
    with a required-field star or a colon (Passwort*, Пароль*, Senha:), "API key" translated, or text
    mostly in another script (ពាក្យសម្ងាត់, 请在管理面板中配置PayU商户密钥和Salt。)."""
    w = v.rstrip("*:：").strip()
    if not w:
        return False
    if w.lower() in _PASSWORD_TRANSLATIONS or (w.isalpha() and not w.isascii() and len(w) <= 24):
        return True
    if not any(c.isdigit() for c in w) and sum(not c.isascii() for c in w) * 2 >= len(w):
        return True
    if sum(c.isalpha() and not c.isascii() for c in w) >= max(8, len(w) * 3 // 4):
        return True  # パスワードは8文字以上にしてください: a message with a number in it, in another script
    if _LABEL_WORDS.fullmatch(w) and _SECRET_TRANSLATIONS.search(w):
        return True
    m = _BRAND_THEN_WORD.fullmatch(w)
    if m and (m.group(2).lower() in _PASSWORD_TRANSLATIONS or _SECRET_TRANSLATIONS.fullmatch(m.group(2))):
        return True  # Postmark-wachtwoord, App-adgangskode, hCaptcha.com-geheim: "<service> password" translated
    cjk = len(_CJK.findall(w))
    if cjk >= 2 and _BRAND_OR_ACRONYM.fullmatch(_CJK_PUNCTUATION.sub("", _CJK.sub("", w))):
        return True  # FIDO2でログイン, hCaptcha.com秘密, 使用FIDO2登录: a message in Japanese or Chinese naming a service
    return bool(_LABEL_WORDS.fullmatch(w) and (not w.isascii() or _ACRONYM_FIRST.match(w)))


#: A run of counting letters and digits and nothing else: def456, xyz789, 0123456789ABCDEFGH, abc=def=ghi.
_CLASS_CHUNKS = lazy_re(r"[a-z]+|[A-Z]+|\d+")
#: A provider's prefix, then words that say what the value stands for, or a counter: AIzaSyD-test-api-key-123,
#: AIzaSyD-new-api-key, whsec_123, vercel_blob_rw_TEST_asdf.
_PREFIX_THEN_STAND_IN = lazy_re(
    r"[A-Za-z0-9]{2,10}[-_](?:(?P<counter>\d{1,6})|(?i:(?=.*(?:test|example|sample|dummy|fake|demo|new|old|password|secret|token|key|asdf))"
    r"[a-z]+(?:[-_][a-z]+)*(?:[-_]?\d{1,6})?))"
)


def _prefix_then_stand_in(v: str) -> bool:
    m = _PREFIX_THEN_STAND_IN.fullmatch(v)
    if not m:
        return False
    counter = m.group("counter")  # whsec_123 counts; ncc-1701, a chosen password, does not
    return counter is None or longest_ordered_run(counter) == len(counter) or len(set(counter)) == 1


def _counted_filler(v: str) -> bool:
    # Abcdef123456 is counted as abcdef123456 is; ABC...Zabc...z0123456789 as three runs
    return _counted_chunks(v) or _counted_chunks(v.lower())


def _counted_run(chunk: str) -> bool:
    """Three letters or digits or more, counting up or down throughout (abc, xyz, 4567, CBA)."""
    return len(chunk) >= 3 and longest_ordered_run(chunk) == len(chunk)


#: The name a value is assigned to, at the end of the text before the value: the last name, then only quotes,
#: brackets, operators and spaces (HTPASSWD = ", GCPServiceAccountKey: ", "token" => ', --next-token ).
_KEY_BEFORE_VALUE = lazy_re(r"([A-Za-z_$][\w$.-]*)[^\w\n]{0,40}$")
_NOT_ALNUM = lazy_re(r"[\W_]+")
_SECRET_WORD = lazy_re(r"(?i)pass|pwd|secret|token|key|auth|cred")
#: Tokens an API hands out that authenticate nobody: where a listing goes on (next, starting, continuation,
#: page), what makes a request count once (idempotency), which version an update is made against (lock,
#: change, policy update, lifecycle action: AWS WAF, Firewall Manager, Auto Scaling). aws-cli's examples hold
#: dozens (--next-token, "LockToken", "ChangeToken").
_NO_SECRET_TOKEN = lazy_re(r"(?i)(?:next|starting|continuation|page|pagination|idempotency|(?:next)?lock|change"
                           r"|policy[_-]?update|lifecycle[_-]?action)[_-]?token")


def _key_before(before: str) -> str | None:
    """The name a value is assigned to, from the text before the value on its line; None where there is none,
    or where it is a URL's user (postgresql://supertokens:supertokens@db)."""
    before = before[-160:]
    m = _KEY_BEFORE_VALUE.search(before)
    if m is None or before[max(0, m.start() - 2):m.start()] == "//":
        return None
    return m.group(1)


def _repeats_key(key: str, value: str) -> bool:
    """Whether a value only repeats the name it is assigned to, letters and digits alike, ignoring case and
    separators (HTPASSWD = "htpasswd", ManageResetPassword = "manageresetpassword", GCPServiceAccountKey:
    "GCPServiceAccountKey", "PGSSLPASSWORD": "sslpassword"): a constant naming itself, not a secret. Only a name
    that says it holds a secret counts (a URL's user may have such a word in it, and its password repeat it)."""
    said = _NOT_ALNUM.sub("", value).lower()
    if len(said) < 4 or not _SECRET_WORD.search(key):
        return False
    name = _NOT_ALNUM.sub("", key).lower()
    # "PGSSLPASSWORD": "sslpassword" (pgx's table of libpq's variables and its parameters): the name's last words
    return said in (name, _NOT_ALNUM.sub("", key.rsplit(".", 1)[-1]).lower()) \
        or (len(said) >= 8 and name.endswith(said))


def key_rules_out(before: str, value: str) -> bool:
    """Whether the name a value is assigned to says it is no secret: the value repeats the name
    (_repeats_key), or the name is of a token that authenticates nobody (--next-token, "LockToken"). ``before``
    is the text before the value on its line."""
    key = _key_before(before)
    return key is not None and (_repeats_key(key, value)
                                or bool(_NO_SECRET_TOKEN.fullmatch(key.rsplit(".", 1)[-1].lstrip("-"))))


def _counted_chunks(v: str) -> bool:
    chunks = _CLASS_CHUNKS.findall(v)
    if len(chunks) > 8 or re.sub(r"[-_=.:~+/]", "", v) != "".join(chunks):
        return False
    if len(chunks) == 3 and chunks[-1].isdigit() and len(chunks[-1]) <= 2:
        chunks = chunks[:-1]  # AbC-dEf5: two counted runs and a digit or two to meet a password rule
    return all(_counted_run(c) for c in chunks)


#: i18next's namespaced keys (fields:showPassword, errors:invalidToken), Pulumi's project:key config names
#: (pulumi config set --secret my-project:githubSecret), a browser storage key's name (traceSystemPrompt:collapsed),
#: a .NET configuration path (Database:SelfHostPassword, read with configuration["Database:Password"]).
_NAMESPACED_KEY = lazy_re(r"(?:[A-Za-z][a-z]*(?:[A-Z][a-z]+)*|[A-Z]{2,})(?:-[a-z]+)*"  # (RADICALE:share-token)
                          r"(?::[A-Za-z][a-z]*(?:[A-Z][a-z]+)*(?:-[a-z]+)*)+")
#: What stands where a value would be: C's printed null pointer, a JWT's first letters and a word (eyJrefresh), a
#: file to read it from (@/dev/stdin), Kotlin's nullable type and its null (FirebaseAuth?=null).
_STAND_IN_SHAPES = lazy_re(r"\(null\)|<null>|eyJ[a-z]+|@\.{0,2}/[\w./-]+|[A-Z][A-Za-z0-9]*\?=null")
#: camelCase's words (Tlsx, Source; base, Encoded, Key: digits left out), and the score above which one reads as a
#: word (19 in 20 words of seven languages score above it; see letter_pair_score).
_CAMEL_PART = lazy_re(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_WORD_SCORE = -3.1
#: (a number inside, before another word: base64EncodedKey; one at the end is how people make a password: thisIsDog11)
_LOWER_CAMEL_WITH_DIGITS = lazy_re(r"(?=.*\d[A-Za-z])[a-z]+\d*(?:[A-Z][a-z]+\d*){1,5}")


#: snake_case with a digit in a part (_sf2_attributes, s3_bucket_name): see _camel_words_with_digits.
_SNAKE_WITH_DIGITS = lazy_re(r"(?=.*\d)_*[a-z]+\d{0,3}(?:_[a-z]+\d{0,3})+_*")


def _camel_words_with_digits(v: str) -> bool:
    """lowerCamelCase words with a number among them (base64EncodedKey, sha256HashValue), snake_case ones
    (_sf2_attributes), or PascalCase words with a version or a number between them (DirectoryV2Configuration,
    DynamicE164ExperimentConfiguration): a name, such as a type's in a declaration (private
    DirectoryV2Configuration directoryV2;)."""
    if _LOWER_CAMEL_WITH_DIGITS.fullmatch(v):
        parts = [p for p in _CAMEL_PART.findall(v) if len(p) >= 3]
        # oauth2TokenSql: the parts programs are named with (oauth, sql) are words here
        return bool(parts) and all(letter_pair_score(p) > _WORD_SCORE or _TECHNICAL_PART.fullmatch(p) for p in parts)
    if _SNAKE_WITH_DIGITS.fullmatch(v):
        # _sf2_attributes, _sf2_meta: Symfony's session storage keys; a digit or two in a snake_case name
        words = re.findall(r"[a-z]{4,}", v)
        return bool(words) and sum(c.isdigit() for c in v) <= 3 \
            and all(letter_pair_score(w) > _WORD_SCORE for w in words)
    if not _PASCAL_WITH_DIGITS.fullmatch(v):
        return False
    words = _PASCAL_WORD.findall(v)
    letters = sum(c.isalpha() for c in v)
    if len(words) < 2 or sum(map(len, words)) < 0.7 * letters:
        return False
    scores = [letter_pair_score(w) for w in words]  # Dynamic reads -3.3: a word may fall short, none far
    return min(scores) > _RANDOM_LETTERS_SCORE and sum(scores) / len(scores) > _WORD_SCORE


#: PascalCase words, and between them a version or a number with at most three capitals (V2, E164, 3D).
_PASCAL_WITH_DIGITS = lazy_re(r"(?=.*\d)(?:[A-Z][a-z]{2,}|[A-Z]{0,3}\d{1,4}(?!\d))+")
_PASCAL_WORD = lazy_re(r"[A-Z][a-z]{2,}")


#: An IAM action (chime:RegenerateSecurityToken, iam:DeleteAccessKey, waf-regional:GetChangeToken): a permission's name.
_IAM_ACTION = lazy_re(r"[a-z][a-z0-9-]*:(?:[A-Z][a-z0-9]+)+\*?")
#: A JVM type descriptor (Lorg/apache/harmony/javax/security/auth/Subject$SecureSet;), as smali writes a field's type.
_JVM_DESCRIPTOR = lazy_re(r"\[*L[A-Za-z_$][\w$]*(?:/[A-Za-z_$][\w$]*)+;?")
#: A public NATS NKey (account A..., user U..., server N..., operator O..., cluster C..., curve X...): 56 characters
#: of base32 that name a key pair, printed by nsc and nk to be shared; the seed (S...) is the secret.
_NATS_PUBLIC_KEY = lazy_re(r"[AUNOCX][A-Z2-7]{55}")
_EMAIL_VALUE = lazy_re(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _jwt_header_only(v: str) -> bool:
    """The first part of a JWT alone (eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 is {"alg":"HS256","typ":"JWT"}), or
    its first two parts with nothing after them: documentation's and tests' stand-in for a token."""
    if v.startswith("eyJ") and v.count(".") == 1 and v.endswith(".") and len(v) > 1:
        return b64url_json(v[:-1]) is not None  # a header and its dot, nothing after: no claims, no signature
    if v.startswith("eyJ") and v.count(".") == 1 and not v.endswith("."):
        # header.payload cut before the signature: a token's shape in a test. An unsecured JWT (alg "none")
        # ends in its last dot and is still a credential to a server that takes it.
        return b64url_json(v.split(".")[0]) is not None
    if not v.startswith("eyJ") or "." in v:
        return False
    header = b64url_json(v)
    return bool(header) and set(header) <= {"alg", "typ", "kid", "cty"}  # type: ignore[arg-type]

#: Template fields anywhere in a value: {pw}, %(pw)s, %s, ${DB_PASS}, <password>, [password], {{ x }}, and a regex
#: substitution's group first ($1-key).
#: ($VAR alone is a template too, but a "$" inside a password is common: is_placeholder judges the whole value.)
_FORMAT_FIELD = lazy_re(r"^\$\d(?![A-Za-z0-9$])|\$\([^)]*\)|\{[^}]*\}|%\([A-Za-z_]\w*\)[sdr]|%[sd](?![A-Za-z0-9])|\$\{[^}]*\}?|<[^>]*>|&lt;.*?&gt;|\[[^\]]*\]|\{\{|\}\}")
_CLOSER_OF = {")": "(", "]": "[", "}": "{"}


def _brackets_misnest(v: str) -> bool:
    """Brackets drawn at random (m{{h}o)p${e]nob(..., e!@$%s^&*j)_x+m.): one closed by a bracket of another kind,
    or a closing bracket before any opening one, in a value short enough to be a password. A template's
    brackets nest, though one may be left open where a line or a quote cut it (${DB_PASS), or closed once too
    often ([[user]:[password]]@); long text with brackets all over is encoded data (a parser's tables)."""
    if len(v) > 64:
        return False
    stack: list[str] = []
    opened = False
    for c in v:
        if c in "([{":
            stack.append(c)
            opened = True
        elif c in _CLOSER_OF:
            if stack:
                if stack.pop() != _CLOSER_OF[c]:
                    return True
            elif not opened:
                return True
    return False


def _template_field(v: str) -> bool:
    """A template field in the value (_FORMAT_FIELD), unless its brackets cannot be a template's."""
    return _FORMAT_FIELD.search(v) is not None and not _brackets_misnest(v)


_MASK_CHARS = frozenset("*x.X#-_0•")


def _masked(v: str) -> bool:
    """A value masked in place of a password: only mask characters (****, xxxx, ....), or a run of them or a
    masking word inside (***PASSWORD***, ####)."""
    return set(v) <= _MASK_CHARS or _MASKED.search(v) is not None


#: Code read as a connection string's password in minified JavaScript: a member of `this`, or a method
#: declared right after the value (t}prepareRequest(e){if(...)).
_MINIFIED_CODE = lazy_re(r"^this\.[A-Za-z_$]|[\w$]\([\w$,]*\)\{")
#: A name between percent signs: a Windows variable or a template's field (%PASSWORD%, %filtered%).
_PERCENT_FIELD = lazy_re(r"%[A-Za-z_][A-Za-z_.-]*%")


@validator("url_password")
def url_password(value: str) -> bool:
    """A password written into a URL or connection string, not a template, mask or service default."""
    v = value.strip().strip("'\"")
    if "%40" in v:
        v = v.replace("%40", "@")  # p%40ssword: the @ of p@ssword, percent-encoded for the URL
    if len(v) < 5 and not short_random_letters(v):
        return False  # abc:xyz@, user:123@ - documentation, not a password anyone uses (nats://ngs:urqv@ is one)
    if v.endswith("]") and "[" not in v:
        v = v.rstrip("]")  # user[:password]@host, [user[:password]]@host: a usage line's optional parts, closed
    if v.lower() in _DEFAULT_PASSWORDS or v.lower() in _URL_PASSWORD_WORDS or v.lower().replace("_", " ") in _PASSWORD_TRANSLATIONS:
        return False  # https://TOKEN:x-oauth-basic@github.com; mysql://benutzer:passwort@host in a translated page
    if _template_field(v) or "<" in v or ">" in v or _PERCENT_FIELD.fullmatch(v):
        # f"{pw}", %(pw)s, ${DB_PASS}, <password>, [password], the tail of <user:password>, %filtered% (what a
        # scrubber writes in a URL's place)
        return False
    if _masked(v):
        return False  # a mask: ****, xxxx, ...., ***PASSWORD***
    if v.startswith("\\"):
        return False  # file://C:\backup: a Windows drive's letter and path, not user and password
    if v.lower() in _PASSWORD_STATES:
        return False  # curl -u 'alice:wrong': a test that a wrong password is refused
    if (is_placeholder(v) and not _MY_WORD_AND_NUMBER.fullmatch(v)) or _NUMBERED_PASSWORD.fullmatch(v) \
            or _UPPER_CONSTANT.fullmatch(v) or _LOWER_SECRET_NAME.fullmatch(v) or _PASCAL_SECRET_NAME.fullmatch(v):
        return False  # password2, password-1, DB_PASSWORD, PERSONAL_ACCESS_TOKEN, access_token, AuthToken: names
    if _MINIFIED_CODE.search(v) or _DOTTED_NAME.fullmatch(v):
        return False  # this.username=e;this.password=this.base.password in a bundled dist/index.js, url.password
    if "," in v and _PORT_THEN_FIELDS.fullmatch(v):
        return False  # url=http://amqp.example.org:15672,queue=telegraf,node=rabbit@amqp...: line protocol's tags
    if ":" in v and all(p.isalpha() and not url_password(p) for p in v.split(":")):
        return False  # imap://auth:user:password@server (a usage line with one more field): the fields' names
    return True


#: An option's value given as a <placeholder> (pub-key=<pub key path>, user:<name>).
_OPTION_PLACEHOLDER = lazy_re(r"[\w-][=:]<[A-Za-z]")
#: Dotted names ending in a wildcard (telegraf.*, app.db.*): a pattern of names.
_GLOB_OF_NAMES = lazy_re(r"[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*\.\*")
#: A host's port, then comma-joined key=value fields: InfluxDB's line protocol tags a URL and later fields
#: (url=http://amqp.example.org:15672,queue=telegraf,node=rabbit@amqp.example.org), read as user:password@host.
_PORT_THEN_FIELDS = lazy_re(r"\d{1,5}(?:,[\w.-]+=[^,\s]*)+")


# --- generic assignments -------------------------------------------------------------------------

_IDENTIFIER = lazy_re(r"[A-Za-z_$][A-Za-z0-9_$]*")
#: A program name as a quoted value can be: `$` only first ($scope) or as a bundler's suffix (Token$1);
#: inside a word it stands for an s, as passwords write it (super$ecret, Pa$word).
_NAME = lazy_re(r"[A-Za-z_$][A-Za-z0-9_]*(?:\$\d*)?")
#: Dotted, dashed or slashed words (i18n keys, resource names, MIME types, controller#action routes);
#: leetspeak (s3cr3t-p4ss) is not. A last dotted number is a level (the scope markup.heading.1 of an editor's
#: highlighting rules). x86_64 is one word, as platform names write it (a CI cache's key:
#: test-x86_64-unknown-linux-gnu).
_WORDS = lazy_re(r"(?:x86_64|[a-z]{1,2}\d{1,2}[a-z]{1,2}|[a-z]+\d*)"
                 r"(?:[-_.:/#](?:x86_64|[a-z]{1,2}\d{1,2}[a-z]{1,2}|[a-z]+\d*))+"
                 r"(?:\.\d{1,2})?"  # e2e, k8s, i18n: words too
                 # AUTH=PLAIN: an IMAP capability; USER@REALM!TOKENID=UUID: the parts a Proxmox API token is made of
                 r"|[A-Z]+\d*(?:[-_.:=@!][A-Z]+\d*)+"
                 # lower-case words and acronyms joined by hyphens (custom-CA, RELEASENAME-elasticsearch-coordinating-crt):
                 # a Kubernetes secret's or a bundle's name; a capitalised word (Ger-tremen) may be a passphrase's
                 r"|(?:[a-z]+|[A-Z]{2,}s?)(?:-(?:[a-z]+|[A-Z]{2,}s?))+")
#: A reference in code (AuthorizationService.instance, this.props.authHeader): letters only, dotted.
_DOTTED_NAME = lazy_re(r"[A-Za-z_$]+(?:\.[A-Za-z_$]+)+")
#: An HTTP header's name: capitalised words (or acronyms) joined by hyphens, no digits (X-CSRF-Token).
_HEADER_NAME = lazy_re(r"[A-Z][A-Za-z]*(?:-[A-Z][A-Za-z]*)+")
#: A vendor's header whose last words carry a number (X-Amz-Content-Sha256): _HEADER_NAME takes no digits.
_X_HEADER = lazy_re(r"X-[A-Za-z]+(?:-[A-Za-z]+\d{0,4})+")
#: An integer written in hex, 64 bits at most (0x88c7, 0xc0506617); a key written so is longer.
_HEX_NUMBER = lazy_re(r"-?0[xX][0-9a-fA-F]{1,16}(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU])")
#: One word and the separator it is joined to something else by ('Secret-' . ucfirst($key)).
_WORD_PREFIX = lazy_re(r"[A-Za-z]+(?:(?:[-_.]|::?)[A-Za-z]+)*[-_./:]")
#: snake_case, camelCase (an upper-case run, an acronym, must be followed by two lower-case letters or end
#: the name: getX, toJSON, parseHTTPResponse; or be one of the two-letter words names are made of, before the
#: next word: hasPermissionToCreateApiKey, canBeDeleted), PascalCase. Random mixed case (lRDXNfPxOMFQ) is none
#: of them.
_SNAKE_OR_CAMEL_WORDS = lazy_re(r"_*[a-z]+(?:_+[a-z0-9]+)+_*"
                                r"|[a-z]+(?:[A-Z]{1,6}[a-z]{2,}"
                                r"|(?:To|Is|Of|At|By|In|On|Up|As|Or|An|If|Do|Be|My|No|Go|So|Id|Me|We|It)(?=[A-Z]))+"
                                r"[A-Z]{0,6}"
                                r"|[a-z]+[A-Z]{1,6}|(?:[A-Z][a-z]+){2,}")
#: camelCase or PascalCase words after a numeronym (k8sNodesDatatable, K8sResourcePoolDetailsW: Portainer's
#: storage keys and permission names), perhaps with a one-letter suffix.
_NUMERONYM_NAME = lazy_re(r"[A-Za-z]\d{1,2}[a-z]{1,2}(?:[A-Z][a-z]{2,})+[A-Z]?")
# A name ending in a file's extension: key material and configuration, code, and the images, fonts, documents
# and archives apps name their assets with (App Store Connect's "iconAssetToken": "Newsstand3/…/Icon-76@2x.png").
_FILE_REF = lazy_re(r"(?i)^[\w.~/\\-]*[/\\][\w.~/\\-]*$|\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|ya?ml|txt|env|"
                    r"pub|gpg|asc|ini|cfg|conf|toml|xml|properties|html?|js|py|rb|php|go|java|sh|"
                    r"png|jpe?g|gif|svg|webp|ico|bmp|tiff?|heic|mp[34]|wav|ogg|webm|woff2?|ttf|otf|eot|pdf|css|scss|"
                    r"csv|zip|tgz|jar|dll|exe|lock|log)$")
_URL = lazy_re(r"(?i)^[a-z][a-z0-9+.-]*://")
_CALL_OR_INDEX = lazy_re(r"[()\[\]{}]")
_VERSION_OR_NUMBER = lazy_re(r"^(?:[~^]|[<>]=?|==?)?[vV]?\d+(?:[.\-_]\d+)+(?:[.-]?[A-Za-z]{1,6}\d*)?$|^[vV]?\d+[A-Za-z]{0,5}$"
                             r"|^[vV]?\d+(?:\.\d+){1,3}(?:-[a-z]+(?:-\d+)?(?:-r\d+)?)$"  # 1.124.0-debian-12-r0: an image tag
                             r"|^v\d+\.\d+\.\d+-(?:0\.)?\d{14}-[0-9a-f]{12}$")  # v0.0.0-20161001094733-a6f4afe4910c: Go
_UUID_NIL = lazy_re(r"^0{8}-0{4}-0{4}-0{4}-0{12}$")
#: A locale: a language, then a region, a script or the area a locale names (the world, Europe, Latin America: en_001,
#: es-419), as CLDR writes them (sr_Latn_BA, pt-BR).
_LOCALE = lazy_re(r"[a-z]{2,3}(?:[_-](?:[A-Z]{2}|001|150|419|[A-Z][a-z]{3}))+")
#: A JSON pointer into the same document, as JSON Schema and OpenAPI refer to a definition (#/components/schemas/X,
#: #/definitions/X, #/$defs/X): a schema's property named password or token points at the type of the field.
_JSON_POINTER = lazy_re(r"#(?:/[A-Za-z_$][\w$.-]*){2,}")
#: A column's SQL type with its size (VARCHAR(80), CHAR(64), DECIMAL(10,2)), as a schema maps client_secret to it.
_SQL_TYPE = lazy_re(r"(?i:var)?(?:CHAR|BINARY|VARCHAR2|NVARCHAR|NCHAR|DECIMAL|NUMERIC|BLOB|TEXT|BIT|INT|INTEGER|BIGINT)"
                    r"\(\d{1,5}(?:,\s?\d{1,3})?\)(?:\s(?:NOT\s)?NULL)?")
_REGEX_SYNTAX = lazy_re(r"\(\?[:=!<P]|\\[dwsbDWSB]|\[\^?[^\]]+\][*+?{]|\)[*+?]|\|.*\)|\[\^?[^\]]*(?:a-z|A-Z|0-9)")
#: (Underscores only between the name's parts: with \w inside them too, a long snake_case value could be split in
#: exponentially many ways, 0.4-0.9 s for each of the TypeScript compiler's 100-character message keys.)
_ARTIFACT = lazy_re(r"[A-Za-z][A-Za-z0-9.]*(?:[-_][A-Za-z][A-Za-z0-9]*)*[-_:@]v?\d+(?:\.\d+)+(?:[-.+][A-Za-z0-9.]+)?")
#: A version and what it is of, as go.sum writes one (v2.0.2+incompatible/go.mod, v0.0.0-20210101-abcdef).
_VERSION_THEN_NAME = lazy_re(r"v\d+\.\d+\.\d+(?:[-+][\w.]+)*(?:/[\w.]+)*")
#: A sentence in snake_case, three words or more, numbers allowed among them (a compiler's message keys:
#: Identifier_expected_1003, Type_0_is_not_assignable_to_type_1_2322, _0_modifier_already_seen_1030): a name,
#: whatever it is assigned to.
_SNAKE_SENTENCE = lazy_re(r"_?(?:[A-Za-z][a-z]*|\d{1,5})(?:_(?:[A-Za-z][a-z]*|\d{1,5})){2,}")
_LOWER_WORD = lazy_re(r"[a-z]{2,}")


def _snake_sentence(v: str) -> bool:
    """See _SNAKE_SENTENCE; a longer one may hold acronyms and versions too (..._targeting_ECMAScript_5_and_higher),
    as long as half of its six parts or more are lower-case words."""
    if _SNAKE_SENTENCE.fullmatch(v):
        return True
    parts = v.strip("_").split("_")
    return len(parts) >= 6 and sum(bool(_LOWER_WORD.fullmatch(p)) for p in parts) * 2 >= len(parts)


_WORDS_AND_NUMBER = lazy_re(r"[a-z]+(?:[_-][a-z]+)+(?:[_-]?\d{1,4})?|[A-Z]+(?:_[A-Z]+)+(?:[-_]?\d{1,4})?"
                            r"|[A-Z]{3,}_\d{2,4}")  # ANTLR_087: an error code a parser token constant names
#: Lower-case words that open with "not" and say what the value is not (not!hex, not-valid-hex!, not_base64).
_NEGATED_WORDS = lazy_re(r"not(?:[-_!. ][a-z][a-z0-9]{1,11}){1,3}!?|not-[a-z]{2,12}!")
#: A rate limit, or several (django-allauth's "reset_password": "1/m/ip,1/m/key", a throttle's 100/hour): the
#: setting of a password or login form's endpoint, not a password.
_RATE_LIMIT = lazy_re(r"\d+/\d*(?:s|m|h|d|sec|second|min|minute|hour|day)(?:/[a-z]+)?"
                      r"(?:\s*[,;]\s*\d+/\d*(?:s|m|h|d|sec|second|min|minute|hour|day)(?:/[a-z]+)?)*")
_RULE_LIST = lazy_re(r"[a-z_]+(?::[\w,.-]+)?(?:\|[a-z_]+(?::[\w,.-]+)?)+"
                     # cut at a quote inside the list: 'confirmed|' . ..., 'required|notIn:['
                     r"|[a-z_]+(?::[\w,.-]+)?(?:\|[A-Za-z_]+(?::[\w,.-]+)?)*\|(?:[A-Za-z_]+:\[?)?")
_COLOR = lazy_re(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_DATE_OR_TIME = lazy_re(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?\S*)?$|^\d{1,2}:\d{2}(?::\d{2})?$")
#: Values that name a kind of thing rather than being a secret: MIME types, charsets, algorithms, booleans.
_KNOWN_WORDS = lazy_re(
    r"(?i)^(?:application/\S+|text/\S+|utf-?8|ascii|latin-?1|sha-?\d+|md5|hmac-?sha\d+|hs\d{3}|rs\d{3}|es\d{3}|"
    r"bearer|basic|oauth ?(?:[12](?:\.0)?)?|jwt|aes-?\d+(?:-\w+)?|base64|hex|enabled|disabled|required|optional|on|off|yes|no)$"
)


#: A word written with a digit inside (e2e, k8s, i18n): a word of a name, not a random part.
_RETRONYM = lazy_re(r"[a-z]{1,2}\d{1,2}[a-z]{1,2}")


#: A lowerCamelCase word (sortBy, lastSeen), as a storage key's last part is written (wekan-cards-sortBy).
_LOWER_CAMEL = lazy_re(r"[a-z]+(?:[A-Z][a-z]+)+")


def _kebab_name(v: str) -> bool:
    """Lower-case words joined by hyphens, numbers of up to six digits among them, an optional "2." in
    front: a key or flag name, not a secret (at least two words of three letters or more)."""
    parts = re.sub(r"^\d+\.", "", v).split("-")
    if len(parts) < 3 or not all((p.isdigit() and len(p) <= 6) or (p.isalpha() and p.islower())
                                 or _RETRONYM.fullmatch(p) or _LOWER_CAMEL.fullmatch(p) for p in parts):
        return False
    return sum(p.isalpha() and len(p) >= 3 for p in parts) >= 2


def _char_classes(v: str) -> int:
    return sum((
        any(c.islower() for c in v),
        any(c.isupper() for c in v),
        any(c.isdigit() for c in v),
        any(not c.isalnum() for c in v),
    ))


def _entropy_floor(n: int) -> float:
    """Minimum bits/char for a value of length n: random strings of that length clear it easily."""
    if n < 10:
        return 2.0
    if n < 16:
        return 2.5
    return 2.75


#: Words that mark a value as a stand-in wherever they appear in it.
_STAND_IN_HINTS = lazy_re(
    r"(?i)example|changeme|change_me|placeholder|your[_-]|<your|dummy|mock|xxxxx|redacted|\*{4}|fake|bogus|sample|notreal|"
    r"not[_-](?:real|a[_-]secret)|insert[_-]|replace|todo|fixme|random[_-]?string"
)


def _random_looking(v: str) -> bool:
    """Long and varied enough that no stand-in word list should veto it (a random token starting 'My...')."""
    if len(v) < 20 or shannon_entropy(v) < 3.8 or _STAND_IN_HINTS.search(v):
        return False
    return not _SNAKE_OR_CAMEL_WORDS.fullmatch(v.strip("_").rstrip("0123456789"))  # EllipticCurvePrivateKey


_HEX = lazy_re(r"[0-9a-f]+|[0-9A-F]+")


def _alphabet_size(v: str) -> int:
    """How many characters the alphabet a value seems drawn from has: digits, hex, one case and digits, both cases
    and digits, or base64's 64."""
    if v.isdigit():
        return 10
    if _HEX.fullmatch(v):
        return 16
    if v.isalnum():
        return 36 if v.islower() or v.isupper() else 62
    return 64


@functools.lru_cache(maxsize=512)
def _expected_entropy(n: int, k: int) -> float:
    """The Shannon entropy (bits/char) a string of n characters drawn uniformly from k has on average: each
    character's count is Binomial(n, 1/k), and H = log2(n) - (1/n) * sum(count * log2(count))."""
    p = 1.0 / k
    mean_c_log_c, prob = 0.0, (1.0 - p) ** n  # prob: P(count == c), from c == 0 upwards
    for c in range(1, n + 1):
        prob *= (n - c + 1) / c * p / (1.0 - p)
        mean_c_log_c += prob * c * math.log2(c)
        if c > 4 * n * p + 20 and prob < 1e-12:
            break
    return math.log2(n) - k * mean_c_log_c / n


def _random_entropy_floor(v: str) -> float:
    """The least entropy a value of this length, drawn at random from its alphabet, has but for about one in a
    thousand: a 32-digit random hex key has 3.3 to 3.9 bits/char, a 32-character random base62 one 4.1 to 4.9,
    so one fixed floor either drops random hex or lets words through."""
    n = len(v)
    return _expected_entropy(n, _alphabet_size(v)) - 2.6 / math.sqrt(n)


def _random_body(p: str) -> bool:
    """A run of letters and digits drawn at random (9f3c0a17b2e84d65..., x1ib9sdxm9ea61kv...): sixteen characters
    or more, letters and digits both, no counting run (abcdef, 123456), as varied as random text of its
    alphabet is. No word of a code identifier looks like that."""
    if len(p) < 16 or not p.isalnum() or sum(c.isdigit() for c in p) < 2 or sum(c.isalpha() for c in p) < 2:
        return False
    if has_ordered_run(p.lower(), 6) or _SNAKE_OR_CAMEL_WORDS.fullmatch(re.sub(r"\d", "", p)):
        return False
    if all(len(c) >= 3 and longest_ordered_run(c) == len(c) for c in _CLASS_CHUNKS.findall(p)):
        return False  # abc123def456ghi789: counting, a letter run and a digit run at a time
    return shannon_entropy(p) >= _random_entropy_floor(p)


def _prefixed_random(v: str) -> bool:
    """A token with its issuer's prefix (acme_9f3c0a17b2e84d65..., live_x1ib9sdxm9ea61kv...): words joined by
    underscores, then a random body. snake_case has the shape, but no name has such a last word."""
    head, sep, body = v.rpartition("_")
    return bool(sep) and bool(head.strip("_")) and _random_body(body)


_TWO_CAPITALISED_WORDS = lazy_re(r"([A-Z][a-z]{3,})([A-Z][a-z]{2,})")
_VOWEL = lazy_re(r"[aeiou]")


def _two_capitalised_words(p: str) -> bool:
    """Two capitalised words in a row (PrivateKey), each with a vowel: a long random run of letters throws up
    the shape now and then (WvysFjf in a 45-character base64 key), but rarely with a vowel in each part."""
    return any(_VOWEL.search(m.group(1)) and _VOWEL.search(m.group(2)) for m in _TWO_CAPITALISED_WORDS.finditer(p))


def _random_segment(p: str) -> bool:
    """A part of a value drawn at random: letters of both cases and digits mixed, nothing else, not words and a
    number (AES256_CBC_HMAC_Encstring, a constant's name, has underscores; Sha256Digest2 is camelCase)."""
    if len(p) < 12 or not p.isalnum() or sum(c.isdigit() for c in p) < 2 or p.isupper() or p.islower():
        return False
    if _two_capitalised_words(p):
        return False  # MLKEM768X25519PrivateKey: a type's name, digits and all
    return shannon_entropy(p) >= 3.5 and not _SNAKE_OR_CAMEL_WORDS.fullmatch(re.sub(r"\d", "", p))


def _random_dotted(v: str) -> bool:
    """A token with dots whose long part is random (hvb.JGbZZaCkOSgsZ56uhGl...): not a reference such as
    settings.API_KEY or self.password, though it has the same shape."""
    return _random_looking(v) and any(_random_segment(p) for p in v.split("."))


def _random_with_slashes(v: str) -> bool:
    """Base64 with slashes in it (ShAYwge/87H4lC3j7lZ48pAL), which has the shape of a relative path: a path has
    no random part of mixed case and digits, and names a file (an extension) or starts at a root."""
    if v[:1] in "/~." or "." in v or "\\" in v:
        return False
    return _random_looking(v) and any(_random_segment(p) for p in re.split(r"[/+=_-]", v))


def _stand_in(v: str) -> bool:
    """A placeholder, unless the value is long random text that merely starts like a stand-in word
    (an instruction such as YourPwdShouldBeLongAndSecure! reads as varied text, and is still one)."""
    if YOUR_VALUE.match(v) or v in DOCUMENTED_EXAMPLES:
        return True
    # (00112233...EEFF, a placeholder, varies enough to read as random text: it is typed in order)
    return is_placeholder(v) and (not (_random_looking(v) and not _template_field(v)) or bool(DOUBLED_NIBBLES.fullmatch(v)))


#: Not a value: a route's parameter or a Ruby symbol (secret: ':secret', "apiKey": ":apiKey"), an environment variable
#: named in a string ("$DB_PASSWORD", or two run together: "$password$key"; Authelia's "$plaintext$..." holds the
#: secret after it), "%DB_PASSWORD%", an installer's token to replace ('%CONFIG-DBPASS', osTicket), Symfony's
#: parameters "%kernel.secret%" and "%env(resolve:APP_SECRET)%", a setting taken from one:
#: "Credentials:key_file=$GOOGLE_APPLICATION_CREDENTIALS"), a command-line flag ("--password"), a value elided in
#: documentation ("492f...", "sk_live_…"), grammar notation, a Maven property filled in at build time
#: (password: @config.password@ in JeecgBoot's application.yml).
_NOT_A_VALUE = lazy_re(r":[a-z_][A-Za-z_]*|(?:[\w.-]+=|/|[?&#])?(?!\$plaintext\$)(?:\$[A-Za-z_][A-Za-z0-9_]*)+"
                       r"|env\([A-Za-z_][A-Za-z0-9_]*\)|%[A-Za-z_][\w.]*%|%[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)+"
                       r"|%env\([\w:.-]+\)%|--?[A-Za-z][A-Za-z-]*=?|.*(?:\.\.\.|…)"
                       r"|\d*\*[A-Za-z][\w-]*"  # grammar notation such as `token = 1*tchar` (ABNF)
                       r"|@[a-z][\w-]*(?:\.[A-Za-z][\w-]*)+@")  # a property Maven's resource filtering puts in
#: Part of the value masked out (####, ****, ••••, XXXX): a redacted copy, not the secret.
_MASKED = lazy_re(r"#{4,}|\*{3,}|•{3,}|X{4,}|^\*+(?i:masked|redacted|hidden|removed|filtered|sensitive)\*+$"
                  r"|\$encrypted\$")  # what AWX and Ansible Tower answer for every secret field they hold
#: A value that is code joining strings: '?access_token='.config('x'), "x-token-auth:"+t.token+"@".
_CONCATENATION = lazy_re(r"[.+][A-Za-z_$][\w.$]*[(+]")
#: What an IPv6 address can be written with (hex groups and colons), checked before parsing one.
_IPV6_SHAPE = lazy_re(r"[0-9A-Fa-f:]{2,39}")
#: An object identifier as OpenSSL's obj_mac.h defines one: a parent's macro and its arcs as long literals.
_OBJECT_ID_MACRO = lazy_re(r"[A-Za-z_]\w*(?:,\d{1,9}L)+")
#: A value a Vault audit device wrote in a token's place: an HMAC of it, so the log can be kept and shared.
_AUDIT_HMAC = lazy_re(r"hmac-sha(?:1|224|256|384|512):[0-9a-f]{32,128}")
#: Ways of authenticating joined by + (SFTPGo's login methods: "publickey+password", "TLSCertificate+password").
_METHODS_JOINED = lazy_re(r"(?i)(?:[a-z]+\+)+(?:password|passphrase|publickey|keyboard-interactive|certificate|otp|pin|totp)"
                          r"|(?:password|publickey|tlscertificate|certificate)(?:\+[a-z]+)+")
#: A string added to a variable (minified code building a form: ...'>\n",e+="<input ... value='"+$(...)...): code.
_COMPOUND_JOIN = lazy_re(r"[\w$\]]\+=(?:[\"'`]|$)")
#: A name plus a small number: arithmetic, or ABAP's offset into a field (lv_auth = lv_auth+6.).
_NAME_PLUS_NUMBER = lazy_re(r"[A-Za-z_][\w$]*\+\d{1,4}")
#: Version constraints joined by | or || (composer.lock: "illuminate/auth": "^11.35|^12.0|^13.0") or a comma
#: (poetry.lock: tiktoken = ">=0.7.0,<1.0.0").
_VERSION_LIST = lazy_re(r"(?:[~^]|[<>!]=?|==?)?v?\d+(?:\.(?:\d+|\*))*(?:(?:\|\|?|, ?)(?:[~^]|[<>!]=?|==?)?v?\d+(?:\.(?:\d+|\*))*)+")
#: Where a command reads the secret from instead of the secret (openssl's -passin env:VAR, file:path, fd:3).
_ENV_REFERENCE = lazy_re(r"(?:env|file|fd):[\w./-]+|\$env:[A-Za-z_]\w*"  # and PowerShell's $env:WINGET_PAT
                         # Argo CD's $secret-name:key ($k8ssecret:clientsecret, $plugin-secret:plugin.token): where
                         # the value is kept
                         r"|\$[A-Za-z][\w-]*:[A-Za-z][\w.-]*"
                         # a user and a variable for the password (lita:$lita_password, fluxcd:$GITHUB_TOKEN; the
                         # braced ${VAR} is a template, which _template_field rejects first)
                         r"|[\w.@-]+:\$[A-Za-z_]\w*")
#: Metasyntactic words and a counter (foobar123, bar456, fooBarFoo123, foobar123abc, foosecret1): test data.
_METASYNTACTIC = lazy_re(r"(?i)(?:foo|bar|baz|qux|quux){1,4}(?:secret|pass(?:word)?|token|key)?\d{0,6}(?:abc)?[!.#_]?")
#: Code where a value would be: a call's or an index's start or an empty call
#: (:label="trans('auth.password.new')", [password]="pdfPassword()", token = 'roles[' + role + ']'), a CSS custom
#: property (var(--fgSyntaxStrings)), a Python entry point
#: (certbot_dns_route53._internal.dns_route53:HiddenAuthenticator), a Laravel rule (required_if:change_password,true,
#: or a size alone: 'pusher_app_secret' => 'max:50' in an installer's form rules), a macro or function applied to a
#: name (AMP's value="AUTHDATA(api_token)", filled in by the page's script).
_CALL_START = lazy_re(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\(\)?|\[)")
_CSS_VARIABLE = lazy_re(r"var\(--[\w-]+\)")
_ENTRY_POINT = lazy_re(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_LARAVEL_RULE = lazy_re(r"(?:required|exclude|prohibited)_(?:if|unless|with|without)(?:_all)?:[\w,.-]+"
                        r"|(?:max|min|size|between|digits|digits_between|gt|gte|lt|lte):\d+(?:,\d+)?")
_CALL_ON_NAME = lazy_re(r"[A-Za-z_$][\w$]{2,}\(['\"]?(?:[a-z_][a-z0-9_.-]{2,}|[A-Z][A-Z0-9_]{2,})['\"]?\)")
#: The example UUID of RFC 4122's Wikipedia page and countless API docs.
_EXAMPLE_UUID = "123e4567-e89b-12d3-a456-426614174000"
_BASE64_TEXT = lazy_re(r"[A-Za-z0-9+/]{6,}={0,2}")
#: What a stand-in says once decoded: words with a test or secret word among them (test-api-key, example-app-secret,
#: foobar_new).
_STAND_IN_WORDS = lazy_re(r"(?i)(?=.*(?:test|example|sample|dummy|fake|notareal|notreal|demo|foo|password|secret|token|key|pass))"
                          r"[a-z]+\d*(?:[-_ ][a-z]+\d*)*")  # my-secret-key-which-should-be-base64-encoded


#: A word run into the kind of secret, lower case, maybe numbered (webhooksecret123, dbpassword, apitoken1).
_WORD_THEN_SECRET_WORD = lazy_re(r"[a-z]{2,12}[_-]?(?:secret|password|passwd|token)\d{0,6}[!.#]?")


def _names_itself(text: str) -> bool:
    """A service default, or a value that says what it stands for: password123, newRootPassword123, test123456."""
    return bool(text.lower() in _DEFAULT_PASSWORDS or _SELF_NAMED.fullmatch(text) or _WORDS_IN_VALUE.fullmatch(text)
                or _WORD_THEN_SECRET_WORD.fullmatch(text)
                or _ACCOUNT_WORD_AND_NUMBER.fullmatch(text) or _KEYBOARD_FILLER.fullmatch(text)
                or _SENTENCE_NAMING_SECRET.fullmatch(text) or _sentence_run_together(text))


#: Lower-case words run together, one of them the kind of secret: a sentence in the value's place.
_RUN_TOGETHER = lazy_re(r"(?=.*(?:pass|secret|sercret|token|key))[a-z][a-z0-9@]{15,}")


def _sentence_run_together(text: str) -> bool:
    """apassphrasewhichneedstobe32bytes, changemetosomethingsecret: words that describe the value, not a value."""
    return bool(_RUN_TOGETHER.fullmatch(text)) and letter_pair_score(re.sub(r"[^a-z]", "", text)) > _WORD_SCORE


def _plain_stand_in(text: str) -> bool:
    return _names_itself(text) or bool(_STAND_IN_WORDS.fullmatch(text)) or is_placeholder(text)


#: URL-safe base64's two characters, mapped to the standard alphabet's.
_URL_SAFE_TO_STANDARD = str.maketrans("-_", "+/")


def _base64_text(v: str, unpadded: bool = False) -> str | None:
    """What a base64 value says, when it is printable ASCII text. With ``unpadded``, also URL-safe base64 and
    base64 written without its padding (a VAPID key, a key setting), when the value is long enough that printable
    text is no accident (short runs of letters decode to printable bytes as often as not)."""
    if unpadded and len(v) >= 24 and "=" not in v:
        if ("-" in v or "_" in v) and "+" not in v and "/" not in v:
            v = v.translate(_URL_SAFE_TO_STANDARD)
        v += "=" * (-len(v) % 4) if len(v) % 4 != 1 else ""
    if len(v) % 4 or not _BASE64_TEXT.fullmatch(v):
        return None
    try:
        text = base64.b64decode(v, validate=True).decode("ascii").strip()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return text if text.isprintable() else None


_SECRET_FIELD = lazy_re(r"(?i)pass|secret|token|key")


def _json_of_stand_ins(text: str) -> bool:
    """A JSON object whose secret fields all hold stand-ins ({"UserID":"defaultUser","Password":"defaultPassword"}, the
    token a local development server takes)."""
    data = json_object(text)
    if data is None:
        return False
    secrets = [val for key, val in data.items() if _SECRET_FIELD.search(str(key))]
    return bool(secrets) and all(isinstance(val, str) and _plain_stand_in(val) for val in secrets)


def _encoded_stand_in(v: str) -> bool:
    """Base64 of a stand-in (dGVzdC1hcGkta2V5Cg== is "test-api-key"), or of user:password whose password is
    one (dXNlcm5hbWU6cGFzc3dvcmQ= is "username:password"): Helm values and docker configs in docs and tests."""
    text = _base64_text(v, unpadded=True)
    if text is None:
        return False
    if text.startswith("{"):
        return _json_of_stand_ins(text)
    if text.isdigit() and _counted_digits(text):
        return True  # MDEyMzQ1Njc4OTAx... is "0123456789012...": digits counted, a test's key
    _, sep, password = text.partition(":")
    return _plain_stand_in(password if sep else text)


def _counted_digits(t: str) -> bool:
    """Eight digits or more counted up, one after another (0123456789012...) or two by two (01020304...)."""
    if len(t) < 8:
        return False
    steps = sum(1 for a, b in zip(t, t[1:]) if int(b) == (int(a) + 1) % 10)
    if steps >= 0.85 * (len(t) - 1):
        return True
    pairs = [int(t[i:i + 2]) for i in range(0, len(t) - 1, 2)]
    return len(pairs) >= 4 and all(b == a + 1 for a, b in zip(pairs, pairs[1:]))


#: "-----BEGIN" in base64: how an encoded PEM block opens.
_PEM_IN_BASE64 = "LS0tLS1CRUdJTi"
#: The armour a certificate or public key starts with: base64-encoded (LS0tLS1CRUdJTi...), it is still public
#: (EKS's cluster_auth_base64, a kubeconfig's certificate-authority-data).
_PUBLIC_PEM = lazy_re(rb"-----BEGIN (?:[A-Z0-9]+ )*(?:CERTIFICATE|PUBLIC KEY)")


def _encoded_public_pem(v: str) -> bool:
    if not v.startswith(_PEM_IN_BASE64):
        return False
    try:
        return bool(_PUBLIC_PEM.match(base64.b64decode(v[:48])))
    except (binascii.Error, ValueError):
        return False


#: A Bitnami SealedSecret's value: base64 of the session key's length (two bytes: 256 or 512, the size of the
#: cluster's RSA key), the session key encrypted for the cluster, then the value encrypted with it.
_SEALED_SECRET = lazy_re(r"A[gQ][A-D][A-Za-z0-9+/=]{297,}")


#: A PEM block's armour and what is between its lines.
_PEM_TEXT = lazy_re(r"-----BEGIN [A-Z0-9 ]+-----(.*?)-----END [A-Z0-9 ]+-----", re.S)


def _encoded_empty_pem(v: str) -> bool:
    """Base64 of a PEM block holding fewer than 40 characters: the armour of a key, not a key."""
    if not v.startswith(_PEM_IN_BASE64) or len(v) > 400:
        return False
    try:
        text = base64.b64decode(v, validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    m = _PEM_TEXT.fullmatch(text.strip())
    return m is not None and len(re.sub(r"\s", "", m.group(1))) < 40


def _sealed_secret(v: str) -> bool:
    """Ciphertext only the cluster's controller can open, made to be committed (kubeseal's output): what it
    hides is a secret, the value itself is not one."""
    if not _SEALED_SECRET.fullmatch(v):
        return False
    key_length = int.from_bytes(base64.b64decode(v[:4]), "big") >> 8
    return key_length in (256, 512) and len(v) * 3 // 4 > key_length + 2 + 16


#: The opening of a template token, cut where the string is joined to code ('{trackable='.$id.'}',
#: '{CODEMODEBLOCK'+index+'}'), cut at a quote inside it (Smarty's value="{$fields['smtpPassword'].value}") or an
#: XML section's opening ("[CDATA["): a bracket, a name, one sign.
_TEMPLATE_OPENING = lazy_re(r"[{\[<(]\.?\$?[A-Za-z_][A-Za-z_.-]*[=:\[(]?")
#: Code between two string literals taken for a value ('?access_key='.$this->auth.'&...', 'API-Password: '.$this->
#: keys['...']): a joining dot or plus, then a variable, a member or an index being opened.
_JOINED_REFERENCE = lazy_re(r"[.+][ \t]*(?:\$[A-Za-z_][\w$]*(?:(?:->|::|\.)[A-Za-z_][\w$]*)*[ \t]*[.+(\[]?|"
                            r"[A-Za-z_][\w$]*(?:(?:->|::|\.)[A-Za-z_][\w$]*)*[ \t]*[.+\[])")
#: A call joined to the string before it, and whatever follows it to the next quote (",apikey='.db_input(strtoupper(
#: md5(..., "apiKey="+encodeURIComponent(o)),{ in a minified editor): code that makes the value.
_JOINED_CALL = lazy_re(r"[.+][ \t]*[A-Za-z_$][\w$]*(?:(?:->|::|\.)[A-Za-z_$][\w$]*)*\(")
#: A list of words joined by commas (an HTML sanitizer's or beautifier's tag list: 'br,input,link,meta,!doctype',
#: '...,?xml,embed,?php,?,?='), or words joined by URL escapes (Somewhere%26Else).
_WORD_LIST = lazy_re(r"[!?]?[a-z][a-z0-9-]*(?:, ?(?:[!?]?[a-z][a-z0-9-]*|\?=?)){2,}"
                     r"|[A-Za-z]+(?:%[0-9A-Fa-f]{2}[A-Za-z]+)+")
#: A property name's dotted suffix (".tls.mutualAuth", joined to a prefix), an editor grammar's token name with a
#: group substituted into it (keyword.tag-$1).
_PATH_OR_TOKEN_NAME = lazy_re(r"(?:\.[a-z][A-Za-z0-9]*){2,}|[a-z]+(?:\.[a-z]+)*(?:-[a-z]+)*-?\$\d")
#: A CSS keyword (!important), an npm package's scoped path (@medusajs/medusa/auth).
_CSS_OR_PACKAGE = lazy_re(r"![a-z]+(?:-[a-z]+)*|@[a-z0-9][\w.-]*/[\w.-]+(?:/[\w.-]+)*")
#: A provider's prefix (and test or live), then filler: sk_test_1234567890, BECOME-SUCCESS-abcdefghijklmnopqrstuvxyz,
#: integration-test-better-auth-secret-0123456789abcdef.
_PREFIX_THEN_RUN = lazy_re(r"[A-Za-z]+(?:[-_][A-Za-z]+)*[-_](\d{8,}|[a-z]{8,}|[A-Z]{8,})[a-z]{0,6}")
#: Words joined by - or _ that say they stand for a secret (better-auth-secret-at-least-32-chars!!, encrypted-2fa-secret).
_WORDS_NAMING_A_SECRET = lazy_re(r"(?i)(?=.*(?<![a-z])(?:secret|token|key|password|passphrase)(?![a-z]))"
                                 r"_?(?:[a-z]+|\d{1,3}[a-z]*)(?:[-_+](?:[a-z]+|\d{1,3}[a-z]*)){2,}"
                                 # a test's unique tail: step-live-secret-8f14a2, tf-disk-guard-SECRET-abc123xyz
                                 r"(?:[-_][0-9a-z]{1,10})?[!.]*")
#: A Maven or Gradle coordinate (com.j256.two-factor-auth:two-factor-auth:1.3), a setting and a constant's name
#: (constraintName=CONSTRAINT_OFFL_CL_SES_PK2 in a Liquibase changelog).
_COORDINATE_OR_SETTING = lazy_re(r"[a-z][\w.-]*:[a-z][\w.-]*:\d[\w.-]*|[a-z][A-Za-z]*=[A-Z][A-Z0-9_]*")
#: Stand-ins a test writes where a token or a value goes: a JWT's header with words (eyJhbGciOiJSUzI1NiJ9.test.signature),
#: a token's shape with a word signature (aaa.!!!notbase64!!!.sig, or nothing between: header..signature), value1,
#: wrong1.
_TEST_TOKEN = lazy_re(r"eyJ[A-Za-z0-9_-]+(?:\.[a-z]+){1,2}|[^.\s]+\.[^.\s]*\.(?:sig|signature)"
                      r"|(?i:value|val|string|text|wrong|invalid|bad)\d{0,3}")
#: An environment variable set to something or to nothing (NETDATA_CLAIM_ROOMS=room-1: another setting than the
#: secret; tox's _TESTPATH=tests/integrations/langchain; '_APP_TRACKING_SECRET=' . $value, a setting written out;
#: its name has an underscore, which base32 with padding, JBSWY3DPEHPK3PXP====, has not);
#: a constant's name of three parts or more (NGINX_PROXY_PROTOCOL_TLV_0X01).
_SETTING_OR_CONSTANT = lazy_re(r"(?=[A-Z0-9]*_)_?[A-Z][A-Z0-9_]*=(?:[^=\s]\S*)?|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){2,}")
#: Crowdin's in-context placeholders (crwdns12312:0crwdne12312:0, a pseudo-language's every string); a Laravel
#: route's controller action (SettingsController@password).
_TOOL_PLACEHOLDER = lazy_re(r"crwdns\d+:\d+crwdne\d+:\d+|(?:[A-Z][A-Za-z0-9]*\\)*[A-Z][A-Za-z0-9]*Controller@[a-z_]\w*")
#: A word and one letter or digit after it: how tests name their values apart (secret-A, secret-B).
_WORD_AND_LETTER = lazy_re(r"[a-z]{2,12}[-_][A-Za-z0-9]")
#: Constants' names, one or another (API_KEY/ZENAPI_KEY, USERNAME:PASSWORD): which settings go there, not a value.
_CONSTANT_ALTERNATIVES = lazy_re(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?:[/:|][A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)+")
_SECRET_NAME_WORDS = frozenset({"KEY", "TOKEN", "SECRET", "PASSWORD", "PASS", "USERNAME", "USER", "APIKEY"})
#: Operators minified code has and a password seldom does; two different ones make a value code.
_CODE_OPERATORS = ("&&", "||", "==", "!=", ")}", "){", "((", "))", "=>")
#: Words a stand-in value is built from around its filler: pi_3ABC_secret_xyz, seti_ABC123_secret_xyz.
_STAND_IN_PARTS = frozenset({"pi", "seti", "secret", "sk", "pk", "rk", "ek", "whsec", "test", "live", "key", "token",
                             "demo", "example", "sample", "dummy", "fake"})


def _filler_parts(v: str) -> bool:
    """Every part of the value, split at _ and -, is a stand-in word of a provider's format or counted filler
    (ABC, xyz, abc123def456, 3ABC): pi_3ABC_secret_xyz, sk_abc123def456ghi789."""
    parts = re.split(r"[-_]", v)
    if len(parts) < 2:
        return False
    filler = [p for p in parts if p.lower() not in _STAND_IN_PARTS]
    if not filler or len(filler) == len(parts):
        return False
    for p in filler:
        chunks = _CLASS_CHUNKS.findall(p)
        if "".join(chunks) != p or not chunks:
            return False
        if not all(_counted_run(c) or (len(c) == 1 and c.isdigit()) for c in chunks) \
                or all(len(c) == 1 for c in chunks):
            return False
    return True


def _code_shape(v: str) -> bool:
    """Code or markup where a quoted value was looked for (see the patterns above), or a value elided in docs
    (eyJhb...2g). Each pattern runs only where the characters it needs are there: this is asked of every
    candidate a generic rule keeps."""
    first, last = v[0], v[-1]
    if first in "{[<(" and _TEMPLATE_OPENING.fullmatch(v):
        return True
    if ("," in v or "%" in v) and _WORD_LIST.fullmatch(v):
        return True
    if first in "!@" and _CSS_OR_PACKAGE.fullmatch(v):
        return True
    if (first == "." or "$" in v) and _PATH_OR_TOKEN_NAME.fullmatch(v):
        return True  # ".tls.certPrivateKeyPassword" (a property's suffix), keyword.tag-$1 (an editor's token name)
    if "..." in v or "\u2026" in v or v.endswith(("/*", ":..", "_..", "-..")) or v.startswith("--"):
        # elided (a prefix, then two dots: AstraCS:..); a resource pattern (arn:...:secret:team/app/*); the next
        # flag, read as this one's value
        return True
    if v.isupper() and ("/" in v or ":" in v or "|" in v) and _CONSTANT_ALTERNATIVES.fullmatch(v) \
            and any("_" in p or p in _SECRET_NAME_WORDS for p in re.split(r"[/:|]", v)):
        return True  # API_KEY/ZENAPI_KEY/USERNAME:PASSWORD: the settings a docs page says may go there
    dashed = "-" in v or "_" in v
    if (dashed or "+" in v) and _WORDS_NAMING_A_SECRET.fullmatch(v):
        return True
    if (":" in v or "=" in v) and _COORDINATE_OR_SETTING.fullmatch(v):
        return True
    if ("." in v or len(v) <= 10) and _TEST_TOKEN.fullmatch(v):
        return True
    if "_" in v and _SETTING_OR_CONSTANT.fullmatch(v):
        return True
    if ("crwdns" in v or "@" in v) and _TOOL_PLACEHOLDER.fullmatch(v):
        return True
    if sum(op in v for op in _CODE_OPERATORS) >= 2:
        return True  # +String(y))}if(3!=i.biff&&v>=0&&-1==[
    if (first in ".+" or last in ".+[") and _JOINED_REFERENCE.fullmatch(v) and ("$" in v or "->" in v or last in ".[+"):
        return True
    if first in ".+" and _JOINED_CALL.match(v):
        return True
    if not dashed:
        return False
    m = _PREFIX_THEN_RUN.fullmatch(v)
    if m and longest_ordered_run(m.group(1)) >= 8:
        return True
    return _filler_parts(v)


#: A unit of one to three characters repeated to the end (1A1A1A1A1A1A).
_PERIODIC = lazy_re(r"(.{1,3})\1+")
#: Web analytics' property and container IDs (Universal Analytics' UA-28909194-3, GA4's G-..., Tag Manager's
#: GTM-...): in every page's source, and a GitBook's config names one "token".
_ANALYTICS_ID = lazy_re(r"UA-\d{4,10}-\d{1,4}|G-[A-Z0-9]{10}|GTM-[A-Z0-9]{5,8}")
#: A BIP32 extended public key (xpub, and ypub/zpub and their testnet forms): derives a wallet's addresses and
#: signs nothing; btcpayserver's test vectors name one "signingKey". The private forms (xprv...) stay secrets.
_EXTENDED_PUBLIC_KEY = lazy_re(r"[xyztuvYZUV]pub[1-9A-HJ-NP-Za-km-z]{100,108}")
#: A CSS declaration (Emmet's abbreviations: "whs:pw": "white-space:pre-wrap;", where pw is pre-wrap).
_CSS_DECLARATION = lazy_re(r"[a-z]+(?:-[a-z]+)*:[ ]?[\w#.%-]+(?: [\w#.%-]+)*;")
#: An Azure AD B2C user flow's or custom policy's name (forgotPassword: 'B2C_1_reset_v3', B2C_1A_PasswordReset).
_B2C_POLICY = lazy_re(r"(?i:b2c)_1A?_[\w.-]+")
#: A CDK construct's logical ID: its path's names run together, then eight hex digits of their hash
#: (UserClicksServiceAPIEndpoint1DA4E100, a CloudFormation output's key in a snapshot).
_CDK_LOGICAL_ID = lazy_re(r"(?=(?:[A-Z0-9]*[A-Z][a-z]{2,}){2})"  # two words at least (not A1B2C3D4...)
                          r"(?:[A-Z][a-z0-9]*)+[0-9A-F]{8}")  # each part starts at a capital: one way to split
#: Letters, then eight digits or more counted out (1234567890 too): a name with a filler (FastDFS1234567890,
#: FastDFS's shipped http_secret_key; someRandomApiKeyForTesting1234567890).
_LETTERS_THEN_DIGITS = lazy_re(r"[A-Za-z]+[-_]?(\d{8,})")
#: The opening of a crypt(3) hash (bcrypt's $2y$10$), then what stands for the salt and digest.
_CRYPT_OPENING = lazy_re(r"\$(?:2[abxy]?|[156])\$(?:\d{1,2}\$)?(?:rounds=\d+\$)?")
#: A unit of two to eight characters three times or more, then part of it: typed filler (changedchangedchanged...chg).
_REPEATED_UNIT_FILLER = lazy_re(r"(.{2,8})\1{2,}.{0,8}")


def _words_before(letters: str) -> bool:
    """Letters that name something (FastDFS, someRandomApiKeyForTesting), where an alphabet's or a keyboard's run
    (jklmnopqrstu, zxcvbnmasdfghjkl) is a filler of its own that labelled sets count as a stand-in secret."""
    letters = letters.rstrip("-_")
    return longest_ordered_run(letters.lower()) < 4 and not _keyboard_walk(letters)


def _hash_shaped_stand_in(v: str) -> bool:
    """A password hash's opening around a stand-in ($2y$10$abcdefghijklmnopqrstuv, $2y$13$changedchangedchanged...):
    a test's value where a hash goes, not a hash; a real digest reads as random."""
    m = _CRYPT_OPENING.match(v)
    if m is None:
        return False
    body = v[m.end():]
    # (or alphabets joined, $2a$10$abcdefghijklmnopqrstuvwx..ABCDEFGHIJKLMNOPQRSTUVWXYZ12: "fake but valid format")
    counted = longest_ordered_run(body.lower()) >= len(body) - 2 or _counted_filler(body)
    return len(body) >= 8 and (counted or bool(_REPEATED_UNIT_FILLER.fullmatch(body)))


def _literal_like_secret(v: str) -> bool:
    """Shared checks for a literal value assigned to a secret-named variable."""
    if len(v) < 6 or _stand_in(v) or _template_field(v) or _NOT_A_VALUE.fullmatch(v) or _MASKED.search(v):
        return False
    if _code_shape(v):
        return False  # '{trackable='.$id, '.$this->auth.', 'br,input,link', !important, sk_test_1234567890, pi_3ABC_secret_xyz
    if v[:5] == "hmac-" and _AUDIT_HMAC.fullmatch(v):
        return False  # "client_token":"hmac-sha256:bd6d...": Vault's audit log keeps a token's HMAC, not the token
    if ":" in v and _IPV6_SHAPE.fullmatch(v) and _ip(v) is not None:
        return False  # pass: 'fe80:0000:...:f156' in a validator's tests: an address that passes, not a password
    if _UUID.fullmatch(v) and _PERIODIC.fullmatch(v[24:]):
        return False  # 48E92789-57A3-466A-9959-1A1A1A1A1A1A: a UUID typed as a stand-in
    if has_ordered_run(v.lower()) and len(v) - longest_ordered_run(v.lower()) <= 6:
        return False  # xoxp-1234567890, key_abcdefghij: a filler around a counted run
    if v.lower() == _EXAMPLE_UUID or _METASYNTACTIC.fullmatch(v):
        return False  # the example UUID of RFC 4122's explainers, foobar123: stand-ins
    m = _LETTERS_THEN_DIGITS.fullmatch(v)
    if (m and longest_ordered_run(m.group(1)) >= len(m.group(1)) - 1 and _words_before(v[:m.start(1)])) \
            or (v[0] == "$" and _hash_shaped_stand_in(v)):
        return False  # FastDFS1234567890, $2y$10$abcdefghijklmnopqrstuv: fillers
    if v[:1] in "UG" and _ANALYTICS_ID.fullmatch(v):
        return False  # UA-28909194-3: the analytics property a page reports to, public in its source
    if "pub" in v[1:4] and _EXTENDED_PUBLIC_KEY.fullmatch(v):
        return False  # xpub6DAb...: a wallet's public key
    if (v[:3].upper() == "B2C" and _B2C_POLICY.fullmatch(v)) or (v[:1].isupper() and _CDK_LOGICAL_ID.fullmatch(v)
                                                                and letter_pair_score(v[:-8].lower()) > _WORD_SCORE):
        return False  # B2C_1_reset_v3 (which flow resets a password), UserClicksServiceAPIEndpoint1DA4E100
    if v.endswith(";") and _CSS_DECLARATION.fullmatch(v):
        return False  # white-space:pre-wrap;
    if _CALL_START.fullmatch(v) or _CSS_VARIABLE.fullmatch(v) or _ENTRY_POINT.fullmatch(v) \
            or _LARAVEL_RULE.fullmatch(v) or ("(" in v and _CALL_ON_NAME.fullmatch(v)):
        return False  # trans(, pdfPassword(), var(--x), pkg.module:Class, required_if:field,true, AUTHDATA(api_token)
    if v.endswith("aws4_request"):
        return False  # X-Amz-Credential's scope (key ID/date/region/service/aws4_request): says which key signed
    if _KNOWN_WORDS.match(v) or _names_itself(v):
        return False  # password123, secret123, token1, newRootPassword123, test123456, Test124!: names of the value
    m = _NAME_AND_DATE.fullmatch(v)
    if m and _SNAKE_OR_CAMEL_WORDS.fullmatch(m.group(1)):
        return False  # didPurgeImageCachesForResizing-2026-03-30: a setting's name and when it was added
    if _encoded_stand_in(v):
        return False  # base64 of "test-api-key" or "username:password": a stand-in, encoded for a manifest
    if _encoded_public_pem(v) or _encoded_empty_pem(v):
        # base64 of "-----BEGIN CERTIFICATE-----...": public, whatever the setting is called; of the armour of a
        # private key and nothing in it (Traefik's test fixtures): no key
        return False
    if _sealed_secret(v):
        return False  # a SealedSecret's encryptedData: encrypted for the cluster's key, safe to commit
    if "+" in v and _METHODS_JOINED.fullmatch(v):
        return False  # "publickey+password", "TLSCertificate+password": which ways of logging in are combined
    if _CONCATENATION.fullmatch(v) or _NAME_PLUS_NUMBER.fullmatch(v) or _VERSION_LIST.fullmatch(v) \
            or _ENV_REFERENCE.fullmatch(v) or ("+=" in v and _COMPOUND_JOIN.search(v)):
        return False  # '?token='.config(...), "+t.token+", lv_auth+6, "^11.35|^12.0" (composer), env:CERT_PASS
    if "<" in v and _OPTION_PLACEHOLDER.search(v):
        return False  # --auth-token jwt,pub-key=<pub key path>,...: options whose values are yet to be filled in
    if v.endswith(".*") and _GLOB_OF_NAMES.fullmatch(v):
        return False  # ImportCredential=telegraf.* (systemd): which credentials, by a pattern of their names
    if v.endswith("==") and _DOTTED_NAME.fullmatch(v.rstrip("=!")):
        return False  # pw=process.platform==="win32" in minified code: a comparison, not base64 padding
    if (not any(c.isascii() for c in v) and sum(c.isalpha() for c in v) >= len(v) * 0.7) \
            or (not v.isascii() and len(_CJK.findall(v)) >= 2):
        # このパスワード再設定トークンは無効です。, 私钥(KEY), 支持非下划线开头，英文、数字、_,长度1-30: a translated
        # message, not a secret
        return False
    if _translated_label(v):
        return False  # wachtwoord, Пароль, Passwort*, API-Schlüssel, 管理パネルでPayUマーチャントキーとSaltを設定してください。
    if _counted_filler(v) or _jwt_header_only(v) or _prefix_then_stand_in(v):
        return False  # def456, ghi789 in tests; a JWT's header alone in API docs; AIzaSyD-test-api-key-123
    if _NAMESPACED_KEY.fullmatch(v) or _EMAIL_VALUE.fullmatch(v):
        return False  # t('fields:showPassword'); "credentials: `dev@acme.test` / `test`": the account, not its secret
    if _IAM_ACTION.fullmatch(v) or _JVM_DESCRIPTOR.fullmatch(v) or _NATS_PUBLIC_KEY.fullmatch(v):
        return False  # iam:DeleteAccessKey, Lorg/.../Subject$SecureSet;, a NATS account's public key: names
    if _STAND_IN_SHAPES.fullmatch(v) or _camel_words_with_digits(v):
        return False  # (null), eyJrefresh, @/dev/stdin, FirebaseAuth?=null, base64EncodedKey: no value of a secret
    # A bare identifier path (settings.DB_PASSWORD, self.password) is a reference, not a literal.
    if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)+(?:\(\))?", v) and not _random_dotted(v):
        return False
    if _FILE_REF.search(v) and not _random_with_slashes(v):
        return False  # a path; base64 with a slash in it (xapp-0834...-ShAYwge/87H4lC3j7lZ48pAL) is not one
    if _WORDS.fullmatch(v) or _URL.match(v) or _VERSION_OR_NUMBER.fullmatch(v):
        return False
    if _ARTIFACT.fullmatch(v) or _VERSION_THEN_NAME.fullmatch(v) or ("_" in v and _snake_sentence(v)):
        return False  # jjwt-jackson-0.11.2, libfoo_1.2.3: a package and its version
    if _WORDS_AND_NUMBER.fullmatch(v):
        return False  # test_password_123, my-api-key-2: words and a counter, a name rather than a secret
    if _NEGATED_WORDS.fullmatch(v.strip("!")):
        return False  # not!hex, not-valid-hex!, !!!not-base64!!!: what a test's wrong value says of itself
    if _RULE_LIST.fullmatch(v) or _RATE_LIMIT.fullmatch(v):
        return False  # a validation rule list such as required|min:8; a rate limit such as 1/m/ip,5/5m/key
    if _plain_query(v):
        return False  # data-token="itscg=10000&itsct=atv-apl_hp", SasToken: "sv=test": a query of plain values
    if _HOSTNAME.fullmatch(v):
        return False  # authKey: "registry-1.docker.io": the host a credential is for, not the credential
    if re.fullmatch(r"[a-z]+[:=;,.]?", v):
        return False  # one lowercase word (a label such as "username:"), not a credential
    if _WORD_AND_LETTER.fullmatch(v):
        return False  # secret-A, slot-B, key_1: a test's labels for one value and the next
    if v[0] in ",;)]}<" or v.endswith((":", ",")):
        return False  # code around a quote taken for a value (passwordLabel:"Password:",rememberMeLabel:")
    if _HEADER_NAME.fullmatch(v) or _WORD_PREFIX.fullmatch(v) or _X_HEADER.fullmatch(v):
        # an HTTP header's name (Access-Control-Allow-Credentials, X-Amz-Content-Sha256), a prefix to join
        # ('Secret-' . $key)
        return False
    if _HEX_NUMBER.fullmatch(v):
        return False  # FS_IOC_ADD_ENCRYPTION_KEY = 0xc0506617 (Go's generated syscall constants): a number
    if _kebab_name(v):
        return False  # pm-27581-device-auth-key, 2.reset-password-key: a name with a ticket or version number
    if _PUBLIC_CLIENT_KEY.match(v):
        return False  # PostHog's phc_ and Stripe's pk_ keys are made to be shipped in front ends
    if _DEPENDENCY_SPEC.fullmatch(v) or ("@" in v and _TYPE_AT_VERSION.fullmatch(v)):
        # "next-auth": "workspace:*" in package.json: a package and where it comes from; token: 'pg/varchar@1'
        # (Prisma's codec IDs): a column's type, by namespace, name and version
        return False
    if re.match(r"/[^\s/]+/", v):
        return False  # an absolute path or route (/en/enterprise-server@3.0/auth)
    if re.fullmatch(r"[#.][A-Za-z][\w-]*", v) or v.startswith(("arn:", "urn:")):
        # a CSS selector (#add-password), an AWS resource name (arn:aws:iam::aws:policy/...), a URN naming where
        # the secret is kept (urn:k8s:secret:oidc:redisPass, Traefik)
        return False
    if _UUID_NIL.match(v) or _DATE_OR_TIME.match(v) or _COLOR.match(v) or _LOCALE.fullmatch(v):
        return False  # (en_001, sr_Latn_BA: a locale, as Symfony's parents.json maps "en_PW" to one)
    if _JSON_POINTER.fullmatch(v) or _SQL_TYPE.fullmatch(v):
        return False  # "password": "#/components/schemas/PasswordMethod" (an OpenAPI $ref); "client_secret" => "VARCHAR(80)"
    if (_NAME.fullmatch(v) and not any(c.isdigit() for c in v) and not _random_looking(v)) \
            or _NUMERONYM_NAME.fullmatch(v):
        return False  # refreshToken, SecretStr, REPLACE_ME, k8sSecretsDatatable: names, not values
    if shannon_entropy(v) < _entropy_floor(len(v)):
        return False
    if v.isdigit():
        return len(v) >= 12 and shannon_entropy(v) >= 2.8
    if _char_classes(v) < 2:
        # One character class (all lowercase letters, say): only long random-looking strings qualify.
        return len(v) >= 16 and shannon_entropy(v) >= 3.5
    return True


@validator("generic_assigned_secret")
def generic_assigned_secret(value: str) -> bool:
    """A quoted literal assigned to a secret-named variable that looks like a credential, not code or prose.

    Rejects placeholders and templates, references (settings.X), dotted/dashed/snake words (i18n keys,
    Kubernetes secret names, constant names), file references, URLs, versions, dates, well-known words
    (MIME types, algorithms), bare identifiers without digits, and values with too little variety.
    """
    v = value.strip().strip("'\"`")
    if _PUBLIC_CLIENT_KEY.match(v):
        return False  # pk_live_..., appl_...: made to be shipped in front ends and apps
    if random_letters(v):
        return True  # secret: 'adlccmofpzg': letters drawn at random, as no word, name or abbreviation reads
    if _REGEX_SYNTAX.search(v) or (len(v) > 2 and v[0] == "^" and v[-1] == "$"):
        return False  # a pattern that matches secrets is not one; "PW": `^96940$` (Palau's postcodes, anchored)
    if _is_reference(v):
        return False  # Pricing::Context.from_order, $this->key: code named in prose or a string
    return _literal_like_secret(v)


#: Words a password field is set to in forms, validation rules and docs, not passwords.
_FIELD_WORDS = frozenset({
    "required", "optional", "nullable", "confirmed", "password", "passwd", "username", "hidden", "string",
    "disabled", "enabled", "readonly", "sometimes", "present", "filled", "undefined", "unknown", "redacted",
    "secret", "masked", "encrypted", "plaintext", "current", "newpassword", "oldpassword", "confirmation",
    "credentials", "credential", "passwords", "obscured", "obfuscated",
    # what JavaScript's typeof answers (e=null==n?pw:"function"==typeof n in a minified d3)
    "function", "boolean", "object", "number", "symbol", "bigint",
})


#: Words tests and docs put where a wrong or any password goes ({"password": "incorrect"}, password: 'whatever').
_FILLER_WORDS = frozenset({"incorrect", "whatever", "anything", "something", "nothing", "notcorrect", "notvalid",
                           "irrelevant"})


#: A word of eight letters or more (capitalised or not) and one to three symbols after it. Only the first
#: letter may be upper-case: camelCase and acronyms (isAdmin$, APIToken$) are names, not words.
_WORD_AND_SYMBOL = lazy_re(r"([A-Za-z][a-z]{7,62})[$@#%&]{1,3}")


#: Below this a run of letters reads like no word of seven languages (see letter_pair_score): 88% of letters drawn
#: at random score lower, 0.3% of words do.
_RANDOM_LETTERS_SCORE = -3.6
#: Parts of the names programs and settings are made of: abbreviations read as random letters (dbpwd, pgsql,
#: xmlhttp, rabbitmq) but name a thing.
_TECHNICAL_PART = lazy_re(r"(?i)(?<![a-z])(?:pw|db|mq)|(?:pw|db|mq)(?![a-z])|"
                          r"pwd|pass|sql|oauth|cfg|conf|http|xml|tcp|smtp|ldap|srv|svc|usr|adm|mgmt|ctl|"
                          r"tkn|tok|auth|jwt|key|secret|nginx|kube|dev|prod|test|tmp|json|hook|web|raw|sess|api|"
                          r"app|cli|env|url|uri|html|src|img|btn|msg|err|ctx|obj|str|buf|repo|git|npm|aws|gcp|ssh|"
                          r"ssl|tls|rsa|sha|crypt|hash|oidc|saml|sso|csrf|xsrf|uuid|guid|utf|aes|gcm|cbc|md5|hmac|pbkdf|jdbc|odbc")
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop", "yxcvbnm", "azertyuiop", "wxcvbn")


def _keyboard_walk(v: str) -> bool:
    """Mostly neighbouring keys of one row, either way (asdfgh, mnbvcxz, poiuyt): typed, not drawn."""
    low = v.lower()
    pairs = list(zip(low, low[1:]))
    near = sum(1 for a, b in pairs if any(a + b in row or b + a in row for row in _KEYBOARD_ROWS))
    return near >= 0.6 * len(pairs)


#: Runs of letters, maybe joined by a separator, with up to three digits among them (mwtab, xdlfjeh_znys, qaluj6tt).
_LETTER_RUNS = lazy_re(r"(?=\D*(?:\d\D*){0,3}$)[A-Za-z][A-Za-z\d]*(?:[-_ .:][A-Za-z][A-Za-z\d]*)*")
_THREE_IN_A_ROW = lazy_re(r"(.)\1\1")
#: Among 16 letters or more drawn at random, three alike in a row turn up (in one value of 50 with 16 letters, one of
#: 17 with 44); four seldom do (one of 340 with 64), but a mask or a key held down does.
_FOUR_IN_A_ROW = lazy_re(r"(.)\1\1\1")
#: A service's token prefix: a short vendor tag and a short kind (sm_aat_, sk_live_, pk_test_).
_TOKEN_PREFIX = lazy_re(r"[A-Za-z]{2}_[A-Za-z]{2,4}_")
#: yacc's and lex's names: yy and a word (yylex, yyparse, yy_flex_debug, YYCURSOR, yyminor).
_YACC_NAME = lazy_re(r"yy_?([a-z]{2,})")


def _yacc_name(low: str) -> bool:
    m = _YACC_NAME.match(low)
    return m is not None and letter_pair_score(m.group(1)) > _RANDOM_LETTERS_SCORE


def _typed_or_named(v: str) -> bool:
    """Letters someone typed or a program named: one keyboard row mashed (fjdkslafjdk), a short constant (YYCURSOR),
    yacc's yy names, or camelCase whose parts are mostly words (TlsxSource)."""
    low = v.lower()
    letters = {c for c in low if c.isalpha()}
    if any(letters <= set(row) for row in _KEYBOARD_ROWS) or _yacc_name(low):
        return True
    if v.isupper() and (len(v) <= 12 or "_" in v):
        return True
    parts = _CAMEL_PART.findall(v)
    if len(parts) > 1:
        wordy = sum(len(p) for p in parts if len(p) >= 3 and letter_pair_score(p) > _WORD_SCORE)
        return wordy * 2 >= sum(len(p) for p in parts)
    return False


#: lowerCamelCase after an abbreviation: consonants only (pbrt, cfg, ctx), then capitalised parts of three letters
#: or more. Letters drawn at random and given a capital (swGniclnew, hwgLfl, vqemxShhe) are told apart by their
#: parts, which read as no word (below _CAMEL_WORD_SCORE, or without a vowel).
_CAMEL_ABBREVIATION = lazy_re(r"[b-df-hj-np-tv-xz]{2,}(?:[A-Z][a-z]{2,})+")
_CAMEL_WORD_SCORE = -3.4


def random_letters(value: str) -> bool:
    """Letters drawn at random for a password (vpmlrq, djabprxYdjpbbac, xdlfjeh_znys): five or more, too
    irregular for words, names or their abbreviations, and not typed along the keyboard."""
    v = value.strip()
    if not 5 <= len(v) <= 64 or not v.isascii() or not _LETTER_RUNS.fullmatch(v) or v.startswith("eyJ"):
        return False  # (a JWT's header, then a stand-in for the rest: eyJhbGciOiJSUzI1NiJ9.oidcpayload)
    if "." in v and _FILE_REF.search(v):
        return False  # mynewcert.pfx: a file's name, its letters run together
    if _CAMEL_ABBREVIATION.fullmatch(v) and all(_VOWEL.search(p.lower()) and letter_pair_score(p) > _CAMEL_WORD_SCORE
                                                for p in _CAMEL_PART.findall(v)[1:]):
        return False  # pbrtDoc, cfgFileName: an abbreviation, then words, in camelCase: a variable's name
    letters = [c for c in v.lower() if c.isalpha()]
    if (_THREE_IN_A_ROW.search(v) if len(letters) < 16 else _FOUR_IN_A_ROW.search(v)) \
            or len(set(letters)) < 0.6 * 26 * (1 - (25 / 26) ** len(letters)):
        return False  # ghp_xxxx, sdhjcbjsdhcbshjdcb: a mask, or a few keys struck again and again
    if (len(letters) < 9 and min(sum(c.isalpha() for c in part) for part in re.split(r"[-_ .:]", v)) < 3) \
            or _TOKEN_PREFIX.match(v):
        return False  # ghs_cp, sm_aat_owvdytnmal: a token's prefix and a stand-in (zq_fgagvioj: drawn at random)
    return len(letters) >= 5 and len(set(letters)) >= 4 and letter_pair_score(v) < _RANDOM_LETTERS_SCORE \
        and (len(letters) >= 16 or not _TECHNICAL_PART.search(v)) \
        and not any(_keyboard_walk(run) for run in re.findall(r"[A-Za-z]{4,}", v)) \
        and longest_ordered_run(v) < 4 and not _typed_or_named(v) and not is_placeholder(v) \
        and _base64_text(v, unpadded=True) is None  # bXlwYXNz is "mypass", encoded


#: Below this four letters read like no word (0.6% of four-letter English words score lower, 46% of four
#: letters drawn at random): a short password was typed at random (urqv, ghqg), not a word (pass, root, test).
_SHORT_RANDOM_SCORE = -4.3


def short_random_letters(value: str) -> bool:
    """Four letters, three of them different at least, that read like no word, abbreviation or run of keys: drawn
    at random (postgres://user:urqv@localhost, password="ghqg"), where pass, root and 1234 are stand-ins."""
    v = value.strip()
    if len(v) != 4 or not v.isascii() or not v.isalpha() or len(set(v.lower())) < 3:
        return False
    return letter_pair_score(v) < _SHORT_RANDOM_SCORE and not _TECHNICAL_PART.search(v) \
        and not _keyboard_walk(v) and longest_ordered_run(v) < 3 and not v.isupper()


@validator("digit_password")
def digit_password(value: str) -> bool:
    """A password of digits typed at random (password: 6412871): five to twelve, four different at least, no run of
    four counting up or down (123456, 654321: the password fixtures borrow) and no digit three times in a row."""
    v = value.strip().strip("'\"`")
    if not (5 <= len(v) <= 12 and v.isascii() and v.isdigit()):
        return False
    digits = sorted(set(v))
    if len(digits) == len(v) and int(digits[-1]) - int(digits[0]) == len(v) - 1:
        return False  # 12354, 21435: the counting run typed out of order
    return longest_ordered_run(v) < 4 and len(digits) >= 4 and not _THREE_IN_A_ROW.search(v)


@validator("generic_password")
def generic_password(value: str) -> bool:
    """A quoted password literal: like ``generic_assigned_secret``, but a plain lowercase word of eight
    letters or more counts too (rootpasswd, sunshine) unless it is a field or validation word."""
    v = value.strip().strip("'\"`")
    # Letters drawn at random count: five or more through random_letters inside generic_assigned_secret, four here.
    if generic_assigned_secret(v) or short_random_letters(v):
        return True
    m = _WORD_AND_SYMBOL.fullmatch(v)
    if m:  # Prestigitariu$, sunshine@#: a word with a symbol or two added, as password rules ask for
        v = m.group(1).lower()
    if not re.fullmatch(r"[a-z]{8,64}", v) or v in _FIELD_WORDS or v in _FILLER_WORDS or v in _DEFAULT_PASSWORDS \
            or _SELF_NAMED.fullmatch(v) \
            or v in _PASSWORD_TRANSLATIONS or _SAYS_WHAT_IT_IS.fullmatch(v) or _ACTION_ON_PASSWORD.fullmatch(v):
        return False
    return not _stand_in(v) and shannon_entropy(v) >= 2.5


#: What is done to a password, run together: the name of a page, route or template (Shaarli's
#: $PAGE_CHANGEPASSWORD = 'changepasswd', CHANGE_PASSWORD = 'changepassword'), not a password; or what a test says
#: of the one it sends (wrongpin, differentpin, anotherpin: privacyIDEA's tests of a refused PIN).
_ACTION_ON_PASSWORD = lazy_re(r"(?:change|reset|forgot|forgotten|lost|update|edit|set|confirm|verify|recover"
                              r"|wrong|different|another|invalid|bad)(?:password|passwd|pwd|pass|pin)s?")


#: Twenty-four letters or more that name what they are among other words (superlongpasswordthatnoonewillknow):
#: a sentence run together in a test. Shorter ones (thisismypassword) are counted as passwords by the labelled
#: sets of Nosey Parker, Kingfisher and leaky-repo, and stay reported.
_SAYS_WHAT_IT_IS = lazy_re(r"(?=[a-z]{24,}$)[a-z]*(?:password|passwd|passphrase|secret)[a-z]*")


_UUID = lazy_re(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: key=value pairs joined by & (a link's query string).
_QUERY_STRING = lazy_re(r"\??[a-z_]{2,20}=[\w.-]*(?:&[a-z_]{2,20}=[\w.-]*)*")
_PLAIN_QUERY_VALUE = lazy_re(r"[a-z0-9]*(?:[-_.]+[a-z0-9]+)*")
_SECRET_PARAM = lazy_re(r"sig|secret|token|key|pass|pw|auth|code|session|cookie|sid")
#: A host name: labels of letters, digits and hyphens, the last a top-level domain's letters.
_HOSTNAME = lazy_re(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|dev|app|cloud|ai|co|gov|edu|"
                    r"local|internal|[a-z]{2})")


def _plain_query(v: str) -> bool:
    """A query string whose values are plain (numbers, dates, lower-case words: itscg=10000&itsct=apl_hp-stream,
    sv=2023-01-01&sig=x in a test), with no long value under a secret's name (an Azure SAS token's sig=...
    is the secret, and stays one)."""
    if not _QUERY_STRING.fullmatch(v):
        return False
    for pair in v.lstrip("?").split("&"):
        key, _, value = pair.partition("=")
        if not _PLAIN_QUERY_VALUE.fullmatch(value) or (_SECRET_PARAM.search(key) and len(value) >= 8):
            return False
        for part in re.split(r"[-_.]+", value):  # words and numbers, not a random run (ubboxee5dm3zt4yt4uw...)
            if len(part) > 12 or (len(part) > 6 and not part.isalpha() and not part.isdigit()):
                return False
    return True
#: A cache key: words, then the hex digest of what is cached (Linux-node-<sha1 of package-lock.json>, as
#: GitHub Actions' cache writes ${{ runner.os }}-node-${{ hashFiles(...) }}).
_CONTENT_KEY = lazy_re(r"[A-Za-z][A-Za-z0-9.]*(?:-[A-Za-z][A-Za-z0-9.]*)+-(?:[0-9a-f]{40}|[0-9a-f]{64})")
#: A word and PHP's uniqid() (thirteen hex digits, the first eight a Unix time): how Advanced Custom Fields
#: keys its fields, layouts and groups (layout_627194c5313e0, group_548b29f530798-2) in its JSON exports.
_UNIQID_NAME = lazy_re(r"[a-z]+_(?P<time>[0-9a-f]{8})[0-9a-f]{5}(?:-[a-z0-9]+)?")
#: Base64 of a type's name and a number: a GraphQL global ID (bmF2X21lbnVfaXRlbTo2Mjk= is nav_menu_item:629).
_TYPE_AND_NUMBER = lazy_re(r"[A-Za-z][A-Za-z_]*:\d+")
#: An OpenPGP key's fingerprint, as gpg prints it (forty upper-case hex digits): which public key signs,
#: in a git or home-manager configuration (signing.key = "CE70...0916"), not a secret.
_OPENPGP_FINGERPRINT = lazy_re(r"[0-9A-F]{40}")


def _ec_public_point(v: str) -> bool:
    """Base64 of an uncompressed P-256 point (65 bytes, the first 0x04): a public key, such as Web Push's
    VAPID applicationServerKey, which every browser is sent."""
    if len(v.rstrip("=")) != 87 or v[0] != "B":
        return False
    try:
        raw = base64.urlsafe_b64decode(v.rstrip("=").replace("+", "-").replace("/", "_") + "=")
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 65 and raw[0] == 4


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_VALUE = lazy_re(r"z[1-9A-HJ-NP-Za-km-z]{40,140}")
#: Multicodec prefixes (varints) of public keys: ed25519-pub, secp256k1-pub, x25519-pub, bls12_381-g2-pub, and
#: p256-pub, p384-pub, p521-pub, rsa-pub. The private keys' codes (0x1300...) are not among them.
_PUBLIC_KEY_CODECS = (b"\xed\x01", b"\xe7\x01", b"\xec\x01", b"\xeb\x01", b"\x80\x24", b"\x81\x24", b"\x82\x24", b"\x85\x24")


def _multibase_public_key(v: str) -> bool:
    """A public key in multibase (base58btc, 'z') with its multicodec type: what did:key identifiers and a DID
    document's publicKeyMultibase hold (did:key:zQ3sh... is a secp256k1 key, zDnae... a P-256 key, z6Mk... an
    Ed25519 key). Public by design, whatever the setting is called."""
    if not _BASE58_VALUE.fullmatch(v):
        return False
    n = 0
    for c in v[1:]:
        n = n * 58 + _BASE58.index(c)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return raw.startswith(_PUBLIC_KEY_CODECS)


def _uniqid_name(v: str) -> bool:
    m = _UNIQID_NAME.fullmatch(v)
    return bool(m) and 0x40000000 <= int(m.group("time"), 16) < 0x80000000  # 2004 to 2038


@validator("random_key_value")
def random_key_value(value: str) -> bool:
    """A value assigned to a bare ``key``: only when it reads as drawn at random (twenty characters or more
    with three digits and three letters at least, high entropy, not a UUID), since ``key`` also names
    dictionary keys, cache keys and React list keys."""
    v = value.strip().strip("'\"`")
    if len(v) < 20 or _UUID.fullmatch(v) or _CONTENT_KEY.fullmatch(v) or _uniqid_name(v) \
            or _OPENPGP_FINGERPRINT.fullmatch(v):
        return False
    if _TYPE_AND_NUMBER.fullmatch(_base64_text(v) or "") or _ec_public_point(v) or _multibase_public_key(v) \
            or not generic_assigned_secret(v):
        return False
    digits = sum(c.isdigit() for c in v)
    letters = "".join(c for c in v.lower() if c.isalpha())
    if has_ordered_run(letters, 6) or has_ordered_run("".join(c for c in v if c.isdigit()), 6):
        return False  # a1b2c3d4e5f6...: a counting filler with the classes interleaved
    # Random hex has 3.3 to 3.9 bits/char at 32 digits: a floor of 3.5 alone dropped half of such keys.
    entropy, floor = shannon_entropy(v), _random_entropy_floor(v)
    if len(letters) < 3 or entropy < min(3.5, floor):
        return False
    if digits >= 3:
        return True
    # Base62 and base64 keys are mostly letters: one in ten of 24 characters has fewer than three digits
    # (XvqNiQQhxWTcDgNPD3VgTX9DgJzqRvZQ). Both cases at random, one digit at least, and no run of words; not
    # 32 bytes in base64 (44 characters, one '='), the size of the Curve25519 public keys APIs hand out as
    # `key` (GitHub's repository key for encrypting secrets: PubKey{ID: "123", Key: "CDjXqf7AJBXW..."}).
    mixed = any(c.isupper() for c in v) and any(c.islower() for c in v)
    if len(v) == 44 and v.endswith("=") and not v.endswith("=="):
        return False
    return digits >= 1 and mixed and len(v) >= 24 and entropy >= floor \
        and not _two_capitalised_words(v) and not _SNAKE_OR_CAMEL_WORDS.fullmatch(re.sub(r"[\d_=+/-]", "", v))


@validator("command_password")
def command_password(value: str) -> bool:
    """A password handed to a command by its password option (``psexec -u admin -p ...``): the command line
    says what it is, so any literal counts (``dev_admin``), but not a variable, a template, a mask or a
    stand-in word."""
    v = value.strip().strip("'\"")
    if len(v) < 4 or v.lower() in _DEFAULT_PASSWORDS or _stand_in(v) or _SELF_NAMED.fullmatch(v):
        return False  # mysql -p randompassword: a value that names itself
    return not (_template_field(v) or _NOT_A_VALUE.fullmatch(v) or _MASKED.search(v))


#: What a sentence says a user's password is when it does not give it.
_PASSWORD_STATES = frozenset({
    "empty", "blank", "none", "null", "nil", "unset", "missing", "expired", "invalid", "wrong", "correct", "incorrect",
    "locked", "disabled", "enabled", "weak", "strong", "same", "different", "random", "generated", "unknown",
})


@validator("prose_password")
def prose_password(value: str) -> bool:
    """A password a sentence gives for a named user (the default password for the user "pyne-user" is
    "pyne"): the sentence says what it is, so a short plain word counts, as on a command line, but not a
    field word, a state (empty, expired) or a default."""
    v = value.strip().strip("'\"`").rstrip(".,;:")
    if v.lower() in _FIELD_WORDS or v.lower() in _PASSWORD_STATES:
        return False
    return command_password(v)


#: PascalCase words, acronyms among them (OASComponentWrapFactory, HTTPServerConfig): a minified bundle's
#: `s.OAS3ComponentWrapFactory` has the shape of a legacy Vault token.
_ACRONYM_PASCAL = lazy_re(r"(?:[A-Z]{2,6}(?=[A-Z][a-z])|[A-Z][a-z]{2,}){2,}")


@validator("mixed_case_random")
def mixed_case_random(value: str) -> bool:
    """Random-looking: upper and lower case letters and digits, not camelCase words, enough entropy."""
    body = value.split(".", 1)[-1]
    if not (any(c.isupper() for c in body) and any(c.islower() for c in body) and any(c.isdigit() for c in body)):
        return False
    if _SNAKE_OR_CAMEL_WORDS.fullmatch(body.rstrip("0123456789")):
        return False
    words = re.sub(r"\d", "", body)
    if sum(c.isdigit() for c in body) <= 2 and (_SNAKE_OR_CAMEL_WORDS.fullmatch(words) or _ACRONYM_PASCAL.fullmatch(words)):
        return False  # sendV2SamplesWithBackoff, parseV1Configuration, OAS3ComponentWrapFactory: names with a version
    return shannon_entropy(body) >= 3.5


_ID_PATH = lazy_re(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
#: A call in a Razor view after its @ (Html.GetAntiforgeryToken(), string.Join(...), Model.Key()): its
#: arguments may be cut where the value's quote ends.
_RAZOR_CALL = lazy_re(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\(")
#: A private field's name: underscores, a lower-case start, then capitalised words (digits may follow).
_PRIVATE_FIELD = lazy_re(r"_+[a-z][a-z0-9]*(?:[A-Z][a-z]{2,}[0-9]*)+")
#: key=value pairs naming a secret to mount (docker build --secret id=...,src=...|env=...).
_MOUNT_KEY = r"(?:id|src|source|env|type|target|required|mode|uid|gid)="
_MOUNT_SPEC = lazy_re(rf"{_MOUNT_KEY}[^,\s]*(?:,{_MOUNT_KEY}[^,\s]*)+")
#: A container path and how it is mounted (/app:ro, /var/lib/data:rw,z).
_VOLUME_TARGET = lazy_re(r"(?:/[\w.-]*)+:(?:ro|rw|z|Z|cached|delegated|consistent)(?:,(?:ro|rw|z|Z))*")
#: Keys published by design: PostHog project keys (phc_), Stripe publishable keys (pk_live_, pk_test_), Svix's
#: public keys that verify webhooks (whpk_), RevenueCat's public app keys that apps ship with (appl_, goog_, amzn_).
_PUBLIC_CLIENT_KEY = lazy_re(r"phc_|pk_(?:live|test)_|whpk_|(?:appl|goog|amzn)_[A-Za-z]{20,40}$")
#: A type by namespace, name and version (Prisma's codec IDs: pg/varchar@1, sql/text@1).
_TYPE_AT_VERSION = lazy_re(r"[a-z][a-z0-9]*/[a-z][a-z0-9_]*@\d{1,3}")
#: Where a package.json dependency comes from, instead of a version: workspace:*, npm:pkg@1, file:../x.
_DEPENDENCY_SPEC = lazy_re(r"(?:workspace|npm|file|link|catalog|portal|patch):\S*")
#: The rest of a URL after its user name: password@host:port/path, taken for `user: password@...`. The host
#: is dotted or written in lower case (db, db.internal, 127.0.0.1); a random value with an @ in it
#: (MbBdK@Rz-NppWpBGAYPDUks7zoc) has mixed case after it and no dot.
_URL_CREDENTIAL_TAIL = lazy_re(r"[^@\s/]+@(?:[\w-]+(?:\.[\w-]+)+|[a-z0-9-]+)(?::\d{1,5})?(?:[/?#]\S*)?")
#: A type in a schema or signature: a capitalised name, non-null (!), optional (Swift's and Kotlin's
#: `var credential: URLCredential?`) or a list of one.
_TYPE_NAME = lazy_re(r"(?=.*[!\]?])\[?[A-Z][A-Za-z]*[!?]?\]?[!?]?"
                    r"|\?(?:string|number|boolean|any|mixed|Array<\w+>|\{\}|(?:[A-Z][a-z]+)+);?")
#: A % that does not start a percent-encoded byte (%2F).
_BARE_PERCENT = lazy_re(r"%(?![0-9A-Fa-f]{2})")
#: A Rust or C-like numeric type, then a number: the rest of `NAME:i32=451` after the name's colon.
_TYPED_NUMBER = lazy_re(r"(?:[iu](?:8|16|32|64|128|size)|f32|f64)=-?\d+")


def _is_reference(v: str) -> bool:
    """A variable or constant written where a value could be: @token, @@config.secret, $this->key,
    Rack::RACK_SESSION, ActionController::Base.request_forgery_protection_token, a Razor call (@Html.X()), a
    dotted name with a leading dot (.AspNetCore.Session)."""
    if "?." in v or "!." in v:  # invoice?.ConfirmationSecret?.ClientSecret (C#, TypeScript, Kotlin)
        v = v.replace("?.", ".").replace("!.", ".")
        if _ID_PATH.fullmatch(v):
            return True
    if v[:1] == "-" and v[1:2] in ("@", "$"):
        v = v[1:]  # @token_value = -@token_value (Ruby): a variable, negated
    if v[:1] in "@$":
        rest = v.lstrip("@$")
        if v[0] == "@" and _RAZOR_CALL.match(rest):
            return True  # value="@Html.GetAntiforgeryToken()", data-token="@string.Join(...)": a Razor view's code
        return bool(_ID_PATH.fullmatch(rest.replace("->", ".").replace("::", ".")))
    if v[:1] == "." and "." in v[1:] and _ID_PATH.fullmatch(v[1:]):
        return True  # ".AspNetCore.Session", ".Smart.CheckoutState": the name of a cookie or a session's key
    if "::" in v or "->" in v:  # (self::$nullToken: a PHP class's static property)
        return bool(_ID_PATH.fullmatch(v.replace("->", ".").replace("::$", ".").replace("::", ".")))
    if "#" in v and _MEMBER_REFERENCE.fullmatch(v):
        return True  # 'smithy.api#httpBearerAuth' (a Smithy shape's ID), com.acme.Auth#token (Javadoc): a name
    return False


#: A member named after its namespace's dotted path and a #.
_MEMBER_REFERENCE = lazy_re(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+#[A-Za-z_]+")


#: A type's name in PascalCase with digits inside its words (Secp256k1Keypair, Uint8Array, Ed25519Signer): a declared
#: type in TypeScript (`let signingKey: Secp256k1Keypair`), not a random value, which has no run of words.
_PASCAL_TYPE_WITH_DIGITS = lazy_re(r"[A-Z][a-z]+\d*(?:[a-z]+\d*)?(?:[A-Z][a-z]+\d*(?:[a-z]+\d*)?)*[A-Z][a-z]{3,}")


def _code_type_or_assertion(v: str) -> bool:
    """Code where an unquoted value would be: a non-null assertion on a reference (TypeScript's
    `process.env.WEBHOOK_SECRET!`, Swift's `passwordTextField.text!`, Kotlin's `token!!`), a generic type's opening
    (`z.infer<`), or a declared type with digits in its name (`Secp256k1Keypair`, `Uint8Array`)."""
    if v.endswith("!") and _ID_PATH.fullmatch(v.rstrip("!").lstrip("@$").replace("?.", ".").replace("!.", ".")) \
            and "." in v:  # (registration.data!.client_secret!: asserted at every step)
        return True  # (Ruby: @user.issue_password_reset!, a method that changes the object)
    if v.endswith("<") and _ID_PATH.fullmatch(v[:-1]):
        return True
    return bool(_PASCAL_TYPE_WITH_DIGITS.fullmatch(v)) and any(c.isdigit() for c in v)


@validator("generic_unquoted_secret")
def generic_unquoted_secret(value: str) -> bool:
    """Like ``generic_assigned_secret`` for values written without quotes (.env, YAML, properties, flags).

    Unquoted, a value is much more often a reference (a variable, a call, an index) than a literal, so
    calls and indexing are rejected, and identifier-shaped values must look random (two digits or more,
    or one digit in a mix of upper and lower case, and not snake_case or camelCase words).
    """
    v = value.strip()
    if v[-1:] in ".,;:" and not v.endswith(".."):
        v = v[:-1]  # the end of a sentence or a list, not part of the value
    if v.endswith("$/") and len(v) > 2:
        v = v[:-2]  # the end of a regex literal (/...&token=test-token$/): the line's end, not part of the value
    if random_letters(v) or short_random_letters(v):
        return True  # POSTGRES_PASSWORD: wegwqnjr: letters drawn at random, as no word or name reads
    if _CALL_OR_INDEX.search(v) or _is_reference(v) or _code_type_or_assertion(v) or not _literal_like_secret(v):
        return False
    if _TYPED_NUMBER.fullmatch(v):
        return False  # pub const UNPAIRED_TOKEN:i32=451; (an ANTLR lexer in Rust): a type and a number
    if "L" in v and _OBJECT_ID_MACRO.fullmatch(v):
        return False  # #define OBJ_userPassword OBJ_X509,35L (OpenSSL's obj_mac.h): an object identifier's arcs
    if ":" in v and (_ARTIFACT_COORDINATE.fullmatch(v) or _ALGORITHM_AND_NUMBER.fullmatch(v)):
        return False  # io.jsonwebtoken:jjwt-jackson:0.11.0:deprecated (a Maven artifact), sha1:6 (a setting)
    if v.startswith((".*", ".+")):
        return False  # sed 's/^DB_PASSWORD=.*/DB_PASSWORD=app/': a pattern and its replacement
    if v.endswith((".+$", ".*$")) and not _REGEX_TAIL_RANDOM.search(v):
        return False  # "Authorization": "^.+Credential=123/.+$": a test's pattern for a header, not a credential
    if "?" in v and (_TERNARY.fullmatch(v) or _ternary_on_itself(v)):
        return False  # s.auth=s.password?s.username+":"+s.password:s.username (a bundled swagger-ui): code
    if v[:2] in ("++", "--") and (_DOTTED_NAME.fullmatch(v[2:]) or _ID_PATH.fullmatch(v[2:])):
        return False  # const token = ++updateTokenRef.current
    if v[:1] in "&*" and (_DOTTED_NAME.fullmatch(v[1:]) or _SNAKE_OR_CAMEL_WORDS.fullmatch(v[1:])):
        return False  # UpdateUserOptions{Password: &req.Password}, &newPassword: Go's pointer to a variable
    if _BARE_PERCENT.search(v):
        return False  # a make or printf pattern (release-%/auth: auth-%), not a value
    if re.fullmatch(r"@[\w./-]+", v) and not v[1:].isalnum():
        return False  # -secret @secret-file: read from a file (curl's and many CLIs' @path), not the value
    if _PRIVATE_FIELD.fullmatch(v):
        return False  # _v1PrivateKey, _mockEncryptedType7String: a private field holds it, not a literal
    if _MOUNT_SPEC.fullmatch(v) or (v[:1] == "/" and _VOLUME_TARGET.fullmatch(v)):
        # docker build --secret id=mysecret,env=SECRET_VALUE: which secret, not the secret; docker run -v
        # "$PWD:/app:ro": where the shell's working directory ($PWD, read as a password's key) is mounted
        return False
    if _URL_CREDENTIAL_TAIL.fullmatch(v):
        return False  # postgres://nextauth:password@127.0.0.1/...: the URL rules judge a URL's password
    if _TYPE_NAME.fullmatch(v):
        # a declared type (GraphQL `token: String!`, `password: [String!]!`, Flow's `masterKey: ?string;`), not a value
        return False
    if ("." in v and "=" in v and _CHAINED_ASSIGNMENT.fullmatch(v)) or ("?" in v and _OPTIONAL_CHAIN.fullmatch(v)):
        return False  # this.token_text=this.last_token=... and n.withCredentials?"include": minified code
    if _CAMEL_WITH_NUMBER.fullmatch(v) or (v[:1].isdigit() and _SNAKE_WITH_NUMBER_WORD.fullmatch(v)):
        return False  # oauth2: OAuth2Config, isSecretBase64Encoded, pterodactyl:auth:2fa_required: names
    if (".." in v or v[:1] == "^" or ":" in v) and _UNQUOTED_CODE.fullmatch(v):
        return False  # receiver_password: 30..52, ^preshared_key (Elixir), LoadCredential=FIREZONE_TOKEN:/etc/...
    if (">" in v and _MARKUP_TAIL.fullmatch(v)) or (v.endswith("+") and _DOTTED_THEN_JOIN.fullmatch(v)) \
            or v.startswith("//"):
        return False  # <auth:DisplayName>Email (an XML prefix), {token:a.token+".end"}, otpauth://totp/...
    if _IDENTIFIER.fullmatch(v):
        # A bundler's renamed copy (CancelToken$1) or a counter (value2) is still a name.
        # Up to four digits count (value2, token2024), and any number counted out (SecretKey0123456789...): five
        # or more drawn at random after a name are a password typed so (roqDDP885077), not a counter.
        stem = v.rstrip("0123456789")
        counter = len(v) - len(stem) < 5 or longest_ordered_run(v[len(stem):]) >= 4
        if counter and _SNAKE_OR_CAMEL_WORDS.fullmatch(stem.rstrip("$_")) and not _prefixed_random(v):
            return False  # (acme_9f3c0a17b2e84d65..., a prefix and a random body, has the shape too)
        digits = sum(c.isdigit() for c in v)
        mixed_case = any(c.isupper() for c in v) and any(c.islower() for c in v)
        # One digit is enough when upper and lower case mix at random (xdbS3djMqe); a lone trailing
        # digit on a lowercase word (value2, pass1) is how references and placeholders look.
        if digits < 2 and not (digits == 1 and mixed_case and len(v) >= 8):
            return False
    return True


#: An algorithm and a number (auth_verbose_passwords = sha1:6 in Dovecot: how many characters of a hash to log).
_ALGORITHM_AND_NUMBER = lazy_re(r"[A-Za-z][A-Za-z0-9-]{1,15}:\d{1,4}")
#: The rest of a Maven or Gradle coordinate after the group: artifact, version, perhaps a classifier.
_ARTIFACT_COORDINATE = lazy_re(r"[A-Za-z][\w.-]*:v?\d+(?:\.\d+)+(?:[-.][\w]+)*(?::[A-Za-z][\w.-]*)?")
#: Names joined by = (minified code: this.token_text=this.last_token=this.token_type=""); with a dot, since
#: one name and its = is also the shape of base64 with padding.
_CHAINED_ASSIGNMENT = lazy_re(r"(?:[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*=)+")
#: A member path with optional chaining or a ternary's ? (cart?.payment_collection?., currentUser$.value?.accessToken).
_OPTIONAL_CHAIN = lazy_re(r"[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)*\??\.?")
#: camelCase or PascalCase words with a number on a word (OAuth2Config, oauth2Response, isSecretBase64Encoded,
#: m2mAuthorizationHeader) or a version after or among them (IEndpointV1, hasV2UpgradeToken, and WeChat Pay's
#: apiV3Key, whose last part is a short word of a name's): names. Random mixed
#: case seldom has three lower-case letters after each of its capitals (0.1% of random 12-character values, 0.3% of
#: 10).
_CAMEL_WITH_NUMBER = lazy_re(r"(?=.*(?:[a-z]|V)\d)(?:[a-z]{2,}\d{0,3}|[a-z]\d{1,3}[a-z]+|[A-Z]{1,2}[a-z]{3,}\d{0,3})"
                             r"(?:[A-Z]{1,2}[a-z]{3,}\d{0,3}|V\d{1,2}(?![a-z]))+(?:Key|Id|Url|Uri|Api|Pwd)?")
#: A range, a pinned variable, a credential's name and where it is loaded from.
_UNQUOTED_CODE = lazy_re(r"\d+\.\.\.?\d+|\^[a-z_]\w*|[A-Z][A-Z0-9_]*:(?:/|\$)\S*")
#: snake_case words the first of which starts with a number (2fa_required, 3ds_enabled).
_SNAKE_WITH_NUMBER_WORD = lazy_re(r"\d{1,2}[a-z]{2,}(?:_[a-z]+\d*)+")
#: An XML element's name after a namespace prefix taken for a key (<auth:DisplayName>Email, </auth:Description>).
_MARKUP_TAIL = lazy_re(r"[A-Za-z_][\w.-]*>[\w.-]*")
#: A member path joined to a string (a.token+".end").
_DOTTED_THEN_JOIN = lazy_re(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+\+")
#: A run of twelve letters and digits mixed: what a pattern's literal part has only if a secret is written into it.
_REGEX_TAIL_RANDOM = lazy_re(r"(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]{12,}")
#: A conditional expression over member paths, cut at the next quote (s.password?s.username+) or at the line's end
#: (C's data->set.userpwd?1:0;).
_TERNARY = lazy_re(r"[A-Za-z_$][\w$]*(?:(?:\.|->)[A-Za-z_$][\w$]*)+\?"
                   r"(?:[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[+:]?|[\w.]+:[\w.]+;?)")

#: A conditional expression on one variable, maybe compared with something: the variable, what it is compared with,
#: and the two branches.
_SIMPLE_TERNARY = lazy_re(r"([A-Za-z_$][\w$]*)(?:\.[A-Za-z_$][\w$]*)*(?:(?:[<>]=?|[!=]==?)([\w.$]+))?\?([\w.$]+):([\w.$]+);?")
_EMPTY_BRANCH = frozenset({"null", "undefined", "nil", "None", "0", "1", "true", "false", "void"})


def _ternary_on_itself(v: str) -> bool:
    """Minified code a variable's test was cut from (var token=elem?elem.innerText:null, pw=pw<0?0:pw): a branch
    is the tested variable again, a member of it, or nothing. A random value with a ? and a : in it has no such
    echo of its own start."""
    m = _SIMPLE_TERNARY.fullmatch(v)
    if m is None:
        return False
    name = m.group(1)
    return any(b == name or b.startswith(name + ".") or b in _EMPTY_BRANCH for b in (m.group(3), m.group(4))) \
        and (m.group(2) is not None or m.group(3).startswith(name) or m.group(4).startswith(name))


#: What code has and a generated password does not: a word of nine letters or more, a call, an arrow, a template,
#: an object's next member after a quote (`"I",elements:[{type:"vbox"`, minified JavaScript).
_CODE_IN_VALUE = lazy_re(r"[A-Za-z]{9,}|\w\(|\(\)|=>|->|\$\{|\{\{|%[sd]|&&|\|\||[\"'`],[A-Za-z_$][\w$]*:|\{[A-Za-z_$][\w$]*:[\"'`\[{]")


@validator("symbol_rich_secret")
def symbol_rich_secret(value: str) -> bool:
    """A value drawn from every printable character, quotes and backslashes included (7`D'}/vYR)T;W\\5]...),
    as password generators make them: long, all four character classes, a quarter or more of it symbols,
    high entropy, no word or piece of code in it."""
    v = value
    if len(v) < 24 or not any(c in v for c in "'\"`\\") or _REGEX_SYNTAX.search(v):
        return False  # without a quote or a backslash in it, the quoted-literal rules judge the value
    symbols = sum(not c.isalnum() for c in v)
    if _char_classes(v) < 4 or symbols * 4 < len(v) or shannon_entropy(v) < 4.5:
        return False
    return not (_CODE_IN_VALUE.search(v) or _STAND_IN_HINTS.search(v))


@validator("jetbrains_scrambled_password")
def jetbrains_scrambled_password(value: str) -> bool:
    """A password a JetBrains IDE stored scrambled (.idea/WebServers.xml): four hex digits per character, each the
    character's code XOR 0xDFAA. Unscrambled it must be printable and a password, not a stand-in."""
    if len(value) % 4:
        return False
    try:
        plain = "".join(chr(int(value[i:i + 4], 16) ^ 0xDFAA) for i in range(0, len(value), 4))
    except ValueError:
        return False
    return plain.isprintable() and command_password(plain)


#: What a saved-credentials file holds where no password was saved.
_NO_SAVED_VALUE = frozenset({"null", "none", "nil", "true", "false", "undefined", "*", "-",
                             "password_here"})  # the value wp-config-sample.php ships with


@validator("saved_credential")
def saved_credential(value: str) -> bool:
    """A password a tool saved for its user (an FTP client's site, a .pgpass line): the file says what it is, so
    any value counts, weak or a dictionary word ("hunter22", "password"), but not an empty slot, a template,
    a mask or an environment reference."""
    v = value.strip().strip("'\"")
    if len(v) < 3 or v.lower() in _NO_SAVED_VALUE or _masked(v):
        return False
    return not (_template_field(v) or _NOT_A_VALUE.fullmatch(v))


@validator("basic_auth_credentials")
def basic_auth_credentials(value: str) -> bool:
    """Base64 of ``user:password`` as sent in an HTTP Basic Authorization header."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, sep, password = raw.partition(":")
    if not sep or not user or not password or not raw.isprintable() or _encoded_stand_in(value):
        return False  # customUser:customPass, testuser:testpass123: test fixtures' stand-ins
    return url_password(password)


@validator("docker_config_base64")
def docker_config_base64(value: str) -> bool:
    """Base64 of a Docker config (a Kubernetes pull secret's ``.dockerconfigjson`` or ``.dockercfg``): a JSON
    object whose registries carry credentials, as an ``auth`` of user:password, a ``password`` or a token."""
    compact = re.sub(r"\s+", "", value)
    try:
        config = json_object(base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True))
    except ValueError:  # (binascii.Error: not base64)
        return False
    if config is None:
        return False
    registries = config.get("auths", config)
    if not isinstance(registries, dict):
        return False
    for entry in registries.values():
        if not isinstance(entry, dict):
            continue
        auth, password = entry.get("auth"), entry.get("password")
        if isinstance(auth, str) and basic_auth_credentials(auth):
            return True
        if isinstance(password, str) and url_password(password):
            return True
        for name in ("identitytoken", "registrytoken"):
            token = entry.get(name)
            if isinstance(token, str) and len(token) >= 16 and not is_placeholder(token):
                return True
    return False


@validator("bearer_token")
def bearer_token(value: str) -> bool:
    """A bearer token literal: long, varied, not a template or a placeholder."""
    v = value.strip()
    if is_placeholder(v) or _template_field(v) or _encoded_stand_in(v):
        return False
    if re.fullmatch(r"[#.][A-Za-z][\w-]*", v):
        return False  # a CSS selector on the line after `.fields__api-key,`
    if "..." in v or "\u2026" in v:
        # elided in the docs: cut short (?token=eyJhbGciOiJIUzI1NiI...) or its middle left out (eyJhbGciOiJIUz....9k)
        return False
    if v.endswith("=") and _SNAKE_OR_CAMEL_WORDS.fullmatch(v.rstrip("=")):
        return False  # Authorization: OAuth oauth_consumer_key="...": a parameter's name, its value after the =
    if _IDENTIFIER.fullmatch(v) and (not any(c.isdigit() for c in v) or _UNDERSCORED_WORDS.fullmatch(v)):
        return False  # (Win32_Storage_FileSystem, the next item after "Win32_Security_Authorization" in a list)
    name = v[:-1] if v.endswith(".") and not v.endswith("..") else v  # ABAP ends a statement with "."
    if _WORDS.fullmatch(name) or _SNAKE_OR_CAMEL_WORDS.fullmatch(name) or _DOTTED_NAME.fullmatch(name.replace("-", "_")) \
            or _HEADER_NAME.fullmatch(name) or _CAMEL_WITH_NUMBER.fullmatch(name) or _NUMERONYM_NAME.fullmatch(name) \
            or ("." in name and _MEMBER_PATH.fullmatch(name) and not _random_dotted(name)):
        # X-Amz-Security-Token, method.request.header.X-Tenant, ABAP's ls_auth-authorization, K8sPoolW, the next
        # argument after a header's name (client.Authorization, uploadPartData.FileMd5)
        return False
    if _TEST_TOKEN.fullmatch(v) or _PREFIXED_CAMEL_STAND_IN.fullmatch(v) or _counted_filler(v):
        return False  # eyJhbGciOiJFZERTQSJ9.payload.signature, fbk_validBearerKey123: a test's stand-ins
    if ("-" in v or "_" in v) and _WORDS_NAMING_A_SECRET.fullmatch(v):
        return False  # Bearer test-api-key-123, x-api-key: secret-token-456: words that say what they stand for
    return shannon_entropy(v) >= 3.0 and _char_classes(v) >= 2


#: Words joined by underscores, each with at most two digits at its end (Win32_Storage_FileSystem): a name. A random
#: token's parts seldom read as words throughout.
_UNDERSCORED_WORDS = lazy_re(r"[A-Za-z][a-z]+(?:[A-Z][a-z]+)*\d{0,2}(?:_[A-Za-z][a-z]+(?:[A-Z][a-z]+)*\d{0,2})+")
#: Names joined by dots, each letters with at most two digits at its end (uploadPartData.FileMd5): a member path.
#: A token's dotted parts have digits inside them (AbCd0000TEST.eFgH1111.iJkL2222).
_MEMBER_PATH = lazy_re(r"[A-Za-z_][A-Za-z_]*\d{0,2}(?:\.[A-Za-z_][A-Za-z_]*\d{0,2})+")
#: A prefix, then camelCase words that name a key, and a counter (fbk_validApiKeySecret123, fbk_orgLevelApiKey456).
_PREFIXED_CAMEL_STAND_IN = lazy_re(r"[A-Za-z0-9]{2,10}_[a-z]+(?:[A-Z][a-z]+)*(?:Key|Secret|Token|Bearer)(?:[A-Z][a-z]+)*\d{0,6}")


# --- service tokens ------------------------------------------------------------------------------

_SAME_CHAR_RUN = lazy_re(r"(.)\1{11,}")


@validator("token_body")
def token_body(value: str) -> bool:
    """A service token whose random part is random: not a filler such as dop_v1_000...0 or pul-xxxx...x."""
    body = max(re.findall(r"[A-Za-z0-9]+", value), key=len, default="")
    if len(set(re.sub(r"[^A-Za-z0-9]", "", value))) < 8 or _SAME_CHAR_RUN.search(body):
        return False
    if _PREFIXED_CAMEL_STAND_IN.fullmatch(value.strip()):
        return False  # fbk_validApiKeySecret123: a test's stand-in in the service's format
    return not re.search(r"(?i)x{8,}|your|example|placeholder|redacted", value)

# --- signed tokens -------------------------------------------------------------------------------

@validator("jwt_token")
def jwt_token(value: str) -> bool:
    """Three base64url parts of which the header or the payload is a JSON object.

    Tolerates a mangled header (copied or truncated by hand) as long as the payload still decodes; a
    string whose first two parts are both not JSON (random text starting 'eyJ') is not a token.
    """
    parts = value.split(".")
    if len(parts) != 3 or len(parts[2]) < 16:
        return False
    if _placeholder_signature(parts[2]):
        return False
    return b64url_json(parts[0]) is not None or b64url_json(parts[1]) is not None


def _placeholder_signature(sig: str) -> bool:
    return len(set(sig)) <= 3 or bool(_STAND_IN_HINTS.search(sig)) and len(set(sig)) < 12
