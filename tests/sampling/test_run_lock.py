"""One process at a time on a run directory, tested with real processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FakeFactory

from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.run_lock import RunLockedError, run_lock
from bayeseffect.workflow.fit import fit_run
from bayeseffect.workflow.sample import sample_run

FAKE_CLI = Path(__file__).parents[1] / "fake_cli.py"
HOLD = """
import sys
from pathlib import Path
from bayeseffect.sampling.run_lock import run_lock
with run_lock(Path(sys.argv[1]), doing=sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def _holder(run_dir, doing="sampling"):
    """Another process that holds the lock until its stdin closes (or it is killed)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir), doing],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def _release(process):
    process.communicate(timeout=30)
    assert process.returncode == 0


def test_a_second_process_is_refused_at_once_and_told_who_holds_it(tmp_path):
    holder = _holder(tmp_path, "sampling")
    try:
        start = time.monotonic()
        with pytest.raises(RunLockedError) as caught, run_lock(tmp_path, doing="sampling"):
            pass
        assert time.monotonic() - start < 5  # no waiting
        assert str(caught.value) == (
            f"another process (pid {holder.pid}) is sampling {tmp_path}; wait for it to "
            "finish (or stop it), then run this command again")
    finally:
        _release(holder)
    with run_lock(tmp_path, doing="sampling"):  # free once the holder is done
        pass


def test_a_lock_dies_with_its_process_even_on_kill_9(tmp_path):
    holder = _holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=30)
    with run_lock(tmp_path, doing="sampling"):
        pass


def test_fit_takes_the_lock_too(tiny_pair, tmp_path):
    out = sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3,
                     replicates=1, out=tmp_path / "run", open_generator=FakeFactory())
    holder = _holder(out, "sampling")
    try:
        with pytest.raises(RunLockedError, match="is sampling"):
            fit_run(out)
    finally:
        _release(holder)


def _fake_cli(tiny_pair, out, *, gate=None):
    args = [sys.executable, str(FAKE_CLI), "sample", "--variable", "logic",
            "--base", str(tiny_pair[0]), "--instruct", str(tiny_pair[1]), "--prompts", "6",
            "--replicates", "2", "--batch-size", "2", "--no-fit", "--out", str(out)]
    env = {**os.environ, "BAYESEFFECT_FAKE_GATE": str(gate) if gate else ""}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _wait_for_lines(journal, n, process, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= n:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{journal} did not reach {n} lines")


def test_two_sample_processes_on_one_run_journal_every_cell_once(tiny_pair, tmp_path):
    out = tmp_path / "run"
    gate = tmp_path / "go-on"
    # The first journals one batch, then waits at the gate: it holds the run meanwhile.
    first = _fake_cli(tiny_pair, out, gate=gate)
    try:
        _wait_for_lines(out / "responses.jsonl", 2, first)
        second = _fake_cli(tiny_pair, out)
        _, err = second.communicate(timeout=180)
        assert second.returncode == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0] == (f"error: another process (pid {first.pid}) is sampling {out}; "
                            "wait for it to finish (or stop it), then run this command again")
        gate.touch()
        _, err = first.communicate(timeout=180)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    journal = out / "responses.jsonl"
    assert len(journal.read_bytes().splitlines()) == len(read_journal(journal)) == 24


WRITER = """
import sys
from pathlib import Path
from bayeseffect.sampling.run_dir import write_atomic
path, byte = Path(sys.argv[1]), sys.argv[2].encode()
for _ in range(300):
    write_atomic(path, byte * 200_000)
"""


def test_concurrent_atomic_writes_never_share_a_temporary_file(tmp_path):
    path = tmp_path / "dataset.nc"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), byte],
                                stderr=subprocess.PIPE, text=True) for byte in "ab"]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    data = path.read_bytes()
    assert data in (b"a" * 200_000, b"b" * 200_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.nc"]
