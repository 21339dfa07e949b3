"""Our vectorized R-hat and ESS give ArviZ's numbers, parameter by parameter."""

import numpy as np
import pytest
from arviz_stats.base import array_stats

from bayeseffect.stats.convergence import bulk_ess, gate_statistics, rank_rhat, tail_ess


def _chains(n_draw: int, seed: int) -> np.ndarray:
    """(param, chain, draw): AR(1) chains from anticorrelated to very sticky, a shifted
    chain (bad R-hat), heavy tails, ties, and a constant."""
    rng = np.random.default_rng(seed)
    params = []
    for phi in (-0.5, 0.0, 0.3, 0.9, 0.99):
        x = np.zeros((4, n_draw))
        noise = rng.standard_normal((4, n_draw))
        for t in range(1, n_draw):
            x[:, t] = phi * x[:, t - 1] + noise[:, t]
        params.append(x)
    shifted = rng.standard_normal((4, n_draw))
    shifted[0] += 1.5
    params.append(shifted)
    params.append(rng.standard_t(1.5, size=(4, n_draw)))
    params.append(rng.integers(0, 3, size=(4, n_draw)).astype(float))
    params.append(np.full((4, n_draw), 2.0))
    return np.stack(params)


@pytest.mark.parametrize("n_draw", [200, 201, 1000])
def test_matches_arviz_per_parameter(n_draw):
    draws = _chains(n_draw, seed=n_draw)
    big = np.concatenate([draws] * 60)  # enough parameters to be split over threads
    np.testing.assert_array_equal(gate_statistics(big)[1], np.concatenate([bulk_ess(draws)] * 60))
    for p in range(draws.shape[0] - 1):  # ArviZ's R-hat of a constant is NaN: skipped
        assert rank_rhat(draws[p])[0] == pytest.approx(
            array_stats.rhat(draws[p], chain_axis=0, draw_axis=1), rel=1e-9)
    for p in range(draws.shape[0]):
        one = draws[p]
        assert bulk_ess(one)[0] == pytest.approx(
            array_stats.ess(one, chain_axis=0, draw_axis=1, method="bulk"), rel=1e-9)
        assert tail_ess(one)[0] == pytest.approx(
            array_stats.ess(one, chain_axis=0, draw_axis=1, method="tail", prob=(0.05, 0.95)),
            rel=1e-9)
    vectorized = bulk_ess(draws)
    assert vectorized.shape == (draws.shape[0],)
    assert vectorized[3] < 0.2 * vectorized[1]  # the sticky chain has far fewer
    assert rank_rhat(draws)[5] > 1.1  # the shifted chain is flagged
    rhat, bulk, tail = gate_statistics(draws)
    np.testing.assert_array_equal(rhat, rank_rhat(draws))
    np.testing.assert_array_equal(bulk, vectorized)
    np.testing.assert_array_equal(tail, tail_ess(draws))


def test_rejects_too_few_draws():
    with pytest.raises(ValueError, match="at least 4 draws"):
        bulk_ess(np.zeros((2, 3)))
