"""Simulation-based calibration of every model builder (the full check is slow, opt in).

The full test fits 100 prior draws per outcome kind and writes the ECDF-PIT plots to
``$BAYESEFFECT_SBC_DIR`` (default: the test's temporary folder), printing where.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from bayeseffect.report.plots import plot_sbc
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.fit import SamplerSettings
from bayeseffect.stats.kinds import KINDS
from bayeseffect.stats.sbc import RANK_DRAWS, rank_uniformity_pvalues, run_sbc
from bayeseffect.stats.simulate import simulate

SETTINGS = SamplerSettings(draws=300, tune=300, chains=2)


def _design(kind: str):
    # Small on purpose: SBC checks the inference, not the power of the design.
    return design_from_dataset(simulate(kind, n_prompts=12, replicates=3, n_families=3,
                                        seed=0).dataset)


def test_sbc_ranks_have_the_right_layout(tmp_path):
    tree = run_sbc(_design("binary"), n_simulations=3, settings=SETTINGS, seed=1)
    ranks = tree["ranks"].to_dataset()
    assert {"alpha", "beta", "sd_prompt", "sample_ate"} <= set(ranks.data_vars)
    for name in ranks.data_vars:
        values = ranks[name].values
        assert values.shape == (1, 3)
        assert ((values >= 0) & (values <= RANK_DRAWS)).all()
    pit = tree["prior_sbc"].to_dataset()
    assert all(((pit[n].values > 0) & (pit[n].values < 1)).all() for n in pit.data_vars)
    assert plot_sbc(tree, tmp_path / "sbc.png", title="smoke").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["binary", "continuous", "count", "ordinal"])
def test_sbc_ranks_are_uniform(kind, tmp_path):
    settings = SamplerSettings(draws=300, tune=300, chains=2,
                               target_accept=KINDS[kind].target_accept)
    tree = run_sbc(_design(kind), n_simulations=100, settings=settings, seed=7)
    out = Path(os.environ.get("BAYESEFFECT_SBC_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    path = plot_sbc(tree, out / f"sbc_{kind}.png", title=f"SBC, {kind} model: ECDF-PIT")
    pvalues = rank_uniformity_pvalues(tree)
    print(f"\n{kind}: ECDF-PIT plot {path}; rank-uniformity p-values "
          + ", ".join(f"{k} {v:.3f}" for k, v in pvalues.items()))
    # Seven quantities per kind: a Bonferroni-style floor keeps false alarms near 1%.
    assert min(pvalues.values()) > 0.01 / len(pvalues), pvalues
    divergent = np.asarray(tree["fits"]["divergences"].values)
    assert (divergent > 0).mean() < 0.2
