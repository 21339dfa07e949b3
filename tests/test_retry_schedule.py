"""The retry schedule: each failed gate gets the retry that addresses it."""

import numpy as np

from bayeseffect.simulate import simulate
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.diagnostics import Diagnostics, Gate
from bayeseffect.stats.fit import (
    Attempt,
    CompiledFit,
    SamplerSettings,
    fit_design,
    next_attempt,
    sample_gated,
)


def _failing(**values: float) -> Diagnostics:
    limits = {"max R-hat": 1.01, "min bulk ESS": 400.0, "min tail ESS": 400.0,
              "divergences": 0.0, "min E-BFMI": 0.3, "MCSE/SD of the effect": 0.1}
    return Diagnostics(gates=tuple(
        Gate(name, values.get(name.replace(" ", "_"), limit), limit,
             name.replace(" ", "_") not in values)
        for name, limit in limits.items()))


FIRST = Attempt(SamplerSettings(draws=1000, tune=500, chains=4, target_accept=0.9),
                centered=False)


def test_divergences_ask_for_smaller_steps_then_the_other_parameterization():
    second = next_attempt(FIRST, _failing(divergences=3))
    assert second.settings.target_accept == 0.95 and not second.pooled
    third = next_attempt(second, _failing(divergences=1))
    assert third.settings.target_accept == 0.99
    fourth = next_attempt(third, _failing(divergences=1))
    assert fourth.centered and fourth.switched
    assert next_attempt(fourth, _failing(divergences=1)) is None


def test_an_ess_shortfall_adds_pooled_chains_in_proportion():
    slight = next_attempt(FIRST, _failing(**{"min_bulk_ESS": 355.0}))
    assert slight.pooled and slight.settings.chains == 6  # x1.5 at least
    assert slight.settings.draws == 1000 and slight.settings.tune == 500
    large = next_attempt(FIRST, _failing(**{"min_tail_ESS": 100.0}))
    assert large.settings.chains == 16  # x4 at most


def test_rhat_alone_restarts_with_longer_chains():
    retry = next_attempt(FIRST, _failing(**{"max_R-hat": 1.05}))
    assert not retry.pooled
    assert (retry.settings.tune, retry.settings.draws) == (1000, 2000)


def test_pooled_retry_keeps_the_first_chains_and_adds_new_ones():
    design = design_from_dataset(simulate("binary", n_prompts=30, replicates=3, seed=5).dataset)
    settings = SamplerSettings(draws=150, tune=200, chains=2)
    # 300 draws cannot give 400 effective ones: the retry must pool new chains.
    result = fit_design(design, settings=settings, seed=3)
    assert len(result.attempts) >= 2 and result.attempts[1].pooled
    chains = result.idata["posterior"].sizes["chain"]
    assert chains == result.attempts[-1].settings.chains > 2
    assert list(result.idata["posterior"]["chain"].values) == list(range(chains))
    first = sample_gated(CompiledFit(design, priors=None, centered=result.attempts[0].centered),
                         settings, seed=3)
    assert not first.diagnostics.passed
    np.testing.assert_array_equal(first.idata["posterior"]["beta"].values,
                                  result.idata["posterior"]["beta"].values[:2])
