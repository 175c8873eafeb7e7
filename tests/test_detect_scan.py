"""`clientguard scan` on real directories and git repositories, through the real command line."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest

DATA = Path(__file__).parent / "data"
FAKE_AWS = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "jane.doe@acme-corp.com"


# Fingerprint keys of these runs live in a scratch directory, never in the user's data directory, and
# go with it when the test run ends (a key left in /tmp would outlive the run that made it).
KEY_HOME = Path(tempfile.mkdtemp(prefix="cg-scan-keys-"))
atexit.register(shutil.rmtree, KEY_HOME, ignore_errors=True)


def run_scan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLIENTGUARD_HOME": str(KEY_HOME)}
    return subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--no-progress", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def scan_json(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
    proc = run_scan("--format", "json", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "client"
    (r / "src").mkdir(parents=True)
    (r / "src" / "config.py").write_text(f'# old key\n# AWS_KEY = "{FAKE_AWS}"\nOWNER = "{EMAIL}"\n')
    (r / ".gitignore").write_text(".env\nbuild/\n")
    (r / ".env").write_text("CONTACT=ops@acme-corp.com\n")
    (r / "build").mkdir()
    (r / "build" / "out.txt").write_text("built by bob@acme-corp.com\n")
    (r / "notes.txt").write_text("untracked note for carol@acme-corp.com\n")
    commit_repo(r, "src/config.py", ".gitignore")
    return r


def commit_repo(repo: Path, *tracked: str) -> None:
    """Make `repo` a git work tree whose first commit holds `tracked` (every other file stays untracked)."""
    git(repo, "init", "-q")
    git(repo, "add", *tracked)
    git(repo, "commit", "-qm", "init")


def test_json_report_has_positions_fingerprints_and_masked_previews(repo):
    rc, data = scan_json(str(repo / "src"))
    assert rc == 1
    aws = next(f for f in data["findings"] if f["kind"] == "secret")
    assert (aws["path"], aws["line"], aws["column"]) == ("config.py", 2, 14)
    assert (aws["end_line"], aws["end_column"]) == (2, 34)
    assert aws["preview"] == "AKIA************MPLE"
    assert len(aws["fingerprint"]) == 16
    assert set(data["stats"]) >= {"files", "bytes", "seconds", "skipped"}


def test_a_key_in_a_comment_is_still_found(repo):
    _, data = scan_json(str(repo))
    assert any(f["preview"].startswith("AKIA") for f in data["findings"])


def test_raw_values_never_appear_in_any_output_format(repo):
    for fmt in ("json", "sarif", "table"):
        out = run_scan("--format", fmt, str(repo)).stdout
        assert FAKE_AWS not in out and EMAIL not in out


def test_scans_tracked_untracked_and_agent_read_ignored_files_only(repo):
    _, data = scan_json(str(repo))
    paths = {f["path"]: f["git_ignored"] for f in data["findings"]}
    assert paths == {"src/config.py": False, "notes.txt": False, ".env": True}


def test_a_folder_of_a_repository_is_scanned_with_paths_under_it(repo):
    (repo / "src" / ".env.local").write_text("OWNER_MAIL=dave@acme-corp.com\n")  # ignored, read by agents
    (repo / ".gitignore").write_text(".env*\nbuild/\n")
    _, data = scan_json("src", cwd=repo)
    assert {f["path"]: f["git_ignored"] for f in data["findings"]} == {"config.py": False, ".env.local": True}
    _, data = scan_json(str(repo / "src"))  # an absolute path: the same paths
    assert {f["path"] for f in data["findings"]} == {"config.py", ".env.local"}


def test_exit_code_is_zero_when_nothing_is_found(tmp_path):
    (tmp_path / "a.py").write_text("print('hello')\n")
    assert run_scan(str(tmp_path)).returncode == 0


def test_a_missing_path_is_an_error_with_exit_2(tmp_path):
    proc = run_scan(str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "no such file or directory" in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_symlink_named_on_the_command_line_is_an_error_with_exit_2(tmp_path):
    (tmp_path / "gone").symlink_to(tmp_path / "target")
    proc = run_scan(str(tmp_path / "gone"))
    assert proc.returncode == 2
    assert "symbolic link" in proc.stderr and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_identifier_flags_find_the_clients_names(tmp_path):
    (tmp_path / "a.md").write_text("Deploy for ACME Corp to db.acme-corp.com\n")
    _, data = scan_json("-i", "ACME Corp", "-i", "acme-corp.com", str(tmp_path))
    assert sorted(f["preview"] for f in data["findings"] if f["kind"] == "identifier") == ["A*******p", "acme*****.com"]


def test_sarif_output_validates_against_the_official_schema(repo):
    proc = run_scan("--format", "sarif", str(repo))
    sarif = json.loads(proc.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"email-address"}
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)


def test_baseline_silences_accepted_findings_and_new_ones_still_fail(repo, tmp_path):
    base = tmp_path / "baseline.json"
    first = run_scan("--write-baseline", str(base), str(repo))
    assert first.returncode == 1
    assert FAKE_AWS not in base.read_text()
    assert run_scan("--baseline", str(base), str(repo)).returncode == 0
    (repo / "src" / "new.py").write_text('ADMIN = "dave@acme-corp.com"\n')
    rc, data = scan_json("--baseline", str(base), str(repo))
    assert rc == 1 and [f["path"] for f in data["findings"]] == ["src/new.py"]


def test_a_malformed_baseline_is_a_clear_error(repo, tmp_path):
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    proc = run_scan("--baseline", str(bad), str(repo))
    assert proc.returncode == 2 and "baseline is not valid JSON" in proc.stderr


def _token() -> str:
    """A token detect-secrets always lists: 40 hex digits drawn at random are far above its hex entropy limit
    (3.0 bits per character), where 32 letters and digits sometimes fall below its base64 one (4.5)."""
    return secrets.token_hex(20)


def test_a_detect_secrets_baseline_silences_what_it_accepted(tmp_path):
    """A repository that keeps detect-secrets' .secrets.baseline: the real detect-secrets writes it, and the
    secrets it lists stay quiet; a secret added after it, and one its audit marked real, are still reported.
    The baseline's own SHA-1 hashes are no findings."""
    pytest.importorskip("detect_secrets")
    r = tmp_path / "client"
    r.mkdir()
    accepted = _token()
    (r / "config.py").write_text(f'API_TOKEN = "{accepted}"\nAWS_KEY = "{FAKE_AWS}"\nOWNER = "{EMAIL}"\n')
    git(r, "init", "-q")
    git(r, "add", "config.py")
    made = subprocess.run([sys.executable, "-m", "detect_secrets", "scan"], cwd=r, capture_output=True, text=True,
                          timeout=300, check=True)
    (r / ".secrets.baseline").write_text(made.stdout)
    listed = json.loads(made.stdout)["results"]["config.py"]
    assert len(listed) >= 2 and accepted not in made.stdout

    rc, data = scan_json("--baseline", ".secrets.baseline", ".", cwd=r)
    assert [(f["rule_id"], f["path"]) for f in data["findings"]] == [("email-address", "config.py")]
    assert data["stats"]["suppressed_by_baseline"] == 2

    added = _token()
    (r / "deploy.py").write_text(f'DEPLOY_TOKEN = "{added}"\n')
    rc, data = scan_json("--baseline", str(r / ".secrets.baseline"), str(r))
    assert rc == 1 and {(f["rule_id"], f["path"]) for f in data["findings"] if f["kind"] == "secret"} == {
        ("generic-secret-assignment", "deploy.py")}

    # an entry its audit marked a real secret is reported all the same
    baseline = json.loads(made.stdout)
    for entry in baseline["results"]["config.py"]:
        entry["is_secret"] = entry["type"] == "AWS Access Key"
    (r / ".secrets.baseline").write_text(json.dumps(baseline))
    rc, data = scan_json("--baseline", ".secrets.baseline", ".", cwd=r)
    assert "aws-access-key-id" in {f["rule_id"] for f in data["findings"]}
    assert "generic-secret-assignment" not in {f["rule_id"] for f in data["findings"] if f["path"] == "config.py"}


def test_a_malformed_detect_secrets_baseline_is_a_clear_error(repo, tmp_path):
    bad = tmp_path / ".secrets.baseline"
    bad.write_text(json.dumps({"version": "1.5.0", "results": {"src/config.py": [{"type": "AWS Access Key"}]}}))
    proc = run_scan("--baseline", str(bad), str(repo))
    assert proc.returncode == 2 and "no 40-digit hashed_secret" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, says", [
    (["--output", "{dir}"], "cannot write the report: is a directory"),
    (["--format", "json", "--output", "{file}/report.json"], "cannot write the report:"),
    (["--write-baseline", "{file}/baseline.json"], "cannot write the baseline:"),
    (["--baseline", "{dir}"], "cannot read the baseline: Is a directory"),
])
def test_an_output_or_baseline_it_cannot_use_is_a_clear_error(repo, tmp_path, args, says):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    proc = run_scan(*[a.format(dir=tmp_path, file=a_file) for a in args], str(repo))
    assert proc.returncode == 2 and says in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_outputs_in_a_folder_not_made_yet_are_written_there(repo, tmp_path):
    out = tmp_path / "reports" / "2026-11"
    proc = run_scan("--format", "json", "--output", str(out / "scan.json"), "--write-baseline",
                    str(out / "baseline.json"), str(repo))
    assert proc.returncode == 1, proc.stderr
    assert json.loads((out / "scan.json").read_text())["findings"]
    assert json.loads((out / "baseline.json").read_text())["findings"]


def test_inline_allow_comment_is_honoured(tmp_path):
    (tmp_path / "a.py").write_text(f'OWNER = "{EMAIL}"  # clientguard:allow\n')
    assert run_scan(str(tmp_path)).returncode == 0


def test_invalid_utf8_latin1_and_utf16_files_are_read(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\xfa\xfb\xc3 broken " + EMAIL.encode() + b"\n")
    (tmp_path / "latin1.txt").write_bytes("Grüße an ".encode("latin-1") + b"ops@acme-corp.com\n")
    (tmp_path / "utf16.txt").write_bytes(("owner: " + "x@acme-corp.com\n").encode("utf-16"))
    _, data = scan_json(str(tmp_path))
    assert sorted(f["path"] for f in data["findings"]) == ["bad.txt", "latin1.txt", "utf16.txt"]


def test_utf16_files_without_a_byte_order_mark_are_read_and_binary_ones_still_skipped(tmp_path):
    text = "[HKEY_CURRENT_USER\\Software\\Acme]\r\n\"Owner\"=\"ops@acme-corp.com\"\r\n" * 40
    (tmp_path / "export-le.reg").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "export-be.txt").write_bytes(text.encode("utf-16-be"))
    # Little-endian 16-bit samples below 256 have the same zeros, but do not read as text.
    (tmp_path / "samples.raw").write_bytes(bytes(b for i in range(4096) for b in (i % 7, 0)) + EMAIL.encode())
    (tmp_path / "table.bin").write_bytes(b"\x00\x01\x02\x00" * 2000 + EMAIL.encode())
    _, data = scan_json(str(tmp_path))
    found = {f["path"]: f["preview"] for f in data["findings"]}
    assert set(found) == {"export-le.reg", "export-be.txt"}
    assert {s["path"]: s["reason"] for s in data["skipped"]} == {"samples.raw": "binary", "table.bin": "binary"}
    assert all(f["line"] == 2 and f["column"] == 10 for f in data["findings"] if f["line"] < 3)


def test_binary_large_and_special_files_are_skipped_and_reported(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + EMAIL.encode())
    with open(tmp_path / "huge.log", "wb") as fh:  # a sparse 1 GB file: skipped without being read
        fh.truncate(1 << 30)
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    os.symlink(tmp_path / "loop_b", tmp_path / "loop_a")
    os.symlink(tmp_path, tmp_path / "self_dir")  # a directory cycle
    rc, data = scan_json(str(tmp_path))
    reasons = {s["path"]: s["reason"] for s in data["skipped"]}
    assert rc == 0
    assert reasons["blob.bin"] == "binary"
    assert reasons["huge.log"].startswith("larger than")
    assert reasons["pipe"] == "not a regular file"
    assert reasons["loop_a"].startswith("unreadable") and reasons["loop_b"].startswith("unreadable")


def test_a_directory_of_100000_small_files_is_scanned(tmp_path):
    root = tmp_path / "many"
    for d in range(100):
        sub = root / f"d{d:03d}"
        sub.mkdir(parents=True)
        for i in range(1000):
            (sub / f"f{i:04d}.txt").write_text(f"line {i}\n")
    (root / "d042" / "f0007.txt").write_text(f"owner {EMAIL}\n")
    rc, data = scan_json(str(root))
    assert rc == 1
    assert data["stats"]["files"] == 100_000
    assert [f["path"] for f in data["findings"]] == ["d042/f0007.txt"]


POLICY = """
[client]
name = "Acme Corp"
identifiers = ["Acme Corp", "acme-corp.com"]

[contract]
nda = true

[[accounts]]
name = "api"
provider = "openai"
plan = "api"

[scan]
allow_paths = ["fixtures/**"]
"""


def test_policy_file_supplies_identifiers_and_allowlisted_paths(tmp_path):
    (tmp_path / "clientguard.toml").write_text(POLICY)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "users.csv").write_text(f"{EMAIL}\n")
    (tmp_path / "app.md").write_text("Built for Acme Corp.\n")
    rc, data = scan_json(str(tmp_path), cwd=tmp_path)
    assert rc == 1
    assert [(f["path"], f["kind"]) for f in data["findings"]] == [("app.md", "identifier")]
    assert {"path": "fixtures/users.csv", "reason": "allowlisted path"} in data["skipped"]


def test_a_malformed_policy_file_is_a_clear_error(tmp_path):
    (tmp_path / "clientguard.toml").write_text("[client\nname = 1\n")
    (tmp_path / "a.txt").write_text("x\n")
    proc = run_scan(str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "clientguard.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_a_mix_of_ascii_and_non_ascii_files_gives_the_findings_of_each_file_alone(tmp_path):
    from clientguard.detect import Detector
    from clientguard.detect.scanner import SourceFile, scan_files

    bodies = {
        "a.py": f'KEY = "{FAKE_AWS}"\nmail = "{EMAIL}"\n',
        "b.md": f"Grüße — schreib an {EMAIL} ✓\n",
        "c.txt": "nothing to see\n" * 50,
        "d.json": f'{{"owner": "ops@acme-corp.com", "note": "naïve", "key": "{FAKE_AWS}"}}',
        "e.env": f"AWS_ACCESS_KEY_ID={FAKE_AWS}\n",
    }
    files = []
    for name, body in bodies.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
        files.append(SourceFile(tmp_path / name, name))
    det = Detector.create(fingerprint_key=b"k" * 32)
    together = scan_files(files, det).findings
    alone = sorted((f for sf in files for f in scan_files([sf], det).findings),
                   key=lambda f: (f.path, f.line, f.column, f.rule_id))
    assert together == alone
    assert {f.path for f in together} == {"a.py", "b.md", "d.json", "e.env"}
    b_email = next(f for f in together if f.path == "b.md" and f.rule_id == "email-address")
    assert (b_email.line, b_email.column) == (1, len("Grüße — schreib an ") + 1)


def test_scanning_in_threads_gives_the_findings_of_one_thread(tmp_path):
    """Many batches (small ASCII files, non-ASCII files, files over the batch size) scanned by four threads
    give exactly what one thread gives, with the same baseline suppression."""
    from clientguard.detect import Detector
    from clientguard.detect.scanner import BATCH_BYTES, SourceFile, scan_files

    rng = secrets.SystemRandom()
    filler = "def handler(event):\n    return event['id'] * 2\n"
    files = []
    for n in range(300):
        lines = [filler * rng.randrange(1, 200)]
        if n % 3 == 0:
            lines.append(f'KEY = "{FAKE_AWS}"\n')
        if n % 5 == 0:
            lines.append(f"# owner: user{n}@acme-corp.com — Grüße\n")  # non-ASCII: a text batch
        if n % 7 == 0:
            lines.append(f"token = 'ghp_{secrets.token_hex(18)}'\n")  # generated here, never a real token
        name = f"f{n:03}.py"
        (tmp_path / name).write_text("".join(lines), encoding="utf-8")
        files.append(SourceFile(tmp_path / name, name))
    big = tmp_path / "big.txt"  # a batch of its own
    big.write_text(filler * (BATCH_BYTES // len(filler) + 10) + f"mail = 'ops@acme-corp.com'\nKEY = '{FAKE_AWS}'\n")
    files.append(SourceFile(big, "big.txt"))
    det = Detector.create(fingerprint_key=b"k" * 32)
    one = scan_files(files, det, jobs=1)
    four = scan_files(files, det, jobs=4)
    assert len(one.findings) > 150 and {f.path for f in one.findings} >= {"big.txt", "f000.py", "f005.py", "f007.py"}
    assert four.findings == one.findings
    assert (four.files, four.bytes, four.skipped) == (one.files, one.bytes, one.skipped)
    accepted = {f.fingerprint for f in one.findings if f.rule_id == "aws-access-key-id"}
    assert scan_files(files, det, jobs=4, baseline=accepted).findings == scan_files(files, det, jobs=1, baseline=accepted).findings
    assert scan_files(files, det, jobs=4, baseline=accepted).suppressed == sum(
        1 for f in one.findings if f.rule_id == "aws-access-key-id") > 100


def test_the_jobs_flag_is_checked_and_does_not_change_the_findings(tmp_path):
    (tmp_path / "a.py").write_text(f'KEY = "{FAKE_AWS}"\nmail = "{EMAIL}"\n')
    rc1, one = scan_json(str(tmp_path), "--jobs", "1")
    rc3, three = scan_json(str(tmp_path), "--jobs", "3")
    assert rc1 == rc3 == 1 and one["findings"] == three["findings"] and len(one["findings"]) == 2
    proc = run_scan(str(tmp_path), "--jobs", "0")
    assert proc.returncode == 2 and "--jobs" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("size", ["0", "-1"])
def test_a_max_file_size_that_would_skip_every_file_is_refused(tmp_path, size):
    # Otherwise a typo in CI skips everything and exits 0: nothing checked, nothing failed.
    (tmp_path / "a.py").write_text(f'KEY = "{FAKE_AWS}"\n')
    proc = run_scan(str(tmp_path), "--max-file-size", size)
    assert proc.returncode == 2 and "--max-file-size" in proc.stderr and "Traceback" not in proc.stderr


def test_translation_catalogues_are_not_searched_for_generic_secrets(tmp_path):
    # wekan's i18n data: "password" in Breton and Swedish read as letters drawn at random.
    strings = '{"password": "Ger-tremen", "s3-access-key": "S3-åtkomstnyckel", "contact": "jana.novak@posteo.de"}\n'
    for rel in ("imports/i18n/data/br.i18n.json", "app/config/locales/sv.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(strings, encoding="utf-8")
    (tmp_path / "locale/fr/LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "locale/fr/LC_MESSAGES/django.po").write_text('msgid "password"\nmsgstr "MotDePasse"\n'
                                                             'password = "Ger-tremen"\n', encoding="utf-8")
    (tmp_path / "settings.json").write_text(strings, encoding="utf-8")
    aws = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    (tmp_path / "imports/i18n/data/en.i18n.json").write_text(f'{{"key": "{aws}"}}\n', encoding="utf-8")
    _, data = scan_json(str(tmp_path))
    found = {(f["path"], f["rule_id"]) for f in data["findings"]}
    assert ("settings.json", "generic-password-assignment") in found  # the same strings elsewhere are reported
    assert not any(r.startswith("generic-") for p, r in found if p != "settings.json")
    assert ("imports/i18n/data/en.i18n.json", "aws-access-key-id") in found  # a token of a format still is
    assert ("imports/i18n/data/br.i18n.json", "email-address") in found  # and so is personal data


def test_numbers_in_svg_path_data_are_not_reported_as_ip_addresses(tmp_path):
    key = "k9" + secrets.token_hex(14)  # generated here: a random value under a secret-looking name
    (tmp_path / "logo.svg").write_text(
        '<svg><path d="M1c1.51-1.25,2.54-.6,3.38.85.9,3.79-2.08,6.36-3,9.2"/>'
        f'<!-- api_key = "{key}" --></svg>\n'
    )
    (tmp_path / "hosts.txt").write_text("edge 81.2.69.160\n")
    _, data = scan_json(str(tmp_path))
    by_path = {(f["path"], f["kind"]) for f in data["findings"]}
    assert ("hosts.txt", "pii") in by_path            # an address in an ordinary file
    assert ("logo.svg", "secret") in by_path          # an SVG is still scanned for secrets
    assert not any(f["path"] == "logo.svg" and f["rule_id"].startswith("ipv") for f in data["findings"])


def test_vertex_indices_of_a_text_mesh_are_not_reported_as_cards(tmp_path):
    # A COLLADA mesh's index list: four groups of four digits (2221 2222 2223 2224) pass Luhn now and then.
    (tmp_path / "pistol.dae").write_text(
        "<triangles><p>7 2208 2209 219 1262 2220 2221 2222 2223 2224 2225 1279 2227</p></triangles>\n"
        "<!-- owner: jane.roe@acme-health.de -->\n"
    )
    (tmp_path / "order.txt").write_text("card 2221 2222 2223 2224\n")
    _, data = scan_json(str(tmp_path))
    rules = {(f["path"], f["rule_id"]) for f in data["findings"]}
    assert ("order.txt", "payment-card-number") in rules   # the same digits in an ordinary file
    assert ("pistol.dae", "email-address") in rules         # a mesh file is still scanned for the rest
    assert not any(path == "pistol.dae" and rule == "payment-card-number" for path, rule in rules)


def test_an_x_server_s_mode_lines_are_not_card_numbers(tmp_path):
    # Rows of four-digit timings (jitsi's xorg-video-dummy.conf): three pass Luhn and an issuer's range.
    modes = ('  Modeline "2560x1440" 42.12 2560 2592 2752 2784 1440 1475 1478 1513\n'
             '  Modeline "8192x4096" 424.46 8192 8224 9832 9864 4096 4195 4202 4301\n')
    (tmp_path / "xorg-video-dummy.conf").write_text(modes)
    (tmp_path / "timings.txt").write_text(modes)
    _, data = scan_json(str(tmp_path))
    cards = {f["path"] for f in data["findings"] if f["rule_id"] == "payment-card-number"}
    assert cards == {"timings.txt"}  # the same rows elsewhere still read as cards


def test_four_part_versions_in_lock_files_are_not_reported_as_ip_addresses(tmp_path):
    # Both lines read as public addresses to the rule's pattern (its lookbehinds cannot tell a package's
    # four-part version from an address); lock files are skipped by that rule, other files are not.
    (tmp_path / "Gemfile.lock").write_text("    language_server-protocol (~> 3.17.0.2)\n")
    (tmp_path / "composer.lock").write_text('{"require": {"jshttp/mime-db": "1.54.0.1"}}\n')
    (tmp_path / "hosts.txt").write_text("upstream 81.169.145.105\n")
    _, data = scan_json(str(tmp_path))
    ipv4 = {f["path"] for f in data["findings"] if f["rule_id"] == "ipv4-public"}
    assert ipv4 == {"hosts.txt"}


def test_es5_section_numbers_in_es5_shim_are_not_reported_as_ip_addresses(tmp_path):
    # es5-shim cites the ECMAScript 5 specification's sections, which have the shape of addresses.
    lines = "// ES5 15.4.4.18\n// http://es5.github.com/#x15.4.4.18\n"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "es5-shim.js").write_text(lines)
    (tmp_path / "lib" / "es5-sham.min.js").write_text(lines)
    (tmp_path / "lib" / "upstream.js").write_text("const upstream = '81.169.145.105';\n")
    _, data = scan_json(str(tmp_path))
    ipv4 = {f["path"] for f in data["findings"] if f["rule_id"] == "ipv4-public"}
    assert ipv4 == {"lib/upstream.js"}


def test_rules_for_named_files_apply_there_and_nowhere_else(tmp_path):
    """A saved-credentials file makes any value in it a password (its own rules, `only_files`); the same line in
    another file is only what the other rules make of it, and the detector's databases never hold those rules."""
    from clientguard.detect import Detector

    det = Detector.create(fingerprint_key=b"k" * 32)
    assert det.file_rules and not any(r.only_files for r in det.rules)
    pgpass = "db.internal:5432:*:app:hunter22\n"
    (tmp_path / ".pgpass").write_text(pgpass)
    (tmp_path / "notes.txt").write_text(pgpass)
    (tmp_path / ".git-credentials").write_text("https://jane.doe@acme-corp.com:Gc0000TESTq7w@git.acme-corp.com\n")
    (tmp_path / "config" / "credentials").mkdir(parents=True)
    (tmp_path / "config" / "master.key").write_text("deadbeef0000feed1ab86b27a720842c")
    (tmp_path / "config" / "other.key").write_text("deadbeef0000feed1ab86b27a720842c")
    code, report = scan_json(str(tmp_path))
    secrets_found = {(f["path"], f["rule_id"]) for f in report["findings"] if f["kind"] == "secret"}
    assert code == 1 and secrets_found == {(".pgpass", "pgpass-entry"), (".git-credentials", "git-credentials-entry"),
                                           ("config/master.key", "rails-master-key")}, secrets_found
    # the e-mail address the URL's user part holds is still reported, beside the password
    assert any(f["path"] == ".git-credentials" and f["kind"] == "pii" for f in report["findings"])
    assert "hunter22" not in json.dumps(report) and "Gc0000TESTq7w" not in json.dumps(report)


def test_a_tokenizer_vocabulary_is_no_settings_file(tmp_path):
    """A model's tokenizer maps text pieces to numbers ("ĠPassword": 12642): ollama's llama3.2 encoder.json gave 34
    digit passwords. The generic rules skip such files (`@vocabularies`); the same line in a settings file counts."""
    line = '{"model": {"vocab": {"ĠPassword": 12642, "_pass": 15829}}}\n'
    (tmp_path / "models" / "llama").mkdir(parents=True)
    (tmp_path / "models" / "llama" / "tokenizer.json").write_text(line, encoding="utf-8")
    (tmp_path / "models" / "encoder.json").write_text(line, encoding="utf-8")
    (tmp_path / "settings.json").write_text('{"db": {"password": 6412871}}\n', encoding="utf-8")
    _, report = scan_json(str(tmp_path))
    assert {(f["path"], f["rule_id"]) for f in report["findings"] if f["kind"] == "secret"} == {
        ("settings.json", "generic-password-digits")}


def test_a_drawing_holds_no_card_number_or_ssn(tmp_path):
    """Four coordinates of four digits in an SVG path pass Luhn one time in ten (aider's charts: 99 "cards"); a
    Wavefront OBJ face has an SSN's groups (gradio's Bunny.obj: 11). Drawings are `@drawings` in pii.toml."""
    (tmp_path / "chart.svg").write_text('<svg><path d="M 2413 1119 Q 2681 1166 2681 2222 Z"/></svg>\n')
    (tmp_path / "bunny.obj").write_text("v 0.1 0.2 0.3\nf 815 21 1183\n")
    (tmp_path / "notes.txt").write_text("card on file: 2681 1166 2681 2222, SSN 815 21 1183\n")
    _, report = scan_json(str(tmp_path))
    found = {(f["path"], f["rule_id"]) for f in report["findings"] if f["kind"] == "pii"}
    assert found == {("notes.txt", "payment-card-number"), ("notes.txt", "us-ssn")}


def test_a_sites_git_ignored_configuration_with_its_database_password_is_read(tmp_path):
    """CMS templates git-ignore the file the installer writes the live database password into (wp-config.php,
    Magento's app/etc/env.php, a Drupal site's settings.php); agents open it all the same, so scan reads it."""
    repo = tmp_path / "site"
    (repo / "web" / "sites" / "default").mkdir(parents=True)
    (repo / "app" / "etc").mkdir(parents=True)
    (repo / ".gitignore").write_text("wp-config.php\nweb/sites/*/settings.php\napp/etc/env.php\nbuild/\n")
    (repo / "wp-config.php").write_text("<?php\ndefine( 'DB_PASSWORD', 'hunter22' );\n")
    (repo / "web" / "sites" / "default" / "settings.php").write_text(
        "<?php\n$databases['default']['default'] = [\n  'password' => 'drupal8',\n];\n")
    (repo / "app" / "etc" / "env.php").write_text("<?php\nreturn ['db' => ['connection' => ['default' => [\n"
                                                  "  'password' => 'Mg0000TESTk4',\n]]]];\n")
    (repo / "build").mkdir()
    (repo / "build" / "notes.php").write_text("<?php\ndefine( 'DB_PASSWORD', 'hunter22' );\n")
    (repo / "index.php").write_text("<?php\n// the site\n")
    commit_repo(repo, ".gitignore", "index.php")
    code, report = scan_json(str(repo))
    found = {(f["path"], f["git_ignored"]) for f in report["findings"] if f["kind"] == "secret"}
    assert code == 1 and found == {
        ("wp-config.php", True), ("web/sites/default/settings.php", True), ("app/etc/env.php", True),
    }, found  # (build/notes.php is ignored and no file agents open for its settings: not read)
    # A weak password counts in the file that holds the site's live one, and in no other file.
    assert [f["rule_id"] for f in report["findings"] if f["path"] == "wp-config.php"] == ["php-app-config-db-password"]
    assert "hunter22" not in json.dumps(report)


@pytest.mark.parametrize("fmt", ["json", "sarif", "table"])
def test_a_file_name_that_is_not_utf8_is_reported_with_its_bytes_escaped(tmp_path, fmt):
    # A Latin-1 name (café.txt written as one byte é): Python keeps the byte as a lone surrogate, which no
    # UTF-8 writer takes; the report said "internal error" when written to a file or to a strict UTF-8 stdout.
    folder = tmp_path / "client"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as fh:
        fh.write(f"owner: {EMAIL}\n".encode())
    out = tmp_path / f"report.{fmt}"
    env = {**os.environ, "CLIENTGUARD_HOME": str(KEY_HOME), "PYTHONIOENCODING": "utf-8"}
    for args in (["-o", str(out)], []):
        proc = subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--no-progress", "--format", fmt,
                               *args, str(folder)], capture_output=True, env=env, timeout=300)
        assert proc.returncode == 1, proc.stderr.decode()
        assert b"internal error" not in proc.stderr
        report = out.read_bytes() if args else proc.stdout
        text = report.decode("utf-8")  # valid UTF-8, whatever the file names
        if fmt == "json":
            assert [f["path"] for f in json.loads(text)["findings"]] == ["caf\\xe9.txt"]
        elif fmt == "sarif":
            result, = json.loads(text)["runs"][0]["results"]
            assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf\\xe9.txt"
        else:
            assert "caf\\xe9.txt:1:8" in text


def test_many_findings_are_listed_one_a_line_under_their_file_with_a_count_per_rule(tmp_path):
    # Past TABLE_ROWS findings the table gives way to lines (rich took two minutes for 88,000 rows).
    from clientguard.detect.output import TABLE_ROWS

    n = TABLE_ROWS + 200
    (tmp_path / "contacts.csv").write_text("".join(f"user{i}@acme-corp.com\n" for i in range(n)))
    (tmp_path / "keys.py").write_text(f'AWS_KEY = "{FAKE_AWS}"\n')
    proc = run_scan(str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("email-address" in line and f"{n}" in line for line in lines[:12])  # the count per rule
    rows = [line for line in lines if line.startswith("  ") and "email-address" in line]
    assert len(rows) == n and rows[0].startswith("  1:1  medium  pii  email-address  ")
    assert rows[-1].startswith(f"  {n}:1  ")
    assert lines.index("contacts.csv") < lines.index(rows[0]) and "keys.py" in lines
    assert f"Found {n} pii, 1 secret in 2 files" in proc.stdout
    assert FAKE_AWS not in proc.stdout and "user7@acme-corp.com" not in proc.stdout


def test_yarns_committed_release_is_the_tools_code_not_the_projects(tmp_path):
    """Yarn Berry commits its own minified release (.yarn/releases/yarn-4.6.0.cjs); the generic rules skip it (it
    holds npm's public Algolia search key), and the same assignment in the project's code still counts. A token of
    a service's own format is reported wherever it is."""
    key = "6fe4476e" + secrets.token_hex(12)
    line = f'var O6={{appId:"OFCNCOG2CU",apiKey:"{key}",indexName:"npm-search"}};\n'
    (tmp_path / "web" / ".yarn" / "releases").mkdir(parents=True)
    aws = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    (tmp_path / "web" / ".yarn" / "releases" / "yarn-4.6.0.cjs").write_text(line + f'k="{aws}";\n')
    (tmp_path / "web" / "search.js").write_text(line)
    _, report = scan_json(str(tmp_path))
    found = {(f["path"], f["rule_id"]) for f in report["findings"] if f["kind"] == "secret"}
    assert ("web/search.js", "generic-secret-assignment") in found
    assert {r for p, r in found if p.endswith(".cjs")} == {"aws-access-key-id"}


def test_package_authors_in_a_lock_file_are_not_the_clients_personal_data(tmp_path):
    """composer.lock lists each package's authors with their e-mail addresses (hundreds in a PHP project); the
    e-mail rule skips lock files, and the same address in the project's own files is still reported."""
    author = '{"name": "Taylor Otwell", "email": "taylor@laravel.com"}'
    (tmp_path / "composer.lock").write_text('{"packages": [{"name": "laravel/framework", "authors": [%s]}]}\n' % author)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Mail.php").write_text(f"<?php // {EMAIL}\n")
    _, report = scan_json(str(tmp_path))
    assert {(f["path"], f["rule_id"]) for f in report["findings"]} == {("app/Mail.php", "email-address")}


def test_a_first_run_at_a_terminal_says_why_it_takes_seconds(tmp_path):
    """With no cache yet (a new machine), preparing the rules takes ~9 s: a terminal is told so, once; a pipe or a
    file (CI, the JSON a program reads) gets nothing it did not ask for."""
    (tmp_path / "a.txt").write_text("nothing to see\n")
    env = {**os.environ, "CLIENTGUARD_HOME": str(tmp_path / "home")}
    said = "Preparing the detection rules for this machine"
    piped = subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--no-progress", str(tmp_path / "a.txt")],
                           capture_output=True, text=True, env={**env, "CLIENTGUARD_HOME": str(tmp_path / "home2")},
                           timeout=300)
    assert piped.returncode == 0 and said not in piped.stderr + piped.stdout

    cmd = [sys.executable, "-m", "clientguard.cli", "scan", "--no-progress", str(tmp_path / "a.txt")]
    assert said in _stderr_at_terminal(cmd, env)
    assert said not in _stderr_at_terminal(cmd, env)  # prepared once for all later runs


def _stderr_at_terminal(cmd: list[str], env: dict[str, str]) -> str:
    """What ``cmd`` writes to its stderr when that is a terminal (a pseudo-terminal); it must exit 0."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=300) == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_scan_from_warm_caches_does_not_import_what_only_validation_needs(tmp_path):
    """Once the rules and the key-store kinds have been validated on this machine, a scan reads them without
    pydantic (its import took ~0.1 s of every command), builds the globs of rules that skip files only when such
    a rule has a finding (most scans: none), and a JSON report at a pipe needs no rich (~55 ms)."""
    (tmp_path / "app.py").write_text("x = 1\n")
    probe = ("import sys\nimport clientguard.cli as cli\n"
             f"sys.argv = ['clientguard', 'scan', '--format', 'json', '--no-progress', {str(tmp_path)!r}]\n"
             "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
             "from clientguard.detect import scanner\n"
             "print(['pydantic' in sys.modules, scanner.skip_globs.cache_info().currsize, 'rich' in sys.modules],"
             " file=sys.stderr)\n")
    env = {**os.environ, "CLIENTGUARD_HOME": str(KEY_HOME)}
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert json.loads(runs[1].stdout)["findings"] == []
    assert runs[1].stderr.strip().splitlines()[-1] == "[False, 0, False]"


def test_a_long_scan_shows_a_progress_bar_at_a_terminal_and_nowhere_else(tmp_path):
    """stderr's console is made only when something is shown on it (see detect/commands._Stderr): at a terminal
    a scan of more than 200 files still draws its bar; at a pipe it draws nothing."""
    for n in range(205):
        (tmp_path / f"m{n:03d}.py").write_text(f"VALUE_{n} = {n}\n")
    env = {**os.environ, "CLIENTGUARD_HOME": str(KEY_HOME)}
    env.pop("TTY_COMPATIBLE", None)
    env.pop("FORCE_COLOR", None)
    cmd = [sys.executable, "-m", "clientguard.cli", "scan", "--format", "json", str(tmp_path)]
    piped = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert piped.returncode == 0 and piped.stderr == ""
    assert json.loads(piped.stdout)["stats"]["files"] == 205
    shown = _stderr_at_terminal(cmd, env)
    assert "scanning" in shown and "205/205" in shown
