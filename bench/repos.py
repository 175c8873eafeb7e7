"""Whole-command wall time on real repositories: `clientguard scan` vs `detect-secrets scan`, in one run.

What a user waits for, start-up included: each tool runs as a command on the same checkouts. For small
repositories start-up is most of it, which the throughput benchmark (bench/scan.py) leaves out.

    .venv/bin/python bench/repos.py [PATH ...] [--repeat 5] [--peer-timeout 600]

Default paths: this project's own repository and the bundled demo client (present everywhere); pass any
local checkouts (nothing is downloaded). clientguard runs --repeat times and the fastest run counts (the
machine's other work only ever slows a run down); detect-secrets runs once, since it is much slower.
In a git work tree both scan what git lists (clientguard also reads the git-ignored files agents commonly
read, .env* and *.pem); in a plain directory both scan every file (detect-secrets with --all-files).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Run:
    seconds: float
    findings: int
    files: int = 0
    mb: float = 0.0


def run_clientguard(path: Path, repeat: int, env: dict[str, str]) -> Run:
    best: Run | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "clientguard.cli", "scan", "--format", "json", "--no-progress",
                               str(path)], capture_output=True, text=True, env=env, timeout=3600)
        elapsed = time.perf_counter() - started
        if proc.returncode not in (0, 1):
            raise SystemExit(f"clientguard scan {path} exited {proc.returncode}: {proc.stderr[-2000:]}")
        report = json.loads(proc.stdout)
        run = Run(elapsed, len(report["findings"]), report["stats"]["files"], report["stats"]["bytes"] / 1e6)
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    return best


def run_detect_secrets(path: Path, timeout: float) -> Run | None:
    exe = BIN / "detect-secrets"
    if not exe.exists():
        return None
    started = time.perf_counter()
    try:
        # In a git work tree detect-secrets scans what git lists; elsewhere it needs --all-files to scan at all.
        scope = [] if (path / ".git").exists() else ["--all-files"]
        proc = subprocess.run([str(exe), "scan", *scope, "."], capture_output=True, text=True, cwd=path,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run(float("inf"), -1)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"detect-secrets scan {path} exited {proc.returncode}: {proc.stderr[-2000:]}")
    results = json.loads(proc.stdout).get("results", {})
    return Run(elapsed, sum(len(v) for v in results.values()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, help="local repositories (default: this one and the demo client)")
    ap.add_argument("--repeat", type=int, default=5, help="clientguard runs per repository; the fastest counts")
    ap.add_argument("--peer-timeout", type=float, default=600, help="give up on detect-secrets after this many seconds")
    args = ap.parse_args()
    paths = args.paths or [ROOT, ROOT / "examples" / "acme-client"]
    missing = [p for p in paths if not p.is_dir()]
    if missing:
        print(f"not a directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # One run first, so the rule and hyperscan caches exist, as they do on any machine after the first scan.
    run_clientguard(paths[0], 1, env)
    table = Table(title="`clientguard scan` vs `detect-secrets scan` on real repositories (wall clock, start-up included)")
    for col in ("repository", "files", "MB", "clientguard s", "MB/s", "findings", "detect-secrets s", "findings ",
                "speed-up"):
        table.add_column(col, justify="left" if col == "repository" else "right")
    for path in paths:
        ours = run_clientguard(path, args.repeat, env)
        peer = run_detect_secrets(path, args.peer_timeout)
        peer_s = "—" if peer is None else ("timeout" if peer.seconds == float("inf") else f"{peer.seconds:.2f}")
        peer_n = "—" if peer is None or peer.findings < 0 else str(peer.findings)
        ratio = "—" if peer is None or peer.seconds == float("inf") else f"{peer.seconds / ours.seconds:.0f}×"
        table.add_row(path.name or str(path), str(ours.files), f"{ours.mb:.1f}", f"{ours.seconds:.2f}",
                      f"{ours.mb / ours.seconds:.1f}", str(ours.findings), peer_s, peer_n, ratio)
    Console().print(table)
    print("clientguard counts secrets, personal data and client identifiers; detect-secrets counts secrets only.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
