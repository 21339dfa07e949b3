"""Calibration: 90% intervals cover the truth about 90% of the time; samplers agree."""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from bayeseffect.stats.decision import summarize_draws
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.fit import CompiledFit, SamplerSettings, fit_design, sample_gated
from bayeseffect.stats.models import build_model
from bayeseffect.stats.simulate import simulate

SETTINGS = SamplerSettings(draws=500, tune=500, chains=4)


def _coverage(n_datasets: int) -> tuple[float, int]:
    """Fit many simulated datasets with one compiled model; count 90% HDIs covering the ATE."""
    designs, truths = [], []
    for rep in range(n_datasets):
        sim = simulate("binary", n_prompts=40, replicates=4, beta=0.4, seed=2000 + rep)
        designs.append(design_from_dataset(sim.dataset))
        truths.append(sim.sample_ate)
    compiled = CompiledFit(designs[0], priors=None, centered=False, refittable=True)
    hits = []
    for rep, (design, truth) in enumerate(zip(designs, truths, strict=True)):
        result = sample_gated(compiled.with_design(design), SETTINGS, seed=rep)
        effect = summarize_draws(result.effects["sample_ate"], hdi_prob=0.9)
        hits.append(effect.hdi_low <= truth <= effect.hdi_high)
    return float(np.mean(hits)), n_datasets


def _band(n: int, p: float = 0.9, level: float = 0.99) -> tuple[float, float]:
    low, high = stats.binom.interval(level, n, p)
    return low / n, high / n


def test_interval_coverage_is_consistent_with_90_percent():
    coverage, n = _coverage(40)
    low, high = _band(n)
    assert low <= coverage <= high, (coverage, low, high)


@pytest.mark.slow
def test_interval_coverage_over_200_datasets():
    coverage, n = _coverage(200)
    low, high = _band(n)
    assert low <= coverage <= high, (coverage, low, high)


def test_nutpie_and_pymc_nuts_agree_on_the_effect():
    sim = simulate("binary", n_prompts=40, replicates=4, beta=0.5, seed=9)
    design = design_from_dataset(sim.dataset)
    ours = fit_design(design, seed=1)
    nutpie_effect = summarize_draws(ours.effects["sample_ate"])
    with build_model(design).model:
        trace = pm.sample(draws=1000, tune=1000, chains=2, cores=1, random_seed=3,
                          nuts_sampler="pymc", progressbar=False, target_accept=0.95,
                          compute_convergence_checks=False)
    from bayeseffect.stats.estimands import compute_effects

    pymc_effects = compute_effects(trace["posterior"].to_dataset(), design)
    pymc_effect = summarize_draws(pymc_effects["sample_ate"])
    # Agreement within Monte Carlo error plus a small tolerance on the SDs.
    mcse = np.hypot(nutpie_effect.sd / np.sqrt(800), pymc_effect.sd / np.sqrt(400))
    assert abs(nutpie_effect.mean - pymc_effect.mean) < 4 * mcse
    assert abs(nutpie_effect.sd - pymc_effect.sd) < 0.15 * nutpie_effect.sd
