"""Concurrent writers, in threads and in separate processes, never fork the chain."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from _ledger_support import make_record
from clientguard.ledger import Ledger
from clientguard.ledger.verify import verify_ledger

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from _ledger_support import make_record
    from clientguard.ledger import Ledger
    path, worker, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    sys.stdin.readline()  # start together
    with Ledger.open(path) as led:
        for i in range(n):
            led.append(make_record(worker * 1000 + i, agent=f"proc-{{worker}}"))
    """
).format(tests=str(Path(__file__).parent))


def test_threads_sharing_one_ledger_append_a_single_chain(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    led = Ledger.open(path)
    seqs: list[int] = []
    lock = threading.Lock()

    def work(w: int) -> None:
        for i in range(40):
            s = led.append(make_record(w * 100 + i))
            with lock:
                seqs.append(s)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    led.close()
    assert sorted(seqs) == list(range(1, 321))
    result = verify_ledger(path)
    assert result.ok and result.count == 320


def test_threads_each_with_their_own_connection_append_a_single_chain(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Ledger.open(path).close()

    def work(w: int) -> None:
        with Ledger.open(path) as led:
            for i in range(30):
                led.append(make_record(w * 100 + i))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify_ledger(path)
    assert result.ok and result.count == 180


def test_processes_creating_and_appending_at_once_append_a_single_chain(tmp_path: Path) -> None:
    # The file does not exist yet: the processes also race to create the schema and the key.
    path = tmp_path / "shared" / "l.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), "60"], stdin=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.stdin.close()
        assert p.wait(timeout=120) == 0
    result = verify_ledger(path)
    assert result.ok, result.problem
    assert result.count == 240
    with Ledger.open(path) as led:
        agents = {r.agent for r in led.records()}
    assert agents == {f"proc-{w}" for w in range(4)}


def test_verify_while_another_process_appends_sees_a_consistent_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as led:
        for i in range(200):
            led.append(make_record(i))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "7", "400"], stdin=subprocess.PIPE, text=True)
    writer.stdin.write("go\n")
    writer.stdin.close()
    try:
        results = []
        while writer.poll() is None and len(results) < 2000:  # bounded; the writer ends first
            results.append(verify_ledger(path))
    finally:
        assert writer.wait(timeout=120) == 0
    assert len({r.count for r in results}) > 2  # verified at several points of the writer's burst
    assert all(r.ok for r in results), [r.problem for r in results if not r.ok][:3]
    assert verify_ledger(path).count == 600
