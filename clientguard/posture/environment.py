"""What every agent inherits: secrets in environment variables, and secret files it can read."""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

from clientguard.paths import PathGlobs
from clientguard.posture.model import AgentPosture, AuditContext
from clientguard.posture.secret_env import names_only, secret_env_catalog

AGENT = "environment"
# Bound the repository walk; a client repo with more files than this is reported from the first ones seen.
MAX_REPO_FILES = 50000
SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
                       ".pytest_cache", "dist", "build", ".next", "target", ".gradle", ".idea"})
SECRET_FILE_PATTERNS = (
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "credentials.json", "service-account*.json",
    "*.tfstate", "*.tfstate.backup", ".npmrc", ".pypirc", ".netrc", ".htpasswd", "secrets.y*ml", "secrets.json",
)
NOT_SECRET_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".tpl")
HOME_CREDENTIALS = (
    ".aws/credentials", ".config/gcloud/application_default_credentials.json", ".azure/accessTokens.json",
    ".kube/config", ".docker/config.json", ".netrc", ".npmrc", ".pypirc", ".config/gh/hosts.yml",
    ".git-credentials", ".pgpass", ".env", ".aider/oauth-keys.env",
)


def audit_environment(ctx: AuditContext) -> AgentPosture:
    """Secret-bearing variables (names only) and secret files in the repository and home."""
    posture = AgentPosture(AGENT, found=True)
    catalog = secret_env_catalog()
    secrets = catalog.secrets_in(ctx.env)
    if secrets:
        by_family: dict[str, list[str]] = {}
        for name, family in secrets.items():
            by_family.setdefault(family, []).append(name)
        detail = "; ".join(f"{catalog.description(f)}: {names_only(n)}" for f, n in sorted(by_family.items()))
        posture.add("environment.secret_variables", "medium",
                    f"every agent started from this shell inherits these secrets, and a command it runs can print "
                    f"them into the prompt: {detail}.",
                    "start agents with `clientguard run -- AGENT` (it removes the secrets the agent does not need), "
                    "or inject secrets per command: `op run -- CMD` / `aws-vault exec PROFILE -- CMD`")
    if ctx.repo is not None and ctx.repo.is_dir():
        posture.add_config_path(ctx.repo)
        files, truncated = secret_files(ctx.repo)
        globs = PathGlobs(ctx.protected_paths)
        protected = [f for f in files if globs.matches(Path(f).as_posix())]
        exposed = [f for f in files if f not in protected]
        more = " (the walk stopped early)" if truncated else ""
        if exposed:
            posture.add("environment.secret_files_in_repo", "medium",
                        f"secret files in the client repository that an agent can read and send: {_shown(exposed)}{more}. "
                        "The gateway redacts the secrets it recognises, but only protected paths are withheld whole.",
                        "move them out of the working tree, or add them to protected_paths in clientguard.toml "
                        f"(e.g. protected_paths = {json.dumps(exposed[:3])}), "
                        "and load secrets at run time: `op run --env-file=.env.tpl -- CMD`")
        if protected:
            posture.add("environment.secret_files_protected", "info",
                        f"secret files under the client's protected paths: {_shown(protected)}; the gateway withholds "
                        "their content from every request (an agent on its own still reads them locally).")
    proxy = next((name for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy") if ctx.env.get(name)), None)
    if proxy is not None and not _bypasses_loopback(ctx.env):
        posture.add("environment.proxy_catches_the_gateway", "medium",
                    f"{proxy} is set and NO_PROXY does not name 127.0.0.1: an agent started from this shell with the "
                    "gateway as its base URL (http://127.0.0.1:8787) sends its requests, not yet redacted, to the "
                    "proxy instead (measured with Codex 0.169 and 0.171 and Claude Code 2.1.332). `clientguard run` sets NO_PROXY for the agent itself.",
                    "export NO_PROXY=\"${NO_PROXY:+$NO_PROXY,}127.0.0.1,localhost,::1\" (and the same for no_proxy), "
                    "or start agents with `clientguard run -- AGENT`")
    home_files = [rel for rel in HOME_CREDENTIALS if (ctx.home / rel).is_file()]
    if home_files:
        posture.add("environment.home_credentials", "low",
                    f"credential files in the home directory that an agent running commands can read: "
                    f"{', '.join('~/' + f for f in home_files)}.",
                    'keep Codex in its sandbox (sandbox_mode = "workspace-write") and Claude Code in the project '
                    '("permissions": {"deny": ["Read(~/.aws/**)", "Read(~/.kube/**)"]})')
    return posture


def _bypasses_loopback(env) -> bool:
    """Whether NO_PROXY (or no_proxy) sends 127.0.0.1 around the proxy: `*`, the address, or its network."""
    for name in ("NO_PROXY", "no_proxy"):
        entries = {e.strip().lower() for e in env.get(name, "").split(",")}
        if entries & {"*", "127.0.0.1", "127.0.0.1/32", "127.0.0.0/8"}:
            return True
    return False


def _shown(files: list[str]) -> str:
    return ", ".join(files[:12]) + (f" and {len(files) - 12} more" if len(files) > 12 else "")


def is_secret_file(name: str) -> bool:
    """True for a file name that usually holds secrets (.env, keys, credentials), not for templates."""
    if name.endswith(NOT_SECRET_SUFFIXES):
        return False
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SECRET_FILE_PATTERNS)


def secret_files(repo: Path) -> tuple[list[str], bool]:
    """Repository-relative paths of secret files, and whether the walk hit its bound."""
    found: list[str] = []
    seen = 0
    for root, dirs, names in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            seen += 1
            if seen > MAX_REPO_FILES:
                return found, True
            if is_secret_file(name):
                found.append(str((Path(root) / name).relative_to(repo)))
    return found, False
