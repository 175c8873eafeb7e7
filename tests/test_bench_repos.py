"""bench/repos.py runs `clientguard scan` and `detect-secrets scan` on the same directory and reports both."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_repository_benchmark_runs_both_commands_on_the_demo_client(tmp_path):
    demo = tmp_path / "acme-client"
    shutil.copytree(ROOT / "examples" / "acme-client", demo)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "repos.py"), str(demo), "--repeat", "1"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "220"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    row = next(line for line in result.stdout.splitlines() if "acme-client" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[0] == "acme-client" and int(cells[1]) > 5 and int(cells[5]) > 10  # files, findings
    assert float(cells[6]) > 0 and cells[8].endswith("×")  # detect-secrets ran on the same directory
