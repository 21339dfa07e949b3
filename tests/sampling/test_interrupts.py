"""kill -9 and Ctrl-C of a real `bayeseffect sample` process (fake generator): the run
resumes to the texts of an uninterrupted one, and Ctrl-C leaves a dataset that validates."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import FakeFactory

from bayeseffect.data.contract import validate_dataset
from bayeseffect.data.dataset import load_dataset
from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.sample import default_threads, sample_run

FAKE_CLI = Path(__file__).parents[1] / "fake_cli.py"
PARAMS = SamplingParams(threads=default_threads(), batch_size=4)  # what the CLI below uses


def _start(tiny_pair, out):
    args = [sys.executable, str(FAKE_CLI), "sample", "--variable", "logic",
            "--base", str(tiny_pair[0]), "--instruct", str(tiny_pair[1]), "--prompts", "6",
            "--replicates", "2", "--batch-size", "4", "--no-fit", "--out", str(out)]
    # The first batch of 4 is journaled, the next is decoded halfway and waits at a gate
    # that never opens: the signal lands mid-batch whatever the machine's load.
    env = {**os.environ, "BAYESEFFECT_FAKE_GATE": str(out.parent / "never"),
           "BAYESEFFECT_FAKE_FREE": "6"}
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_for_lines(journal, n, process, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= n:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError(f"{journal} did not reach {n} lines")


def _run(tiny_pair, out):
    return sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=6,
                      replicates=2, seed=0, params=PARAMS, out=out, open_generator=FakeFactory())


def _texts(run_dir):
    return {k: r.text for k, r in read_journal(run_dir / "responses.jsonl").items()}


def test_kill_9_mid_batch_with_a_torn_tail_resumes_to_identical_texts(tiny_pair, tmp_path):
    out = tmp_path / "run"
    journal = out / "responses.jsonl"
    process = _start(tiny_pair, out)
    _wait_for_lines(journal, 4, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    with journal.open("ab") as handle:  # as if killed inside a write
        handle.write(b'{"arm": "base", "prompt_id": "logic-00')
    assert len(read_journal(journal)) == 4
    _run(tiny_pair, out)
    lines = journal.read_bytes().splitlines()
    assert len(lines) == len(read_journal(journal)) == 24  # torn line cut, nothing doubled
    assert _texts(out) == _texts(_run(tiny_pair, tmp_path / "reference"))


def test_ctrl_c_exits_130_with_a_partial_dataset_that_validates(tiny_pair, tmp_path):
    out = tmp_path / "run"
    process = _start(tiny_pair, out)
    _wait_for_lines(out / "responses.jsonl", 4, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted: every finished response is saved" in err
    assert "Traceback" not in err
    ds = load_dataset(out / "dataset.nc")
    validate_dataset(ds)
    saved = len(read_journal(out / "responses.jsonl"))
    assert int(ds["completed"].sum()) == saved == 4
    assert sorted(p.name for p in out.glob(".*.tmp")) == []
    _run(tiny_pair, out)
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 24
