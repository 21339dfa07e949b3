"""A posterior belongs to the dataset it was fitted on; fits and reports never half-written.

Real fits (the binomial kernel, a few hundred draws) on runs sampled with the fake
generator or simulated.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FakeGenerator

from bayeseffect.cli import main
from bayeseffect.data.dataset import load_dataset, save_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.run_dir import MANIFEST
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.stats.simulate import simulate
from bayeseffect.workflow.fit import fit_run
from bayeseffect.workflow.fit_files import dataset_sha256, staged_folder
from bayeseffect.workflow.plan import plan_run
from bayeseffect.workflow.report import report_run
from bayeseffect.workflow.sample import sample_run

QUICK = {"draws": 200, "tune": 200, "chains": 2}


def _sample(tiny_pair, out, *, fail_after: dict[str, int] | None = None):
    """Sample 6 logic prompts x 2 replicates one cell at a time; ``fail_after`` interrupts
    an arm (Ctrl-C) after that many responses of it."""
    base, instruct = tiny_pair
    limits = fail_after or {}

    def open_generator(arm, resolved=None, params=None):
        return FakeGenerator(arm, fail_after=limits.get(arm))

    return sample_run("logic", base=base, instruct=instruct, prompts=6, replicates=2, seed=1,
                      out=out, params=SamplingParams(batch_size=1),
                      open_generator=open_generator)


def _sampled_then_interrupted(tiny_pair, out, **fail_after):
    with pytest.raises(KeyboardInterrupt):
        _sample(tiny_pair, out, fail_after=fail_after)
    return out


def test_the_dataset_hash_follows_content_not_file_bytes(tmp_path):
    ds = simulate("binary", n_prompts=6, replicates=2, seed=3).dataset
    save_dataset(ds, tmp_path / "a.nc")
    save_dataset(ds, tmp_path / "b.nc")
    loaded = load_dataset(tmp_path / "a.nc")
    assert dataset_sha256(loaded) == dataset_sha256(load_dataset(tmp_path / "b.nc")) \
        == dataset_sha256(ds)
    changed_value = ds.copy(deep=True)
    changed_value["outcome"][1, 0, 0] = 1 - changed_value["outcome"][1, 0, 0]
    changed_attr = ds.copy(deep=True)
    changed_attr.attrs["sampling_params"] = '{"max_tokens": 7}'
    changed_coord = ds.assign_coords(level=("prompt", ["even"] * 6))
    hashes = {dataset_sha256(d) for d in (ds, changed_value, changed_attr, changed_coord)}
    assert len(hashes) == 4


def test_a_resumed_run_refuses_the_posterior_of_its_earlier_dataset(tiny_pair, tmp_path):
    # Ctrl-C during the instruct arm: 12 base responses and 4 instruct (2 prompts).
    run = _sampled_then_interrupted(tiny_pair, tmp_path / "run", instruct=4)
    summary = fit_run(run, **QUICK)
    fitted = json.loads((run / "fit.json").read_text())["dataset_sha256"]
    assert summary["dataset_sha256"] == fitted == dataset_sha256(load_dataset(run / "dataset.nc"))
    report_run(run)
    _sample(tiny_pair, run)  # resumed to the end: dataset.nc now holds 24 responses
    for stale in (lambda: report_run(run), lambda: plan_run(pilot=run, prompts=(10,),
                                                            replicates=(1,))):
        with pytest.raises(BayesEffectError, match=r"posterior.nc was fitted on an earlier "
                                                   r"dataset.nc .*refit with `bayeseffect fit"):
            stale()
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    fit_run(run, **QUICK)  # refitted on the new dataset, it reports again
    assert report_run(run)["design"]["responses_completed"] == 24


def test_a_fit_with_one_arm_empty_is_refused_before_sampling(tiny_pair, tmp_path):
    # Ctrl-C after 4 base responses: the instruct arm has none.
    run = _sampled_then_interrupted(tiny_pair, tmp_path / "run", base=4)
    result = CliRunner().invoke(main, ["fit", str(run)])
    assert result.exit_code == 2, result.output
    assert "the base arm has them on 2 prompt(s), the instruct arm on 0, both on 0" \
        in result.stderr
    assert "resume sampling" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Fitting" not in result.stdout
    assert not (run / "posterior.nc").exists() and not (run / "fit.json").exists()
    assert not (run / "report").exists()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A simulated run, fitted and reported once."""
    run = tmp_path_factory.mktemp("run")
    save_dataset(simulate("binary", n_prompts=12, replicates=2, seed=5).dataset,
                 run / "dataset.nc")
    (run / MANIFEST).write_text(json.dumps({"fingerprint": "sim"}))
    fit_run(run, **QUICK)
    report_run(run)
    return run


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_posterior_is_a_one_line_error(fitted, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(fitted, run)
    data = (run / "posterior.nc").read_bytes()
    (run / "posterior.nc").write_bytes(data[: len(data) // 2] if damage == "truncated"
                                       else b"not a posterior" * 100)
    for args in (["report", str(run)], ["plan", "--pilot", str(run), "--prompts", "10"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (f"error: posterior.nc is damaged (OSError); refit "
                                         f"with `bayeseffect fit {run}`")


def _make_unwritable(folder):
    """Make ``folder`` refuse new files, even to root (immutable); False if impossible."""
    if os.geteuid() == 0:
        return subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    folder.chmod(0o555)
    return True


def _make_writable(folder):
    subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_an_unwritable_run_dir_fails_before_sampling_and_keeps_the_report(fitted, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(fitted, run)
    before = {p.name: p.read_bytes() for p in (run / "report").iterdir()}
    if not _make_unwritable(run):
        pytest.skip("cannot make a folder unwritable here")
    try:
        fit = CliRunner().invoke(main, ["fit", str(run)])
        report = CliRunner().invoke(main, ["report", str(run)])
    finally:
        _make_writable(run)
    assert fit.exit_code == 2, fit.output
    assert fit.stderr.startswith(f"error: cannot write in {run}") and "Fitting" not in fit.stdout
    assert report.exit_code == 2 and "cannot write in" in report.stderr
    assert {p.name: p.read_bytes() for p in (run / "report").iterdir()} == before


def test_a_staged_folder_replaces_the_old_one_whole_or_not_at_all(tmp_path):
    final = tmp_path / "report"
    final.mkdir()
    (final / "summary.json").write_text("old")
    (final / "other_outcome").mkdir()
    (final / "other_outcome" / "summary.json").write_text("other")
    with pytest.raises(RuntimeError), staged_folder(final) as stage:
        (stage / "summary.json").write_text("half")
        raise RuntimeError("a plot failed")
    assert (final / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    with staged_folder(final) as stage:
        (stage / "summary.json").write_text("new")
    assert (final / "summary.json").read_text() == "new"
    assert (final / "other_outcome" / "summary.json").read_text() == "other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_report_keeps_the_other_outcomes_reports(fitted):
    other = fitted / "report" / "n_completion_tokens"
    other.mkdir()
    (other / "summary.json").write_text("{}")
    report_run(fitted)
    assert (other / "summary.json").read_text() == "{}"
    # No staged or retired report folder is left; the run lock's file stays by design.
    assert not [p for p in fitted.iterdir() if p.name.startswith(".") and p.name != ".lock"]


def test_posterior_predictive_plot_takes_per_prompt_differences_of_exactly_0_and_1(tmp_path):
    from bayeseffect.stats.design import design_from_dataset
    from bayeseffect.stats.predictive import prompt_differences
    from bayeseffect.stats.store import load_fit

    ds = simulate("binary", n_prompts=4, replicates=2, seed=0).dataset
    # Base 0 0 / 1 1 / 0 0 / 1 1, instruct 1 1 / 1 1 / 0 0 / 1 1: differences 1, 0, 0, 0,
    # as on the real responses where ArviZ's "look binary" warning failed the report.
    ds["outcome"].values[0] = [[0, 0], [1, 1], [0, 0], [1, 1]]
    ds["outcome"].values[1] = [[1, 1], [1, 1], [0, 0], [1, 1]]
    save_dataset(ds, tmp_path / "dataset.nc")
    (tmp_path / MANIFEST).write_text(json.dumps({"fingerprint": "sim"}))
    fit_run(tmp_path, **QUICK)
    design = design_from_dataset(load_dataset(tmp_path / "dataset.nc"))
    checks = prompt_differences(design, load_fit(tmp_path / "posterior.nc")["posterior"]
                                .to_dataset())
    assert np.array_equal(checks["observed_data"]["prompt_difference"].values, [1, 0, 0, 0])
    report_run(tmp_path)  # warnings are errors in this suite
    assert (tmp_path / "report" / "posterior_predictive.png").exists()
