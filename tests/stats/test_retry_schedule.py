"""The retry schedule: each failed gate gets the retry that addresses it."""

import numpy as np

from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.diagnostics import Diagnostics, Gate
from bayeseffect.stats.fit import (
    Attempt,
    CompiledFit,
    SamplerSettings,
    _add_chains,
    next_attempt,
    sample_gated,
)
from bayeseffect.stats.simulate import simulate


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


def test_rhat_with_an_ess_shortfall_asks_for_longer_chains_not_more():
    retry = next_attempt(FIRST, _failing(**{"max_R-hat": 1.02, "min_bulk_ESS": 380.0}))
    assert not retry.pooled
    assert (retry.settings.chains, retry.settings.draws) == (4, 2000)


def test_rhat_after_pooling_returns_to_the_first_chain_count():
    pooled = Attempt(SamplerSettings(draws=1000, tune=500, chains=8, target_accept=0.9),
                     centered=False, pooled=True)
    retry = next_attempt(pooled, _failing(**{"max_R-hat": 1.012}), first_chains=4)
    assert not retry.pooled
    assert (retry.settings.chains, retry.settings.draws) == (4, 2000)


def test_pooled_retry_keeps_the_first_chains_and_adds_new_ones():
    design = design_from_dataset(simulate("binary", n_prompts=30, replicates=3, seed=5).dataset)
    settings = SamplerSettings(draws=150, tune=200, chains=2)
    compiled = CompiledFit(design, priors=None, centered=False)
    first = sample_gated(compiled, settings, seed=3)
    # 300 draws cannot give 400 effective ones.
    assert not first.diagnostics.passed
    retry = next_attempt(Attempt(settings, centered=False), _failing(**{"min_bulk_ESS": 300.0}))
    assert retry.pooled
    pooled = _add_chains(compiled, first.idata, retry.settings, seed=4, by=(),
                         progressbar=False)
    chains = pooled.idata["posterior"].sizes["chain"]
    assert chains == retry.settings.chains == 4
    assert list(pooled.idata["posterior"]["chain"].values) == list(range(chains))
    np.testing.assert_array_equal(first.idata["posterior"]["beta"].values,
                                  pooled.idata["posterior"]["beta"].values[:2])
    assert pooled.attempts[0].settings.chains == 4
