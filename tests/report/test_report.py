"""The report: table, JSON and PNG plots from a real fit of a simulated run."""

import json

import pytest
from click.testing import CliRunner

from bayeseffect.cli import main
from bayeseffect.data.dataset import save_dataset
from bayeseffect.sampling.run_dir import DATASET, MANIFEST
from bayeseffect.stats.simulate import simulate


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    # A seed whose responses show the effect clearly (paired t 90% [0.025, 0.225]).
    sim = simulate("binary", n_prompts=40, replicates=3, beta=0.7, seed=4)
    sim.dataset.attrs.update({"cross_family": 1, "cross_family_reasons": "architecture (a vs b)",
                              "base_model_sha256": "a" * 64, "instruct_model_sha256": "b" * 64})
    save_dataset(sim.dataset, run_dir / DATASET)
    (run_dir / MANIFEST).write_text(json.dumps({"fingerprint": "sim"}))
    result = CliRunner().invoke(main, ["fit", str(run_dir)])
    return run_dir, result


def test_fit_prints_effect_interval_and_cross_family_warning(fitted_run):
    run_dir, result = fitted_run
    assert result.exit_code == 0, result.output
    assert "Total effect of instruction tuning on simulated_binary" in result.output
    assert "94% HDI" in result.output
    assert "population ATE" in result.output
    assert "paired t" in result.output and "McNemar" in result.output
    assert "CROSS-FAMILY" in result.output
    assert "Diagnostics passed" in result.output
    assert (run_dir / "posterior.nc").exists()


def test_report_writes_json_and_plots(fitted_run):
    run_dir, _ = fitted_run
    result = CliRunner().invoke(main, ["report", str(run_dir), "--hdi-prob", "0.9",
                                       "--rope", "0.01", "--by", "level"])
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report" / "summary.json").read_text())
    effect = report["sample_ate"]
    assert effect["hdi_prob"] == 0.9 and effect["rope"] == 0.01
    assert effect["hdi_low"] < effect["mean"] < effect["hdi_high"]
    assert effect["verdict"] == "effect"
    assert report["population_ate"]["sd"] >= 0.9 * effect["sd"]
    assert set(report["effect_by"]) == {"even", "odd"}
    assert set(report["contrast_by"]) == {"odd"}
    assert [c["method"].split()[0] for c in report["crosschecks"]] == [
        "paired", "cluster", "clustered"]
    assert report["cross_family"] and "NOT the effect" in report["cross_family_warning"]
    assert report["diagnostics"]["passed"]
    assert report["provenance"]["base_model_sha256"] == "a" * 64
    for name in ("total_effect.png", "effect_by_level.png", "posterior_predictive.png",
                 "prior_predictive.png"):
        _assert_drawn(run_dir / "report" / name)


def _assert_drawn(path, *, min_colors=30):
    """Fail unless ``path`` is a PNG with a drawing on it: not blank, not a solid block."""
    import matplotlib.image
    import numpy as np

    assert path.read_bytes().startswith(b"\x89PNG")
    pixels = matplotlib.image.imread(path)[..., :3]
    # Lines, text and antialiased edges give many shades; a blank canvas has one.
    colors = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colors) >= min_colors, f"{path.name}: {len(colors)} colors"
    inked = (pixels < 0.9).any(axis=-1).mean()
    assert 0.01 < inked < 0.6, f"{path.name}: {inked:.1%} of the pixels are not white"


def test_posterior_predictive_figure_labels_its_axes(fitted_run, tmp_path):
    import re

    from bayeseffect.data.dataset import load_dataset
    from bayeseffect.report.plots import plot_prompt_ppc
    from bayeseffect.stats.design import design_from_dataset
    from bayeseffect.stats.predictive import prompt_differences
    from bayeseffect.stats.store import load_fit

    run_dir, _ = fitted_run
    design = design_from_dataset(load_dataset(run_dir / DATASET))
    checks = prompt_differences(design, load_fit(run_dir / "posterior.nc")["posterior"]
                                .to_dataset())
    # matplotlib's SVG names every text it draws in a comment.
    svg = plot_prompt_ppc(checks, tmp_path / "ppc.svg", title="check", outcome="outcome")
    texts = re.findall(r"<!-- (.*?) -->", svg.read_text())
    assert "per-prompt difference in mean outcome (instruct - base)" in texts
    assert "share of prompts at or below" in texts
    assert "check" in texts


def test_unknown_by_factor_is_a_one_line_error(fitted_run):
    run_dir, _ = fitted_run
    result = CliRunner().invoke(main, ["report", str(run_dir), "--by", "levl"])
    assert result.exit_code == 2
    assert "did you mean level?" in result.stderr


def test_fit_file_carries_the_dataset_provenance_and_effects(fitted_run):
    from bayeseffect.stats.store import load_fit

    run_dir, _ = fitted_run
    fit = load_fit(run_dir / "posterior.nc")
    assert fit.attrs["cross_family"] == 1
    assert json.loads(fit.attrs["fit_summary"])["gates"][0]["name"] == "max R-hat"
    assert {"sample_ate", "population_ate", "effect_by_family"} <= set(fit["effects"].data_vars)


def test_one_forest_plot_holds_effects_of_several_outcomes_by_their_own_factors(tmp_path):
    import numpy as np
    import xarray as xr

    from bayeseffect.report.plots import plot_effects_forest

    rng = np.random.default_rng(0)
    dimension = xr.DataArray(rng.normal(size=(4, 500, 3)), dims=("chain", "draw", "dimension"),
                             coords={"dimension": ["age", "gender", "nationality"]})
    axis = xr.DataArray(rng.normal(size=(2, 800, 2)), dims=("chain", "draw", "axis"),
                        coords={"axis": ["economic", "social"]})
    path = plot_effects_forest({"social_bias: ambiguous_bias by dimension": dimension,
                                "political_stance: position by axis": axis},
                               tmp_path / "bias.png", title="bias", warning="CROSS-FAMILY")
    _assert_drawn(path)
    with pytest.raises(ValueError, match="no panels"):
        plot_effects_forest({}, tmp_path / "none.png", title="none")
