"""Scanning a repository the way a coding agent sees it: files, encodings, limits, findings with places."""

from __future__ import annotations

import bisect
import codecs
import hashlib
import os
import stat
import subprocess
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from clientguard.detect.engine import Detector
from clientguard.detect.keystores import HEAD_BYTES, key_store_kind, may_be_key_store
from clientguard.detect.model import Finding
from clientguard.errors import InputError
from clientguard.paths import PathGlobs

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

#: Git-ignored files that agents read all the same (they open them to "understand the config").
AGENT_READ_IGNORED = PathGlobs([
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p8",
    "config/*.local.*", "*.local.json", "*.local.yml", "*.local.yaml", "*.local.toml", "*.local.ini",
    ".npmrc", ".pypirc", ".netrc", ".git-credentials", "credentials", "credentials.*", "secrets.*",
    "*.tfvars", "terraform.tfstate*", "docker-compose.override.yml", "application-*.properties",
    # files that save their user's passwords (the rules for named files read them)
    ".pgpass", "sftp-config*.json", ".ftpconfig", ".remote-sync.json", ".vscode/sftp.json", "deployment-config.json",
    ".my.cnf", ".esmtprc", ".msmtprc", ".fetchmailrc", "sitemanager.xml", "recentservers.xml", "*data-sources*.xml",
    ".idea/WebServers.xml", "logins.json", ".ftppass", "settings.xml", "settings-security.xml", "tomcat-users.xml",
    # a site's own configuration with its database password, git-ignored by every CMS's template (not a bare
    # config.php: an ignored vendor/ tree holds many that are no site's)
    "wp-config.php", "configuration.php", "LocalSettings.php", "settings.inc.php",
    "**/sites/*/settings.php", "**/sites/*/settings.local.php", "**/app/etc/env.php", "**/app/config/parameters.php",
])

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
]


_BOM_PREFIXES = tuple(bom for bom, _ in _BOMS)


@dataclass(frozen=True)
class SourceFile:
    path: Path | str    # on disk (a listing of many files gives strings: a Path costs a parse of each)
    relpath: str        # as reported (POSIX, relative to the scan root where possible)
    ignored: bool = False  # git-ignored, but read by agents


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class ScanFinding:
    rule_id: str
    title: str
    kind: str
    severity: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fingerprint: str
    preview: str
    ignored_file: bool = False

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id, "title": self.title, "kind": self.kind, "severity": self.severity,
            "path": self.path, "line": self.line, "column": self.column, "end_line": self.end_line,
            "end_column": self.end_column, "fingerprint": self.fingerprint, "preview": self.preview,
            "git_ignored": self.ignored_file,
        }


@dataclass(frozen=True)
class Baseline:
    """Findings a scan accepts and does not show: clientguard's own baseline lists them by keyed fingerprint;
    detect-secrets' ``.secrets.baseline`` by file and SHA-1 of the secret (``hashed``: the file's resolved
    path and that hash), so a repository that already keeps one need not be reviewed again."""

    fingerprints: frozenset[str] = frozenset()
    hashed: frozenset[tuple[str, str]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.fingerprints or self.hashed)


@dataclass
class ScanResult:
    findings: list[ScanFinding] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0  # findings accepted by a baseline


def mask(value: str) -> str:
    """A preview that shows a value's shape but not the value: ``AKIA************MPLE``."""
    flat = " ".join(value.split())
    n = len(flat)
    if n <= 4:
        return "*" * n
    if n < 12:
        return flat[0] + "*" * (n - 2) + flat[-1]
    return flat[:4] + "*" * min(n - 8, 24) + flat[-4:]


# -- finding the files ------------------------------------------------------------------------------

def _git_toplevel(path: Path) -> Path | None:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def _git_ignored(top: Path, path: Path) -> bool:
    try:
        out = subprocess.run(["git", "-C", str(top), "check-ignore", "-q", "--", str(path)], capture_output=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def _git_ls(top: Path, args: list[str]) -> list[str]:
    out = subprocess.run(["git", "-C", str(top), "ls-files", "-z", *args], capture_output=True, timeout=300)
    if out.returncode != 0:
        raise InputError(f"{top}: git ls-files failed: {out.stderr.decode(errors='replace').strip()}")
    return [p for p in out.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def iter_source_files(root: Path) -> Iterator[SourceFile]:
    """Files under ``root`` an agent would read: in a git work tree the tracked and untracked files plus the
    git-ignored ones agents commonly open; elsewhere every file, without following directory symlinks."""
    root = root.resolve()
    top = _git_toplevel(root)
    if top is not None and root != top and _git_ignored(top, root):
        top = None  # asked for explicitly although git ignores it (a vendored or build tree): read it all
    if top is not None:
        rel_root = root.relative_to(top) if root != top else None
        scope = [str(rel_root)] if rel_root else []
        # git lists paths relative to the top, with "/": the reported path is the part under the scan root.
        # Built as strings: pathlib's parsing was most of the listing's time on a large repository (0.6 s for
        # 15,000 files, now 0.3 s, of which git takes 0.25).
        prefix = rel_root.as_posix() + "/" if rel_root else ""
        base = str(top) + os.sep
        seen: set[str] = set()
        for listing, ignored in ((["--cached", "--others"], False), (["--others", "--ignored"], True)):
            for rel in _git_ls(top, [*listing, "--exclude-standard", "--", *scope]):
                if rel in seen or (ignored and not AGENT_READ_IGNORED.matches(rel)):
                    continue
                seen.add(rel)
                yield SourceFile(base + rel, rel[len(prefix):] if rel.startswith(prefix) else rel, ignored)
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            p = Path(dirpath) / name
            yield SourceFile(p, _display(p, root))


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# -- reading one file -------------------------------------------------------------------------------

def utf16_by_nuls(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when every other byte of ``data``'s first 8 KiB is a NUL, on the odd offsets
    (little-endian) or the even ones, as in UTF-16 text that is mostly of Latin letters; else None."""
    sample = data[:8192]
    sample = sample[: len(sample) & ~1]
    half = len(sample) // 2
    if half < 8:
        return None
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    if odd >= 0.9 * half and even <= 0.02 * half:
        return "utf-16-le"
    if even >= 0.9 * half and odd <= 0.02 * half:
        return "utf-16-be"
    return None


def utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when ``data`` (no BOM, NUL bytes in its first 8 KiB) reads as text in it.

    Windows tools write UTF-16 without a byte order mark too (some .reg exports, .NET resource dumps, logs
    redirected by PowerShell with -Encoding Unicode on older versions). Text that is mostly ASCII has a zero
    in every other byte there (utf16_by_nuls); binary data rarely keeps that up for 8 KiB, and the sample must
    then read as printable text as well.
    """
    codec = utf16_by_nuls(data)
    if codec is None:
        return None
    sample = data[: min(len(data), 8192) & ~1]
    text = sample.decode(codec, errors="replace")
    printable = sum(ch.isprintable() or ch in "\t\n\r\f" for ch in text)
    return codec if printable >= 0.95 * len(text) else None


def decode(data: bytes) -> tuple[str, bytes | None]:
    """Text of a file in whatever encoding it has; also its UTF-8 bytes when they are the input itself."""
    try:
        if not data.startswith(_BOM_PREFIXES):
            return data.decode("utf-8"), data
    except UnicodeDecodeError:
        pass
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), None
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is not None and best.encoding not in ("utf_8", "utf-8"):
        try:
            return data.decode(best.encoding), None
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace"), None


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
#: The first read of a file: most source files arrive whole in it, and the binary check needs 8 KiB of it.
FIRST_READ = 65536


def read_bytes(sf: SourceFile, max_size: int) -> bytes | Skipped:
    """The file's bytes, or why it is skipped (too large, binary, unreadable, not a regular file)."""
    # One open, one fstat and (for most files) one read per file: on a repository of small files the
    # system calls are the cost, so nothing else here may cost much either.
    try:
        fd = os.open(sf.path, _OPEN_FLAGS)
    except FileNotFoundError:
        return Skipped(sf.relpath, "missing (deleted or a dangling symlink)")
    except OSError as exc:
        return Skipped(sf.relpath, f"unreadable: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Skipped(sf.relpath, "not a regular file")
        expected = st.st_size
        if expected > max_size:
            return Skipped(sf.relpath, f"larger than {max_size} bytes ({expected})")
        head = os.read(fd, FIRST_READ)
        utf16 = None
        if head.find(b"\0", 0, 8192) >= 0 and not head.startswith(_BOM_PREFIXES):
            utf16 = utf16_without_bom(head)
            if utf16 is None:
                return Skipped(sf.relpath, "binary")  # decided from the first 8 KiB: the rest is never read
        size = len(head)
        if size == expected and size < FIRST_READ and utf16 is None:
            return head  # the whole file came in the first read: no second system call for its end
        chunks = [head]
        while head:
            head = os.read(fd, max(expected + 1 - size, FIRST_READ))
            if head:
                chunks.append(head)
                size += len(head)
            if size > max_size:
                return Skipped(sf.relpath, f"larger than {max_size} bytes")
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        # UTF-16 without a byte order mark is handed on as UTF-8, the one form the rest reads without asking.
        return data if utf16 is None else data.decode(utf16, errors="replace").encode("utf-8")
    except OSError as exc:
        return Skipped(sf.relpath, f"unreadable: {exc.strerror or exc}")
    finally:
        os.close(fd)


def read_text(sf: SourceFile, max_size: int) -> tuple[str, bytes | None] | Skipped:
    """The file's text (and its UTF-8 bytes, when they are the file itself), or why it is skipped."""
    data = read_bytes(sf, max_size)
    return data if isinstance(data, Skipped) else decode(data)


# -- positions --------------------------------------------------------------------------------------

class LineIndex:
    """1-based line and column of character offsets, counted on demand (C-speed `count`) and remembered,
    so a file with one finding costs one count, not an index of every line."""

    def __init__(self, text: str):
        self._text = text
        self._offsets = [0]
        self._lines = [1]
        self._starts = [0]  # where the line of each known offset starts

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self._offsets, offset) - 1
        known, line = self._offsets[i], self._lines[i]
        breaks = self._text.count("\n", known, offset)
        # Search back only to the nearest known offset: with thousands of findings on one long line
        # (one-line JSON, minified code) a search back to the line start each time would be quadratic.
        start = self._starts[i] if breaks == 0 else self._text.rfind("\n", known, offset) + 1
        line += breaks
        if offset != known:
            self._offsets.insert(i + 1, offset)
            self._lines.insert(i + 1, line)
            self._starts.insert(i + 1, start)
        return line, offset - start + 1


@lru_cache(maxsize=64)
def skip_globs(globs: tuple[str, ...]) -> PathGlobs:
    """A rule's `skip_files` as globs, built when the rule first has a finding: 29 built-in rules skip files
    (8 different lists), and building them all cost ~20 ms of every `clientguard scan`'s start."""
    return PathGlobs(globs)


def to_scan_findings(text: str, findings: list[Finding], relpath: str, ignored: bool,
                     skip: dict[str, tuple[str, ...]] | None = None) -> list[ScanFinding]:
    """Findings with line, column and masked preview; a rule's findings are left out in the files its
    `skip_files` names (`skip`: rule id -> those globs)."""
    if findings and skip:
        findings = [f for f in findings if f.rule_id not in skip or not skip_globs(skip[f.rule_id]).matches(relpath)]
    if not findings:
        return []
    index = LineIndex(text)
    out = []
    for f in findings:
        line, col = index.position(f.start)
        end_line, end_col = index.position(f.end)
        out.append(ScanFinding(f.rule_id, f.title, f.kind, f.severity, relpath, line, col, end_line, end_col,
                               f.fingerprint, mask(text[f.start:f.end]), ignored))
    return out


def with_named_file_findings(findings: list[Finding], named: list[Finding]) -> list[Finding]:
    """A file's findings with those of the rules for its name added, where no finding of the same kind covers
    them (the engine resolves overlaps within a kind the same way: the finding there first stays)."""
    kept = [f for f in named if not any(f.start < o.end and o.start < f.end and f.kind == o.kind for o in findings)]
    return sorted([*findings, *kept], key=lambda f: (f.start, f.end)) if kept else findings


def key_store_finding(sf: SourceFile, detector: Detector, data: bytes | None = None) -> tuple[ScanFinding, int] | None:
    """A file that is a key store (keystores.toml) as a finding of the whole file, with its size; ``data``: its
    bytes when they were read already."""
    if data is None:
        try:
            with open(sf.path, "rb") as fh:
                data = fh.read()  # the size limit was checked before the file was found binary
        except OSError:
            return None
    kind = key_store_kind(sf.relpath, data[:HEAD_BYTES])
    if kind is None:
        return None
    # Keyed like any finding's value, from the file's digest: the same file keeps its fingerprint, for baselines.
    fp = detector.fingerprint_of("key-store:" + hashlib.sha256(data).hexdigest())
    what = kind.title.split(" (")[0]
    return ScanFinding(kind.id, kind.title, "secret", kind.severity, sf.relpath, 1, 1, 1, 1, fp,
                       f"<{what}, {len(data):,} bytes>", sf.ignored), len(data)


# -- the scan ---------------------------------------------------------------------------------------

def collect_files(paths: Iterable[Path]) -> list[SourceFile]:
    files: list[SourceFile] = []
    for p in paths:
        if not os.path.lexists(p):
            raise InputError(f"{p}: no such file or directory")
        if not os.path.exists(p):  # named on the command line, so say so instead of counting it skipped
            raise InputError(f"{p}: a symbolic link to {os.readlink(p)}, which does not exist")
        if p.is_dir():
            files.extend(iter_source_files(p))
        else:
            files.append(SourceFile(p, p.as_posix()))
    return files


#: Small files are scanned together, one engine pass per batch of about this many bytes: on a repository
#: of small files the per-call cost of the engine would otherwise dominate.
BATCH_BYTES = 1 << 20
#: Most threads a scan uses by default. Hyperscan lets go of the GIL while it scans, so batches scanned in
#: threads overlap one batch's matching with another's Python work (windows, validators, positions) and
#: with reading the next files; past a few threads the Python work, which the GIL serializes, is the limit.
MAX_DEFAULT_JOBS = 4


def default_jobs() -> int:
    """Threads for a scan: one per CPU this process may run on, at most MAX_DEFAULT_JOBS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_JOBS, cpus))


def scan_files(files: list[SourceFile], detector: Detector, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
               allow: PathGlobs | None = None, baseline: Baseline | set[str] | None = None,
               on_progress: Callable[[int], None] | None = None, jobs: int | None = None) -> ScanResult:
    """Scan the given files; ``allow`` globs are skipped, findings a ``baseline`` accepts (a Baseline, or a set of
    fingerprints) are suppressed.

    Files are read in this thread and scanned in batches by ``jobs`` threads (default: ``default_jobs()``;
    1 scans here, without threads). The findings are the same whatever the number of threads."""
    result = ScanResult()
    started = time.perf_counter()
    skip = {r.id: r.skip_files for r in detector.rules if r.skip_files}
    named_files = bool(detector.file_rules)  # rules that apply only in the files they name (Rule.only_files)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if detector.engine != "hyperscan":
        jobs = 1  # the pure-Python engine holds the GIL throughout: threads would only add overhead
    # ASCII files (most source code) and the rest go into separate batches: a batch of ASCII files is
    # scanned as its bytes, joined and decoded once into a narrow string, with no text per file; one
    # non-ASCII file in a batch would widen the whole joined string and cost character-offset work.
    ascii_batch: list[tuple[SourceFile, bytes]] = []
    ascii_size = 0
    text_batch: list[tuple[SourceFile, str, bytes | None]] = []
    text_size = 0
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="clientguard-scan") if jobs > 1 else None
    # Batches handed to the pool, oldest first, each with its files' texts (or ASCII bytes) to report
    # findings against. At most 2 * jobs wait at a time: memory stays bounded whatever the repository.
    pending: deque[tuple[Future, list[tuple[SourceFile, str | bytes]]]] = deque()

    accepted = Baseline(frozenset(baseline)) if isinstance(baseline, (set, frozenset)) else baseline

    def report(sf: SourceFile, text: str, findings: list) -> None:
        if accepted and accepted.hashed:
            where = str(Path(sf.path).resolve())
            kept_raw = [f for f in findings if (where, hashlib.sha1(text[f.start:f.end].encode("utf-8"),
                                                                     usedforsecurity=False).hexdigest())
                        not in accepted.hashed]
            result.suppressed += len(findings) - len(kept_raw)
            findings = kept_raw
        found = to_scan_findings(text, findings, sf.relpath, sf.ignored, skip)
        if accepted and accepted.fingerprints:
            kept = [f for f in found if f.fingerprint not in accepted.fingerprints]
            result.suppressed += len(found) - len(kept)
            found = kept
        result.findings.extend(found)

    def add_key_store(store: tuple[ScanFinding, int]) -> None:
        result.files += 1
        result.bytes += store[1]
        if accepted and store[0].fingerprint in accepted.fingerprints:
            result.suppressed += 1
        else:
            result.findings.append(store[0])

    def finish(found: list[list], texts: list[tuple[SourceFile, str | bytes]]) -> None:
        for (sf, text), findings in zip(texts, found):
            named = named_files and detector.applies_in_file(sf.relpath)
            if not (findings or named):
                continue
            text = text if isinstance(text, str) else text.decode("ascii")  # only for a file with findings
            if named:
                findings = with_named_file_findings(findings, detector.scan_named_file(text, sf.relpath))
            if findings:
                report(sf, text, findings)

    def drain(keep: int) -> None:
        """Report the oldest batches handed to the pool until at most ``keep`` are still pending."""
        while len(pending) > keep:
            future, done = pending.popleft()
            finish(future.result(), done)

    def run(scan: Callable[[], list[list]], texts: list[tuple[SourceFile, str | bytes]]) -> None:
        if pool is None:
            finish(scan(), texts)
            return
        pending.append((pool.submit(scan), texts))
        drain(2 * jobs)

    def flush_ascii() -> None:
        nonlocal ascii_size
        if ascii_batch:
            datas = [d for _, d in ascii_batch]
            run(lambda: detector.scan_ascii_many(datas), list(ascii_batch))
            ascii_batch.clear()
            ascii_size = 0

    def flush_text() -> None:
        nonlocal text_size
        if text_batch:
            texts, utf8 = [t for _, t, _ in text_batch], [b for _, _, b in text_batch]
            run(lambda: detector.scan_many(texts, utf8=utf8), [(sf, t) for sf, t, _ in text_batch])
            text_batch.clear()
            text_size = 0

    try:
        for sf in files:
            if allow and allow.matches(sf.relpath):
                result.skipped.append(Skipped(sf.relpath, "allowlisted path"))
            else:
                data = read_bytes(sf, max_file_size)
                if isinstance(data, Skipped):
                    store = key_store_finding(sf, detector) if data.reason == "binary" and may_be_key_store(
                        sf.relpath) else None
                    if store is None:
                        result.skipped.append(data)
                    else:
                        add_key_store(store)
                elif may_be_key_store(sf.relpath) and (store := key_store_finding(sf, detector, data)):
                    add_key_store(store)  # one without a NUL in its first 8 KiB reads as text
                elif data.isascii():
                    size = len(data)
                    result.files += 1
                    result.bytes += size
                    if size >= BATCH_BYTES:  # a large file is a batch of its own (no copy into a joined one)
                        run(lambda data=data: detector.scan_ascii_many([data]), [(sf, data)])
                    else:
                        ascii_batch.append((sf, data))
                        ascii_size += size
                        if ascii_size >= BATCH_BYTES:
                            flush_ascii()
                else:
                    text, utf8 = decode(data)
                    size = len(utf8) if utf8 is not None else len(text.encode("utf-8", "replace"))
                    result.files += 1
                    result.bytes += size
                    if size >= BATCH_BYTES:
                        run(lambda text=text, utf8=utf8: [detector.scan(text, utf8=utf8)], [(sf, text)])
                    else:
                        text_batch.append((sf, text, utf8))
                        text_size += size
                        if text_size >= BATCH_BYTES:
                            flush_text()
            if on_progress is not None:
                on_progress(1)
        flush_ascii()
        flush_text()
        drain(0)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # an error or Ctrl-C: the rest is not scanned
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    result.seconds = time.perf_counter() - started
    return result
