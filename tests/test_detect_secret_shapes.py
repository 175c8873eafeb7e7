"""The built-in rule set finds secrets as they appear in real files, and stays quiet on code that only
names them (references, templates, labels, placeholders).

Each positive case gives a line and the exact value that must be reported (so redaction replaces the
secret, not its surroundings); each negative case is a line on which no secret may be reported.
Values are fake: patterned filler with the right shape.
"""

from __future__ import annotations

import pytest

from clientguard.detect import Detector, hyperscan_available

ENGINES = ["python"] + (["hyperscan"] if hyperscan_available() else [])
KEY = b"s" * 32


@pytest.fixture(scope="module", params=ENGINES)
def detector(request) -> Detector:
    return Detector.create(fingerprint_key=KEY, engine=request.param)


def _secret_values(detector: Detector, text: str) -> list[str]:
    return [text[f.start:f.end] for f in detector.scan(text) if f.kind == "secret"]


FOUND = [
    # generic assignments, one per syntax
    ('password = "s7ndb0x"', "s7ndb0x"),
    ("DB_PASSWORD=s3cr3tP@ss", "s3cr3tP@ss"),
    ('{"password": "P@ssw0rd123!"}', "P@ssw0rd123!"),
    ("database:\n  password: Sup3rS3cret!\n", "Sup3rS3cret!"),
    ("db.password = Pr0dPassw0rd", "Pr0dPassw0rd"),
    ("<password>Secr3t!99</password>", "Secr3t!99"),
    ("docker login -u ci --password=S3cret!23 registry.acme.io", "S3cret!23"),
    ('conn = psycopg2.connect(host="db", user="app", password="S3cr3t!x")', "S3cr3t!x"),
    ('private static final String API_KEY = "AKd93kd83kdk0000";', "AKd93kd83kdk0000"),
    ("$password = 'p4ssw0rd';", "p4ssw0rd"),
    ("auth: { user: 'svc', pass: 'Secr3tValue' }", "Secr3tValue"),
    ('"apiKey": "AbCdEf123456TEST"', "AbCdEf123456TEST"),
    ("let accessToken = 'tok0000TESTa1b2c3';", "tok0000TESTa1b2c3"),
    ('# password = "Tr0ub4dor&3"', "Tr0ub4dor&3"),
    ("PGPASSWORD=Pg0000TESTpw psql -h db.internal -U app", "Pg0000TESTpw"),
    ("sshpass -p 'Ss0000TESTpw' ssh deploy@web01", "Ss0000TESTpw"),
    ('SECRET_KEY = "django-insecure-0000test8s9d7f6g5h4j3k2l1z"', "django-insecure-0000test8s9d7f6g5h4j3k2l1z"),
    ("ENV DB_PASSWORD Dk0000TESTpw9", "Dk0000TESTpw9"),
    ('password       = "rootpasswd"', "rootpasswd"),
    ('var apiToken string = "0000TESTa1b2c3d4e5f6"', "0000TESTa1b2c3d4e5f6"),
    ('API_TOKEN ::= "0000TESTa1b2c3d4e5f6"', "0000TESTa1b2c3d4e5f6"),
    ('$apiToken .= "0000TESTa1b2c3d4e5f6"', "0000TESTa1b2c3d4e5f6"),
    ('{"config.ini": "API_TOKEN=0000TESTa1b2c3d4e5f6\\nBACKUP_ENABLED=true"}', "0000TESTa1b2c3d4e5f6"),
    ("<apiToken>\n    0000TESTa1b2c3d4e5f6\n</apiToken>", "0000TESTa1b2c3d4e5f6"),
    ('System.setProperty("API_TOKEN", "0000TESTa1b2c3d4e5f6")', "0000TESTa1b2c3d4e5f6"),
    ("curl -u elastic:P@ss0000TEST$1 https://localhost:9200", "P@ss0000TEST$1"),
    ("Authorization: Bearer AbCd0000TEST.eFgH1111.iJkL2222", "AbCd0000TEST.eFgH1111.iJkL2222"),
    # credentials in URLs and connection strings: the password alone
    ("DATABASE_URL=postgres://app:Tst0000Pw9q@db.internal:5432/app", "Tst0000Pw9q"),
    ("mongodb+srv://api:Mg0000TESTpw@cluster0.ab1cd.mongodb.net/prod", "Mg0000TESTpw"),
    ("REDIS_URL=redis://:Rd0000TESTpw@cache:6379/0", "Rd0000TESTpw"),
    ("Server=sql01;Database=Crm;User Id=crm;Password=Sq0000TESTpw;", "Sq0000TESTpw"),
    # service tokens
    ("SHOPIFY_TOKEN=shpat_0123456789abcdef0123456789abcdef", "shpat_0123456789abcdef0123456789abcdef"),
    ("DIGITALOCEAN_TOKEN=dop_v1_" + "0123456789abcdef" * 4, "dop_v1_" + "0123456789abcdef" * 4),
    ("DATABRICKS_TOKEN=dapi0123456789abcdef0123456789abcdef", "dapi0123456789abcdef0123456789abcdef"),
    ("NEW_RELIC_API_KEY=NRAK-TEST0000ABCDEFGHIJKLMNOPQRS", "NRAK-TEST0000ABCDEFGHIJKLMNOPQRS"),
    ("PULUMI_ACCESS_TOKEN=pul-0123456789abcdef0123456789abcdef01234567",
     "pul-0123456789abcdef0123456789abcdef01234567"),
    # service tokens known only by the service's name next to them
    ("datadogToken := \"0000testabcdefghijklmnopqrstuvwxyz0123\"", "0000testabcdefghijklmnopqrstuvwxyz0123"),
    ("CLOUDFLARE_API_TOKEN=TEST0000ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "TEST0000ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"),
    ('"oktaApiToken": "00TEST0000FGHIJKLMNOPQRSTUVWXYZabcdefghijk",', "00TEST0000FGHIJKLMNOPQRSTUVWXYZabcdefghijk"),
    ("token: s.ZC9Ecf4M5gTEST0000sj0zAB", "s.ZC9Ecf4M5gTEST0000sj0zAB"),
    # values of awkward shapes: a dot, a slash, a leading backtick, quotes inside, an @ inside a URL password
    ("apikey: hvb.TEST0000aCkOSgsZ56uhGlTK2zyC1j2mwhy", "hvb.TEST0000aCkOSgsZ56uhGlTK2zyC1j2mwhy"),
    ('ENV APP_TOKEN="xapp-000000000000-TESTwge/87H4lC3j7lZ48pAL" \\', "xapp-000000000000-TESTwge/87H4lC3j7lZ48pAL"),
    ("password = '`123TESTasdf'", "`123TESTasdf"),
    ("""  jwtsecret: "9`Q'}/TEST)T;W\\0]Zk0000;_&k>qX??]G&3CF=;@vy"\n""", "9`Q'}/TEST)T;W\\0]Zk0000;_&k>qX??]G&3CF=;@vy"),
    ("mongodb+srv://app:Te@st0000!@cluster0.ab1cd.mongodb.net/prod", "Te@st0000!"),
    ('<add key="FromEmailPassword" value="Prestidigit$"/>', "Prestidigit$"),
    ('new DirectoryEntry("LDAP://dc01.acme.test",\n    "ACME\\\\svc",\n    "Ld0000TESTpw7");', "Ld0000TESTpw7"),
    ('The default password for the user "deploy" is "kiwi".', "kiwi"),
    ("java -jar deployer.jar -vaultToken s.0000TESTk3Xq9LmZ2vR7tY1pW8nB4cD6 -env prod", "s.0000TESTk3Xq9LmZ2vR7tY1pW8nB4cD6"),
    # an issuer's prefix and a random body, unquoted: the shape of snake_case, not a name
    ("ACME_TOKEN=acme_0000test9f3c0a17b2e84d65e0f1", "acme_0000test9f3c0a17b2e84d65e0f1"),
    ("export ACME_TOKEN=acme_0000test9f3c0a17b2e84d65e0f1", "acme_0000test9f3c0a17b2e84d65e0f1"),
    ("acme:\n  token: live_test0000x1ib9sdxm9ea61kvtpp5\n", "live_test0000x1ib9sdxm9ea61kvtpp5"),
    # a value after its name with only spaces between (space-separated configs, command lines, notes)
    ("ngrok authtoken 2TEST0000q8ds59srpvd4nj0gwvczlr4s73dmxij", "2TEST0000q8ds59srpvd4nj0gwvczlr4s73dmxij"),
    ("secure_link_secret 0000test9f3c0a17b2e84d65e0f1a2b;", "0000test9f3c0a17b2e84d65e0f1a2b"),
    ('key "tsig-key" {\n  algorithm hmac-sha512;\n  secret "91CgTEST0000VEHKFXJPQCbuBBbBI19Ks5VAweUXg==";\n};',
     "91CgTEST0000VEHKFXJPQCbuBBbBI19Ks5VAweUXg=="),
]

QUIET = [
    "password = getpass.getpass()",
    'password = input("Password: ")',
    "password: ${{ secrets.DB_PASSWORD }}",
    'password = "${DB_PASSWORD:-default}"',
    'token = "{{ .Values.token }}"',
    '"password": "<password>"',
    "secret: !Ref DbSecret",
    'password = "REPLACE_WITH_PASSWORD"',
    "apiKey: process.env.API_KEY,",
    'api_key = config["api_key"]',
    "PASSWORD_MIN_LENGTH = 8",
    "password_hash = bcrypt.hashpw(password, salt)",
    'if password == "":',
    "assert token == expected_token",
    '"password": "password"',
    "TOKEN_EXPIRY = 3600",
    'token = "Bearer " + access_token',
    "secret_key = os.urandom(32)",
    'api_key: str = Field(..., description="API key")',
    "DJANGO_SECRET_KEY=",
    'password: "${PASSWORD}"',
    "token: $(cat /run/secrets/token)",
    'password = settings.DATABASES["default"]["PASSWORD"]',
    '"password": null',
    'password="***"',
    '<input type="password" name="password" placeholder="Enter your password">',
    'password_reset_url = "https://acme.io/reset"',
    'api_key_header = "X-API-Key"',
    "auth_token_ttl = 86400",
    "def login(self, username: str, password: str) -> Token:",
    "token = self._tokenizer.next_token()",
    'eos_token = "</s>"',
    "const { password } = req.body;",
    "password: Joi.string().min(8).required(),",
    'self.api_key = api_key or os.getenv("ACME_API_KEY")',
    "postgres://postgres:postgres@localhost:5432/postgres",
    "-----BEGIN PUBLIC KEY-----",
    'Token:                      "#d8dee9",',
    "GITHUB_API_KEY=\nDYNATRACE_API_KEY=",
    'notes = "Maven - io.jsonwebtoken:jjwt-jackson-0.11.2"',
    'publicToken = "9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit"',
    "s.makeKubeConfigController = args",
    'credentials: "same-origin",',
    '"password": "required|min:8"',
    "curl -u <user:password> https://test.com/endpoint",
    "const options = new URL('https://abc:xyz@example.com');",
    "EncryptedPrivateKey = TestEncryptionConstants.AES256_CBC_HMAC_Encstring",
    'String token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ0b3B0YWwu"',
    'private const val TOKEN = "([a-zA-Z0-9-!#$%&\'*+.^_`{|}~]+)"',
    "Ensure the password for user 'postgres' is 'admin' or change .env file.",
    "psExec \\\\host -u User -p $Password -i -d calc.exe",
    "ACME_TOKEN=user_profile_cache_entry_2",
    "client_secret: bogus_secret_a8b3afe691c933c1",
    "apt-key adv --keyserver hkps://keyserver.ubuntu.com --recv-key 0000FEED17FAAC97907FF8EF2E54EA7BFE630000",
    "ALTER TABLE sessions ADD PRIMARY KEY user_session_token_index_2;",
]


@pytest.mark.parametrize(("line", "value"), FOUND, ids=[v[:24] for _, v in FOUND])
def test_secret_in_a_realistic_line_is_reported_exactly(detector, line, value):
    assert value in _secret_values(detector, line)


@pytest.mark.parametrize("line", QUIET, ids=[q[:32] for q in QUIET])
def test_code_that_only_names_a_secret_is_not_reported(detector, line):
    assert _secret_values(detector, line) == []


def test_a_key_block_in_a_json_string_is_reported_whole(detector):
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQFAKE0000ABCDEF\\nTEST/+9876543210zyxwvutsrqponmlk"
    block = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----"
    text = '{"type": "service_account", "private_key": "' + block + '\\n", "client_email": "x@y.iam"}'
    values = _secret_values(detector, text)
    # Reported whole, by this file's PKCS#8 rule or a cloud rule for service-account files.
    assert any(v.startswith("-----BEGIN PRIVATE KEY-----") and "-----END PRIVATE KEY-----" in v for v in values)


def test_a_service_token_beats_the_generic_rule_on_the_same_value(detector):
    text = "api_token = 'pul-0123456789abcdef0123456789abcdef01234567'"
    rules = {f.rule_id for f in detector.scan(text) if f.kind == "secret"}
    assert rules == {"pulumi-access-token"}


@pytest.mark.parametrize(("rule_id", "text"), [
    ("cohere-api-key", "COHERE_API_KEY=\nFAKEuGycCFdCK8tHklPb7Xp0qzI7aqufG0SUaUx4"),
    ("github-legacy-token", "github_client_secret:\n  0000285786be6d928abac4b32d98c423a54d61ae"),
    ("aws-secret-access-key", "aws_secret_access_key =\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
])
def test_a_setting_name_does_not_reach_a_value_on_the_next_line(rule_id: str, text: str) -> None:
    """The context rules' spaces around the separator are spaces and tabs, not line breaks: a setting name at the
    end of one line says nothing of a word at the start of the next (on the same line, as the rule's examples
    show, it is found)."""
    for engine in ("hyperscan", "python") if hyperscan_available() else ("python",):
        det = Detector.create(fingerprint_key=b"k" * 32, engine=engine)
        assert rule_id not in {f.rule_id for f in det.scan(text)}, engine
        assert rule_id in {f.rule_id for f in det.scan(text.replace("\n  ", " ").replace("\n", ""))}, engine
