"""Known-effect recovery for every outcome kind, with real PyMC models sampled by nutpie."""

import numpy as np
import pytest

from bayeseffect.stats.decision import summarize_draws
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.fit import fit_design
from bayeseffect.stats.predictive import prompt_differences
from bayeseffect.stats.simulate import simulate


def _recover(kind: str, *, n_prompts: int, replicates: int, beta: float, seed: int):
    sim = simulate(kind, n_prompts=n_prompts, replicates=replicates, beta=beta, seed=seed)
    result = fit_design(design_from_dataset(sim.dataset), seed=seed, by=("level",))
    assert result.diagnostics.passed, result.diagnostics.failures
    return sim, summarize_draws(result.effects["sample_ate"]), result


@pytest.mark.parametrize(("kind", "n_prompts", "replicates", "beta"), [
    ("binary", 120, 5, 0.8),
    ("continuous", 60, 4, 0.5),
    ("count", 40, 3, 0.4),
    ("ordinal", 100, 4, 1.0),
])
def test_known_total_effect_is_recovered(kind, n_prompts, replicates, beta):
    sim, effect, result = _recover(kind, n_prompts=n_prompts, replicates=replicates, beta=beta,
                                   seed=12)
    assert effect.hdi_low <= sim.sample_ate <= effect.hdi_high
    assert abs(effect.mean - sim.sample_ate) < 2.5 * effect.sd
    assert effect.p_positive > 0.99
    population = summarize_draws(result.effects["population_ate"])
    assert population.sd >= 0.9 * effect.sd
    assert set(result.effects["effect_by_level"]["level"].values) == {"even", "odd"}
    # Posterior predictive check: data simulated from the model look like its replicates.
    checks = prompt_differences(result.design, result.idata["posterior"].to_dataset())
    observed_sd = float(checks["observed_data"]["prompt_difference"].std())
    replicated_sd = checks["posterior_predictive"]["prompt_difference"].std("prompt").values
    assert np.quantile(replicated_sd, 0.01) < observed_sd < np.quantile(replicated_sd, 0.99)


def test_no_effect_is_found_practically_zero_or_undecided():
    sim = simulate("binary", n_prompts=200, replicates=4, beta=0.0, sd_prompt_slope=0.05,
                   sd_family_slope=0.05, seed=4)
    result = fit_design(design_from_dataset(sim.dataset), seed=2)
    effect = summarize_draws(result.effects["sample_ate"], rope=0.1)
    assert effect.hdi_low < 0 < effect.hdi_high
    assert effect.verdict == "practically zero"


def test_crossed_items_widen_the_population_interval_to_the_truth():
    # 8 statements, each asked in 6 wordings: the arm effect varies mostly by statement.
    # Counting the 48 prompts as independent would overstate what is known about new
    # statements; the crossed model's population interval must be wider and cover it.
    settings = {"n_prompts": 48, "n_families": 6, "beta": 0.5, "sd_family_slope": 0.2}
    sim = simulate("continuous", replicates=6, n_items=8, sd_item_slope=1.0,
                   sd_prompt_slope=0.1, seed=3, **settings)
    crossed = design_from_dataset(sim.dataset)
    assert crossed.crossed == "item" and len(crossed.items) == 8
    ignored = design_from_dataset(sim.dataset, crossed="")
    assert ignored.items == ()
    with_items = fit_design(crossed, seed=1)
    without = fit_design(ignored, seed=1)
    assert with_items.diagnostics.passed, with_items.diagnostics.failures
    assert {"sd_item", "sd_item_slope"} <= set(with_items.idata["posterior"].data_vars)
    wide = summarize_draws(with_items.effects["population_ate"])
    narrow = summarize_draws(without.effects["population_ate"])
    assert wide.sd > 1.5 * narrow.sd
    # New statements in the observed wordings: beta plus the mean family slope, redrawn
    # as simulate draws them, times the simulated outcome's SD of 2.
    rng = np.random.default_rng(3)
    rng.normal(0, 0.3, 6)
    truth = 2.0 * (0.5 + rng.normal(0, 0.2, 6).mean())
    assert wide.hdi_low <= truth <= wide.hdi_high


def test_crossed_factor_must_be_a_factor():
    from bayeseffect.errors import BayesEffectError

    sim = simulate("binary", n_prompts=8, replicates=2, seed=0)
    with pytest.raises(BayesEffectError, match="crossed factor 'question' is not a factor"):
        design_from_dataset(sim.dataset, crossed="question")
    # Every item asked once: nothing to separate from the prompt effects.
    once = simulate("binary", n_prompts=8, replicates=2, n_families=1, n_items=8, seed=0)
    assert design_from_dataset(once.dataset).items == ()


def test_count_effect_is_on_the_length_a_response_has_under_the_limit():
    from scipy import stats

    from bayeseffect.stats.censored import expected_censored_nb

    mu, alpha, upper = np.array([3.0, 40.0, 900.0]), np.array([2.0, 5.0, 1.5]), 48
    k = np.arange(upper)
    reference = [(k * stats.nbinom.pmf(k, a, a / (a + m))).sum()
                 + upper * stats.nbinom.sf(upper - 1, a, a / (a + m))
                 for m, a in zip(mu, alpha, strict=True)]
    assert expected_censored_nb(mu, alpha, upper) == pytest.approx(reference, rel=1e-9)
    # Most responses at the limit: the expected length is bounded by it, and so is the
    # effect, whatever the unidentified latent mean does.
    sim = simulate("count", n_prompts=20, replicates=2, alpha=2.0, beta=1.0, upper=24, seed=8)
    result = fit_design(design_from_dataset(sim.dataset), seed=8)
    effect = summarize_draws(result.effects["population_ate"])
    assert -24 <= effect.hdi_low <= effect.hdi_high <= 24
    sample = summarize_draws(result.effects["sample_ate"])
    assert sample.hdi_low <= sim.sample_ate <= sample.hdi_high
