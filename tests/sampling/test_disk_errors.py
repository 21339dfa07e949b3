"""What the OS refuses (full disk, read-only folder, a file in the way) is one line, never a
traceback, and leaves no temporary file or half-made run behind; the run then resumes."""

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FakeFactory, fill_disk, read_only_folder

from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.sample import default_threads, sample_run

FAKE_CLI = Path(__file__).parents[1] / "fake_cli.py"
#: What :func:`_cli` samples with, for runs the CLI resumes or compares with.
CLI_PARAMS = SamplingParams(threads=default_threads(), batch_size=2)


def _cli(tiny_pair, out, *, limit_bytes=None):
    """Run the real CLI (fake generator) to its end; optionally under a file size limit."""
    def limit():
        # Past the limit a write fails with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    args = [sys.executable, str(FAKE_CLI), "sample", "--variable", "logic",
            "--base", str(tiny_pair[0]), "--instruct", str(tiny_pair[1]), "--prompts", "6",
            "--replicates", "2", "--batch-size", "2", "--no-fit", "--out", str(out)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=limit if limit_bytes else None)


def _one_line_error(result):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def _temporaries(folder):
    return sorted(str(p) for p in folder.rglob("*.tmp"))


def _run(tiny_pair, out, **kwargs):
    options = {"open_generator": FakeFactory()} | kwargs
    return sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=6,
                      replicates=2, seed=0, out=out, **options)


def _texts(run_dir):
    return {k: r.text for k, r in read_journal(run_dir / "responses.jsonl").items()}


def _refused(tiny_pair, out):
    with pytest.raises(BayesEffectError) as caught:
        _run(tiny_pair, out)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_out_under_a_file(tiny_pair, tmp_path):
    (tmp_path / "notes.txt").write_text("a file")
    out = tmp_path / "notes.txt" / "run"
    assert _refused(tiny_pair, out) == (
        f"not a directory creating the run directory {out}: a part of the path is a file, "
        "not a folder; give another --out")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_out_in_proc(tiny_pair):
    assert _refused(tiny_pair, Path("/proc/bayeseffect-test/run")).startswith(
        "no such file or directory creating the run directory /proc/bayeseffect-test/run: ")


def test_out_in_a_read_only_folder(tiny_pair, tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    with read_only_folder(folder):
        message = _refused(tiny_pair, folder / "run")
    assert f"creating the run directory {folder / 'run'}: " in message
    assert message.startswith(("read-only file system", "permission denied"))
    assert list(folder.iterdir()) == []


def test_a_file_size_limit_mid_journal_then_resume(tiny_pair, tmp_path):
    out = tmp_path / "run"
    # run.json and prompts.jsonl fit in 4 KiB; the journal outgrows it after ~14 responses.
    message = _one_line_error(_cli(tiny_pair, out, limit_bytes=4096))
    assert message == (f"file too large writing {out / 'responses.jsonl'}: raise the file size "
                       "limit (ulimit -f) and run the same command to resume")
    assert _temporaries(out) == []
    journal = (out / "responses.jsonl").read_bytes()
    assert journal.endswith(b"\n")  # no half record
    saved = len(read_journal(out / "responses.jsonl"))
    assert 0 < saved == journal.count(b"\n") < 24
    _run(tiny_pair, out, params=CLI_PARAMS)  # the same run, without the limit
    assert _texts(out) == _texts(_run(tiny_pair, tmp_path / "reference", params=CLI_PARAMS))


def test_a_full_disk_on_a_new_run_leaves_nothing(tiny_pair, small_disk):
    filler = fill_disk(small_disk)
    out = small_disk / "run"
    with pytest.raises(BayesEffectError) as caught:
        _run(tiny_pair, out)
    assert str(caught.value) == (f"no space left on device writing {out / 'run.json'}: free "
                                 "space and run the same command again")
    assert sorted(small_disk.iterdir()) == [filler]


def test_a_full_disk_mid_run_is_one_line_then_resumes_to_the_same_texts(tiny_pair, small_disk,
                                                                         tmp_path):
    out = small_disk / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_pair, out, params=CLI_PARAMS, open_generator=FakeFactory(fail_after=5))
    filler = fill_disk(small_disk)
    with pytest.raises(BayesEffectError) as caught:
        _run(tiny_pair, out, params=CLI_PARAMS)
    message = str(caught.value)
    assert message.startswith("no space left on device writing ")
    failed = Path(message.split(" writing ", 1)[1].split(": ", 1)[0])
    assert failed.parent == out
    assert message.endswith(": free space and run the same command to resume"
                            if failed.name == "responses.jsonl" else
                            ": free space and run the same command again")
    assert _temporaries(small_disk) == []
    assert (out / "responses.jsonl").read_bytes().endswith(b"\n")
    os.unlink(filler)
    _run(tiny_pair, out, params=CLI_PARAMS)
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 24
    assert _texts(out) == _texts(_run(tiny_pair, tmp_path / "reference", params=CLI_PARAMS))
