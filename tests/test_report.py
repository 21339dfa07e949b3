"""The report: table, JSON and PNG plots from a real fit of a simulated run."""

import json

import pytest
from click.testing import CliRunner

from bayeseffect.cli import main
from bayeseffect.dataset import save_dataset
from bayeseffect.runs import DATASET, MANIFEST
from bayeseffect.simulate import simulate_binary


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    sim = simulate_binary(n_prompts=40, replicates=3, beta=0.7, seed=8)
    sim.dataset.attrs.update({"cross_family": 1, "cross_family_reasons": "architecture (a vs b)",
                              "base_model_sha256": "a" * 64, "instruct_model_sha256": "b" * 64})
    save_dataset(sim.dataset, run_dir / DATASET)
    (run_dir / MANIFEST).write_text(json.dumps({"fingerprint": "sim"}))
    result = CliRunner().invoke(main, ["fit", str(run_dir)])
    return run_dir, result


def test_fit_prints_effect_interval_and_cross_family_warning(fitted_run):
    run_dir, result = fitted_run
    assert result.exit_code == 0, result.output
    assert "Total effect of instruction tuning on logic" in result.output
    assert "94% HDI" in result.output
    assert "CROSS-FAMILY" in result.output
    assert "Diagnostics passed" in result.output
    assert (run_dir / "posterior.nc").exists()


def test_report_writes_json_and_plots(fitted_run):
    run_dir, _ = fitted_run
    result = CliRunner().invoke(main, ["report", str(run_dir), "--hdi-prob", "0.9"])
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report" / "summary.json").read_text())
    effect = report["total_effect"]
    assert effect["hdi_prob"] == 0.9
    assert effect["hdi_low"] < effect["mean"] < effect["hdi_high"]
    assert report["cross_family"] and "NOT the effect" in report["cross_family_warning"]
    assert report["diagnostics"]["passed"]
    assert set(report["family_effects"]) == {f"family-{g}" for g in range(4)}
    assert report["provenance"]["base_model_sha256"] == "a" * 64
    for name in ("total_effect.png", "family_effects.png"):
        png = (run_dir / "report" / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_posterior_carries_the_dataset_provenance(fitted_run):
    from bayeseffect.stats.binary_fit import load_posterior

    run_dir, _ = fitted_run
    posterior = load_posterior(run_dir / "posterior.nc")
    assert posterior.attrs["cross_family"] == 1
    assert json.loads(posterior.attrs["fit_gates"])[0]["name"] == "max R-hat"
