"""A real sampling process killed with SIGKILL mid-run resumes without loss or duplicates."""

import os
import signal
import subprocess
import sys
import time

import pytest

from bayeseffect.journal import read_journal

pytestmark = pytest.mark.llm
ARGS = ["sample", "--variable", "logic", "--prompts", "6", "--replicates", "2",
        "--max-tokens", "8", "--threads", "2", "--seed", "5", "--no-fit",
        # Without the cache, the killed run must really decode what the first one did.
        "--no-cache"]


def _command(out):
    return [sys.executable, "-m", "bayeseffect", *ARGS, "--out", str(out)]


def _sample_to_end(out):
    result = subprocess.run(_command(out), capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    journal = killed / "responses.jsonl"
    process = subprocess.Popen(_command(killed), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_bytes().splitlines()) >= 7:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    interrupted = len(read_journal(journal))
    assert 7 <= interrupted < 24

    _sample_to_end(killed)
    reference = tmp_path / "reference"
    _sample_to_end(reference)
    resumed = read_journal(journal)
    lines = journal.read_bytes().splitlines()
    assert len(resumed) == 24 and len(lines) == 24  # a torn line is cut, never doubled
    expected = read_journal(reference / "responses.jsonl")
    assert {k: r.text for k, r in resumed.items()} == {k: r.text for k, r in expected.items()}
