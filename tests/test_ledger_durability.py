"""SIGKILL in the middle of a burst: every acknowledged append survives and the chain still verifies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from clientguard.ledger import Ledger
from clientguard.ledger.verify import verify_ledger

# Appends as fast as it can and prints each sequence number once append() has returned:
# a printed number is an acknowledged write, as a started response is for the gateway.
BURST = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from _ledger_support import make_record
    from clientguard.ledger import Ledger
    path, worker = Path(sys.argv[1]), int(sys.argv[2])
    with Ledger.open(path) as led:
        i = 0
        while True:
            seq = led.append(make_record(i, agent=f"burst-{{worker}}", files=[f"f{{worker}}-{{i}}.py"]))
            print(f"{{worker}} {{i}} {{seq}}", flush=True)
            i += 1
    """
).format(tests=str(Path(__file__).parent))


def _burst_then_kill(path: Path, workers: int, acks_before_kill: int) -> list[tuple[int, int, int]]:
    procs = [subprocess.Popen([sys.executable, "-c", BURST, str(path), str(w)], stdout=subprocess.PIPE, text=True)
             for w in range(workers)]
    acked: list[tuple[int, int, int]] = []
    try:
        # Read round-robin until enough writes were acknowledged, then kill every writer mid-burst.
        while len(acked) < acks_before_kill:
            for p in procs:
                line = p.stdout.readline()
                if not line:
                    raise AssertionError(f"writer exited early with {p.wait()}")
                w, i, seq = map(int, line.split())
                acked.append((w, i, seq))
    finally:
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            p.wait(timeout=30)
            # Lines written before the kill but not yet read are acknowledged writes too.
            for line in p.stdout.read().splitlines():
                parts = line.split()
                if len(parts) == 3:
                    acked.append(tuple(map(int, parts)))  # type: ignore[arg-type]
            p.stdout.close()
    assert all(p.returncode == -signal.SIGKILL for p in procs)
    return acked


def test_sigkilled_writer_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    acked = _burst_then_kill(path, workers=1, acks_before_kill=300)
    result = verify_ledger(path)
    assert result.ok, result.problem
    with Ledger.open(path) as led:
        stored = {(r.agent, r.files[0]) for r in led.records()}
    missing = [(w, i) for w, i, _ in acked if (f"burst-{w}", f"f{w}-{i}.py") not in stored]
    assert missing == []
    assert result.count >= len(acked)


def test_several_sigkilled_writers_leave_one_verifiable_chain(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    acked = _burst_then_kill(path, workers=3, acks_before_kill=300)
    result = verify_ledger(path)
    assert result.ok, result.problem
    with Ledger.open(path) as led:
        entries = led.entries()
    by_seq = {e.seq: json.loads(e.body) for e in entries}
    # Each acknowledged sequence number holds exactly the record its writer appended.
    for w, i, seq in acked:
        assert (by_seq[seq]["agent"], by_seq[seq]["files"]) == (f"burst-{w}", [f"f{w}-{i}.py"])


def test_the_ledger_accepts_appends_after_a_kill(tmp_path: Path) -> None:
    from _ledger_support import make_record

    path = tmp_path / "l.sqlite"
    _burst_then_kill(path, workers=1, acks_before_kill=50)
    with Ledger.open(path) as led:
        before = led.count()
        assert led.append(make_record(999)) == before + 1
    assert verify_ledger(path).ok
