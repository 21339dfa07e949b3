"""Fitting other outcomes of a run, and ``--variable all`` (fake generator, real fits)."""

import json

import pytest
from conftest import FakeFactory
from rich.console import Console

from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.report.study import StudyRow, render_study
from bayeseffect.variables import get_variable, variable_names
from bayeseffect.workflow.fit import fit_run
from bayeseffect.workflow.report import report_run
from bayeseffect.workflow.sample import sample_run
from bayeseffect.workflow.study import sample_all


def test_verbosity_is_fitted_beside_the_headline_without_touching_it(tiny_pair, tmp_path):
    base, instruct = tiny_pair
    run_dir = sample_run("logic", base=base, instruct=instruct, prompts=16, replicates=3,
                         seed=2, out=tmp_path / "run", open_generator=FakeFactory())
    summary = fit_run(run_dir, outcome="n_completion_tokens", draws=300, tune=300, chains=2)
    assert summary["kind"] == "count" and summary["outcome"] == "n_completion_tokens"
    assert (run_dir / "posterior-n_completion_tokens.nc").exists()
    assert (run_dir / "fit-n_completion_tokens.json").exists()
    assert not (run_dir / "posterior.nc").exists()
    report = report_run(run_dir, outcome="n_completion_tokens")
    assert report["outcome"] == "n_completion_tokens" and "ratio" in report
    # The fake instruct arm says "Yes." more often, one word instead of five: shorter.
    assert report["sample_ate"]["mean"] < 0
    assert report["sample_ate"]["rope"] == 5.0
    assert (run_dir / "report" / "n_completion_tokens" / "summary.json").exists()
    with pytest.raises(BayesEffectError, match="no posterior yet"):
        report_run(run_dir)
    with pytest.raises(BayesEffectError, match="cannot be fitted; fittable outcomes"):
        fit_run(run_dir, outcome="response")


def test_all_variables_are_sampled_with_their_own_token_limits_and_caps(tiny_pair, tmp_path):
    base, instruct = tiny_pair
    run_dirs, rows, study = sample_all(base=base, instruct=instruct, prompts=151,
                                       replicates=1, fit=False, runs_root=tmp_path,
                                       open_generator=FakeFactory())
    assert rows == [] and study is None
    assert len(run_dirs) == len(variable_names())
    for run_dir in run_dirs:
        ds = load_dataset(run_dir / "dataset.nc")
        variable = get_variable(str(ds.attrs["variable"]))
        assert json.loads(ds.attrs["sampling_params"])["max_tokens"] == variable.max_tokens
        assert ds.sizes["prompt"] == min(151, variable.max_prompts or 151)


def test_study_table_names_failed_fits_and_cross_family_pairs():
    console = Console(record=True, width=160)
    rows = [StudyRow("logic", "correct", "binary", "r1", 0.1, 0.05, 0.15, 0.99, "effect",
                     float("nan"), True),
            StudyRow("logic", "n_completion_tokens", "count", "r1", -3.0, -5.0, -1.0, 0.01,
                     "effect", 0.8, False)]
    render_study(rows, console=console, cross_family=True)
    text = console.export_text()
    assert "CROSS-FAMILY" in text and "not a result" in text and "FAILED" in text
    assert "0.80x" in text
