"""`bayeseffect fit` as a user runs it, in its own process: Ctrl-C, temporary files, caches."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bayeseffect
from bayeseffect.data.dataset import save_dataset
from bayeseffect.sampling.run_dir import MANIFEST
from bayeseffect.stats.simulate import simulate
from bayeseffect.workflow.fit import fit_run


def _simulated_run(run: Path, *, n_prompts: int, replicates: int, seed: int = 2) -> Path:
    run.mkdir(exist_ok=True)
    save_dataset(simulate("binary", n_prompts=n_prompts, replicates=replicates,
                          seed=seed).dataset, run / "dataset.nc")
    (run / MANIFEST).write_text(json.dumps({"fingerprint": "sim"}))
    return run


def test_ctrl_c_stops_a_fit_with_exit_130_and_keeps_the_previous_posterior(tmp_path):
    run = _simulated_run(tmp_path / "run", n_prompts=8, replicates=2)
    fit_run(run, draws=200, tune=200, chains=2)
    previous = (run / "posterior.nc").read_bytes(), (run / "fit.json").read_bytes()
    # A bigger dataset and far more draws than a Ctrl-C lets finish: the interrupt
    # lands in nutpie's sampling, which used to swallow it and start the next attempt.
    _simulated_run(run, n_prompts=300, replicates=4)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bayeseffect", "fit", str(run), "--draws", "50000",
         "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Fitting the hierarchical binary model"), line
        time.sleep(6)  # the model is built in ~1 s; then nutpie samples for minutes
        assert process.poll() is None, "the fit ended before it was interrupted"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (out, err)
    assert "interrupted" in err and "Attempt" not in out, (out, err)
    assert stopped_in < 30
    assert ((run / "posterior.nc").read_bytes(), (run / "fit.json").read_bytes()) == previous


def _files_under(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*") if p.is_file()}


def test_a_fit_leaves_nothing_in_the_temporary_dir_or_the_package(tmp_path):
    run = _simulated_run(tmp_path / "run", n_prompts=8, replicates=2)
    temporary, cache = tmp_path / "tmp", tmp_path / "cache"
    temporary.mkdir()
    package = Path(bayeseffect.__file__).parent
    before = _files_under(package)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTENSOR_FLAGS")}
    # A fresh cache dir: the kernel is compiled and cached from scratch (~15-30 s).
    env |= {"TMPDIR": str(temporary), "XDG_CACHE_HOME": str(cache),
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "bayeseffect", "fit", str(run), "--draws", "200", "--tune",
         "200", "--chains", "2"], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode in (0, 3), result.stderr
    assert (run / "report" / "summary.json").exists()
    assert sorted(temporary.iterdir()) == []
    assert _files_under(package) == before
    assert list((cache / "bayeseffect" / "numba").rglob("*.nbi"))
    # PyTensor's generated source of the prior predictive check, content-addressed.
    assert list((cache / "bayeseffect" / "pytensor-src").glob("*.py"))
