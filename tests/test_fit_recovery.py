"""Known-effect recovery and interval coverage on simulated data, with real PyMC fits."""

import numpy as np
import pytest

from bayeseffect.simulate import simulate_binary
from bayeseffect.stats.binary_fit import fit_binary_dataset
from bayeseffect.stats.effects import summarize_draws


def test_binary_fit_recovers_a_known_total_effect():
    sim = simulate_binary(n_prompts=120, replicates=5, beta=0.8, seed=12)
    result = fit_binary_dataset(sim.dataset, seed=1)
    assert result.diagnostics.passed, result.diagnostics.failures
    effect = summarize_draws(result.idata["posterior"]["total_effect"])
    assert effect.hdi_low <= sim.sample_ate <= effect.hdi_high
    assert abs(effect.mean - sim.sample_ate) < 2 * effect.sd
    assert sim.sample_ate > 0.1 and effect.p_positive > 0.99


def test_binary_fit_finds_no_effect_when_there_is_none():
    sim = simulate_binary(n_prompts=80, replicates=4, beta=0.0, sd_prompt_slope=0.05,
                          sd_family_slope=0.05, seed=4)
    result = fit_binary_dataset(sim.dataset, seed=2)
    effect = summarize_draws(result.idata["posterior"]["total_effect"])
    assert effect.hdi_low < 0 < effect.hdi_high
    assert abs(effect.mean) < 0.05


@pytest.mark.slow
def test_90_percent_intervals_cover_the_sample_ate_about_90_percent_of_the_time():
    hits = []
    for rep in range(40):
        sim = simulate_binary(n_prompts=60, replicates=4, beta=0.4, seed=1000 + rep)
        result = fit_binary_dataset(sim.dataset, seed=rep)
        effect = summarize_draws(result.idata["posterior"]["total_effect"], hdi_prob=0.9)
        hits.append(effect.hdi_low <= sim.sample_ate <= effect.hdi_high)
    coverage = float(np.mean(hits))
    # 40 fits: a binomial 99% band around 0.9 is roughly [0.75, 1.0].
    assert 0.75 <= coverage <= 1.0, coverage
