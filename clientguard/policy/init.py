"""`clientguard init`: propose identifiers found in a repository, and write a commented clientguard.toml.

Discovery reads only local files and `git` metadata: the remote's organisation and host, package
names (pyproject.toml, package.json, go.mod, Cargo.toml), e-mail domains of commit authors (public
mail providers excluded), and hostnames in configuration files that belong to the client's domains.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# Hosts and mail domains that say nothing about the client.
PUBLIC_FORGES = {
    "github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "dev.azure.com", "ssh.dev.azure.com",
    "vs-ssh.visualstudio.com", "sr.ht", "git.sr.ht", "gitea.com", "sourceforge.net",
}
PUBLIC_MAIL_DOMAINS = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "yahoo.de", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me", "gmx.de",
    "gmx.net", "gmx.com", "web.de", "t-online.de", "aol.com", "mail.com", "yandex.ru", "fastmail.com",
    "posteo.de", "mailbox.org", "tutanota.com", "zoho.com", "users.noreply.github.com", "noreply.github.com",
    "example.com", "example.org", "localhost",
}
PUBLIC_HOST_SUFFIXES = (
    "github.com", "githubusercontent.com", "gitlab.com", "pypi.org", "npmjs.org", "npmjs.com", "python.org",
    "googleapis.com", "google.com", "amazonaws.com", "docker.io", "docker.com", "slack.com", "openai.com",
    "anthropic.com", "microsoft.com", "azure.com", "cloudflare.com", "example.com", "example.org",
    "localhost", "readthedocs.io", "sentry.io", "stripe.com", "golang.org", "go.dev", "apple.com",
)
INTERNAL_TLDS = ("internal", "corp", "lan", "intra", "intranet", "local", "localdomain", "home.arpa")

CONFIG_SUFFIXES = (
    ".toml", ".yaml", ".yml", ".ini", ".cfg", ".conf", ".json", ".properties", ".env", ".xml", ".tf",
    ".tfvars", ".hcl",
)
CONFIG_NAMES = ("Dockerfile", "docker-compose.yml", "Makefile", "Procfile", ".npmrc", ".pypirc")
SKIP_DIRS = {
    ".git", "node_modules", ".venv", "venv", "env", "__pycache__", "dist", "build", "vendor", ".tox",
    ".mypy_cache", ".pytest_cache", "target", ".idea", ".vscode", ".next",
}
MAX_CONFIG_FILES = 2000
MAX_CONFIG_BYTES = 256 * 1024

_HOSTNAME = re.compile(r"(?<![\w.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62})(?![\w-])", re.I)
_SECRETISH_NAMES = (".env", "secrets", "secret", "credentials")


@dataclass
class Proposal:
    """A value init proposes, and where it was found."""

    value: str
    kind: str  # "organisation", "host", "package", "mail-domain", "hostname", "path"
    origins: list[str] = field(default_factory=list)

    def origin_text(self) -> str:
        """Where it was found, for the prompt and the comment in the file."""
        return "; ".join(self.origins[:3]) + (f" (+{len(self.origins) - 3} more)" if len(self.origins) > 3 else "")


@dataclass
class Discovery:
    """Everything init found in a repository."""

    repo: Path
    identifiers: list[Proposal] = field(default_factory=list)
    protected_paths: list[Proposal] = field(default_factory=list)
    suggested_name: str | None = None

    def add(self, value: str, kind: str, origin: str) -> None:
        """Add a proposed identifier (case-insensitive dedupe, origins merged)."""
        value = value.strip().strip(".")
        if len(value) < 3:
            return
        for existing in self.identifiers:
            if existing.value.lower() == value.lower():
                if origin not in existing.origins:
                    existing.origins.append(origin)
                return
        self.identifiers.append(Proposal(value, kind, [origin]))


def discover(repo: Path) -> Discovery:
    """Look through a repository for identifiers of the client and files to protect."""
    repo = Path(repo).resolve()
    found = Discovery(repo)
    _from_git_remotes(repo, found)
    _from_packages(repo, found)
    domains = _from_commit_authors(repo, found)
    _from_config_hosts(repo, found, domains)
    _protected_paths(repo, found)
    return found


# --------------------------------------------------------------------------------------- git

def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True, text=True, timeout=20, check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def parse_remote_url(url: str) -> tuple[str | None, list[str]]:
    """(host, path parts without .git) of a git remote URL: https, ssh://, or scp-like git@host:org/repo."""
    url = url.strip()
    if not url:
        return None, []
    m = re.match(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$", url)
    if m and "://" not in url:
        host, path = m.group(1), m.group(2)
    else:
        parts = urlsplit(url)
        host, path = parts.hostname, parts.path
    if host is None:
        return None, []
    segments = [s for s in path.strip("/").split("/") if s]
    if segments and segments[-1].endswith(".git"):
        segments[-1] = segments[-1][:-4]
    return host.lower(), segments


def _from_git_remotes(repo: Path, found: Discovery) -> None:
    for line in _git(repo, "config", "--get-regexp", r"^remote\..*\.url$").splitlines():
        name_key, _, url = line.partition(" ")
        remote = name_key.split(".")[1] if "." in name_key else "remote"
        host, segments = parse_remote_url(url)
        if host is None:
            continue
        if host not in PUBLIC_FORGES:
            found.add(host, "host", f"git remote {remote!r} host")
        if len(segments) >= 2:
            # Azure DevOps paths start with v3/ or the org then _git; take the first meaningful part.
            org = segments[1] if segments[0] in {"v3", "scm"} and len(segments) > 2 else segments[0]
            found.add(org, "organisation", f"git remote {remote!r} organisation")
            if found.suggested_name is None:
                found.suggested_name = org


def _from_commit_authors(repo: Path, found: Discovery) -> list[str]:
    emails = _git(repo, "log", "-n", "5000", "--format=%ae%n%ce").split()
    counts = Counter(e.rsplit("@", 1)[1].lower() for e in emails if "@" in e)
    domains: list[str] = []
    for domain, count in counts.most_common():
        if domain in PUBLIC_MAIL_DOMAINS or domain.endswith(".noreply.github.com") or "." not in domain:
            continue
        domains.append(domain)
        found.add(domain, "mail-domain", f"e-mail domain of {count} commit author/committer entr{'y' if count == 1 else 'ies'}")
    return domains


# ---------------------------------------------------------------------------------- packages

def _from_packages(repo: Path, found: Discovery) -> None:
    for path in _walk(repo, max_depth=3):
        name = path.name
        rel = path.relative_to(repo).as_posix()
        try:
            if name == "pyproject.toml":
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                pkg = data.get("project", {}).get("name") or data.get("tool", {}).get("poetry", {}).get("name")
                if isinstance(pkg, str):
                    found.add(pkg, "package", f"{rel} package name")
            elif name == "Cargo.toml":
                pkg = tomllib.loads(path.read_text(encoding="utf-8")).get("package", {}).get("name")
                if isinstance(pkg, str):
                    found.add(pkg, "package", f"{rel} package name")
            elif name == "package.json":
                pkg = json.loads(path.read_text(encoding="utf-8")).get("name")
                if isinstance(pkg, str):
                    if pkg.startswith("@") and "/" in pkg:
                        scope, _, bare = pkg[1:].partition("/")
                        found.add(scope, "package", f"{rel} npm scope")
                        pkg = bare
                    found.add(pkg, "package", f"{rel} package name")
            elif name == "go.mod":
                m = re.search(r"^module\s+(\S+)", path.read_text(encoding="utf-8"), re.M)
                if m:
                    parts = m.group(1).split("/")
                    if len(parts) >= 2 and "." in parts[0]:
                        if parts[0] not in PUBLIC_FORGES:
                            found.add(parts[0], "host", f"{rel} module host")
                        found.add(parts[1], "organisation", f"{rel} module path")
                    found.add(parts[-1], "package", f"{rel} module name")
        except (OSError, ValueError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
            continue  # a broken manifest proposes nothing; scan and check will report real problems
    # Python packages under src/ often carry the client's name (acmehealth_billing).
    src = repo / "src"
    if src.is_dir():
        for child in sorted(src.iterdir()):
            if child.is_dir() and (child / "__init__.py").is_file():
                found.add(child.name, "package", f"src/{child.name} Python package")


def _walk(repo: Path, max_depth: int) -> list[Path]:
    out: list[Path] = []
    for root, dirs, files in os.walk(repo):
        depth = len(Path(root).relative_to(repo).parts)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and depth < max_depth)
        out.extend(Path(root) / f for f in sorted(files))
        if len(out) > 50_000:
            break
    return out


# ------------------------------------------------------------------------------- config hosts

def _registrable(host: str) -> str:
    """The last two labels of a host (acme-health.de); good enough to group a client's hostnames."""
    labels = host.lower().split(".")
    return ".".join(labels[-2:])


def _from_config_hosts(repo: Path, found: Discovery, mail_domains: list[str]) -> None:
    client_domains = {_registrable(d) for d in mail_domains}
    client_domains |= {_registrable(p.value) for p in found.identifiers if p.kind == "host"}
    slugs = {p.value.lower() for p in found.identifiers if p.kind in ("organisation", "package")}
    files = [
        p for p in _walk(repo, max_depth=6)
        if p.name != "clientguard.toml"  # our own policy would propose what it already lists
        and (p.suffix.lower() in CONFIG_SUFFIXES or p.name in CONFIG_NAMES or p.name.startswith(".env")
             or p.name.endswith(".md"))
    ][:MAX_CONFIG_FILES]
    for path in files:
        try:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        rel = path.relative_to(repo).as_posix()
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in _HOSTNAME.finditer(line):
                host = m.group(1).lower()
                if _is_client_host(host, client_domains, slugs):
                    found.add(host, "hostname", f"{rel}:{lineno}")
                    client_domains.add(_registrable(host))


def _is_client_host(host: str, client_domains: set[str], slugs: set[str]) -> bool:
    labels = host.split(".")
    tld = labels[-1]
    if len(labels) < 2 or tld.isdigit() or tld in {"py", "js", "ts", "go", "rs", "md", "txt", "json", "toml",
                                                      "yaml", "yml", "csv", "html", "css", "sh", "lock", "cfg"}:
        return False
    if any(host == s or host.endswith("." + s) for s in PUBLIC_HOST_SUFFIXES):
        return False
    if _registrable(host) in client_domains:
        return True
    if tld in INTERNAL_TLDS and len(labels) >= 2:
        return True
    squashed = re.sub(r"[^a-z0-9]", "", _registrable(host).split(".")[0])
    return any(squashed and re.sub(r"[^a-z0-9]", "", s) == squashed for s in slugs)


# ------------------------------------------------------------------------------ protected paths

def _protected_paths(repo: Path, found: Discovery) -> None:
    def propose(glob: str, why: str) -> None:
        if all(p.value != glob for p in found.protected_paths):
            found.protected_paths.append(Proposal(glob, "path", [why]))

    for child in sorted(repo.iterdir()) if repo.is_dir() else []:
        name = child.name
        if name.startswith(".env") and child.is_file():
            propose(".env*" if name != ".env" else ".env", f"{name}: environment file")
        elif child.is_dir() and name.lower() in _SECRETISH_NAMES:
            propose(f"{name}/**", f"{name}/: secrets directory")
    pem = [p for p in _walk(repo, max_depth=4) if p.suffix in {".pem", ".key", ".p12", ".pfx"}]
    if pem:
        propose("**/*.pem", f"{pem[0].relative_to(repo).as_posix()}: key material")
        propose("**/*.key", "private key files")
    for candidate in ("data/patients", "data/customers", "data/users", "dumps", "backups"):
        if (repo / candidate).is_dir():
            propose(f"{candidate}/**", f"{candidate}/: data exports")


# ------------------------------------------------------------------------------------ rendering

@dataclass
class InitAnswers:
    """What goes into the new clientguard.toml."""

    name: str
    identifiers: list[str]
    proposed_unconfirmed: list[Proposal]
    protected_paths: list[str]
    nda: bool = True
    no_third_party_processing: bool = False
    audit_log_required: bool = False
    gdpr_controller: bool = False
    authorized_subprocessors: list[str] = field(default_factory=list)
    phi: bool = False
    accounts: list[dict[str, object]] = field(default_factory=list)
    gateway_account: str | None = None
    origins: dict[str, str] = field(default_factory=dict)


def _s(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def _b(value: bool) -> str:
    return "true" if value else "false"


def render_policy(a: InitAnswers) -> str:
    """The text of a commented clientguard.toml for these answers."""
    out: list[str] = [
        "# clientguard policy: the client's contract and the AI accounts used on its code.",
        "# Check it with `clientguard check`; every key is explained in docs/policy.md and",
        "# `clientguard schema` prints the JSON Schema (editors complete from it).",
        "",
        "[client]",
        f"name = {_s(a.name)}",
        "# Names, domains, hostnames and package names that identify the client: replaced by",
        "# placeholders before a prompt leaves this machine, restored in the answer.",
        "identifiers = [",
    ]
    for ident in a.identifiers:
        origin = a.origins.get(ident)
        out.append(f"  {_s(ident)},{'  # ' + origin if origin else ''}")
    if a.proposed_unconfirmed:
        out.append("  # Found in the repository but not confirmed; uncomment the ones that identify the client:")
        for prop in a.proposed_unconfirmed:
            out.append(f"  # {_s(prop.value)},  # {prop.origin_text()}")
    out.append("]")
    out.append("# Files that never leave the machine, in any form (globs relative to the repository).")
    out.append("protected_paths = [" + ", ".join(_s(p) for p in a.protected_paths) + "]")
    out += [
        "",
        "[contract]",
        f"nda = {_b(a.nda)}                        # code and data are confidential",
        f"no_third_party_processing = {_b(a.no_third_party_processing)}  # no third party may process the source code at all",
        f"audit_log_required = {_b(a.audit_log_required)}         # the client wants a record of every egress",
        "",
        "[contract.gdpr]",
        f"controller = {_b(a.gdpr_controller)}                 # the client is a GDPR controller for personal data in this code",
        "# providers the client has approved as sub-processors (ids from `clientguard providers`)",
        "authorized_subprocessors = [" + ", ".join(_s(p) for p in a.authorized_subprocessors) + "]",
        "",
        "[contract.hipaa]",
        f"phi = {_b(a.phi)}                        # protected health information is in scope",
        "",
        "# The AI accounts you use. provider and plan come from `clientguard providers`.",
        "# Optional keys: training_opt_out, opt_out_confirmed (a date), zdr, baa_signed,",
        "# privacy_mode (Cursor), base_url (local model servers).",
    ]
    for account in a.accounts:
        out.append("[[accounts]]")
        for key in ("name", "provider", "plan", "training_opt_out", "opt_out_confirmed", "zdr", "baa_signed",
                    "privacy_mode", "base_url"):
            if key not in account or account[key] is None:
                continue
            value = account[key]
            if isinstance(value, bool):
                out.append(f"{key} = {_b(value)}")
            elif key == "opt_out_confirmed":
                out.append(f"{key} = {value}")
            else:
                out.append(f"{key} = {_s(str(value))}")
        out.append("")
    if not any(acc.get("provider") not in (None, "ollama") for acc in a.accounts):
        out += [
            "# A cloud account, for example:",
            "# [[accounts]]",
            '# name = "work"',
            '# provider = "openai"',
            '# plan = "team"',
            "",
        ]
    out += ["[gateway]"]
    if a.gateway_account:
        out.append(f"account = {_s(a.gateway_account)}  # the account `clientguard serve` forwards under")
    else:
        out.append('# account = "work"  # the account `clientguard serve` forwards under')
    out += [
        "",
        "[scan]",
        "allow_paths = []                  # path globs `clientguard scan` ignores",
        "",
        "[ledger]",
        "keep_prompts = false              # keep fingerprints and counts only, never prompt text",
    ]
    return "\n".join(out) + "\n"
