"""A real sampling process killed mid-run resumes without loss or duplicates.

Two kills: a SIGKILL at a moment the test does not choose (whatever the process was
doing), and the exact state a kill inside a partly journaled batch leaves on disk (some
of the batch's lines fsynced, the next one torn), made deterministically from a
reference run's journal.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bayeseffect.sampling.journal import read_journal

pytestmark = pytest.mark.llm
ARGS = ["sample", "--variable", "logic", "--prompts", "6", "--replicates", "2",
        "--max-tokens", "8", "--threads", "2", "--seed", "5", "--batch-size", "4", "--no-fit",
        # Without the cache, the killed run must really decode what the first one did.
        "--no-cache"]


def _command(out):
    return [sys.executable, "-m", "bayeseffect", *ARGS, "--out", str(out)]


def _sample_to_end(out):
    result = subprocess.run(_command(out), capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    _sample_to_end(out)
    return read_journal(out / "responses.jsonl"), out


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path, reference):
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
    resumed = read_journal(journal)
    lines = journal.read_bytes().splitlines()
    assert len(resumed) == 24 and len(lines) == 24  # a torn line is cut, never doubled
    expected, _ = reference
    assert {k: r.text for k, r in resumed.items()} == {k: r.text for k, r in expected.items()}


def test_a_kill_inside_a_partly_journaled_batch_resumes_to_the_same_bytes(tmp_path, reference):
    expected, source = reference
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in ("run.json", "prompts.jsonl"):
        shutil.copy(source / name, killed / name)
    lines = (source / "responses.jsonl").read_bytes().splitlines(keepends=True)
    # Batches hold 4 cells: the first batch whole, two cells of the second, a torn third.
    (killed / "responses.jsonl").write_bytes(b"".join(lines[:6]) + lines[6][:25])
    assert len(read_journal(killed / "responses.jsonl")) == 6

    _sample_to_end(killed)
    resumed = read_journal(killed / "responses.jsonl")
    assert len((killed / "responses.jsonl").read_bytes().splitlines()) == 24
    assert {k: (r.text, r.seed, r.n_completion_tokens) for k, r in resumed.items()} == \
        {k: (r.text, r.seed, r.n_completion_tokens) for k, r in expected.items()}
