"""Posterior predictive draws of per-prompt differences, to check the model against the data."""

import numpy as np
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import eta_draws
from bayeseffect.stats.kinds import KINDS
from bayeseffect.stats.models import posterior_parameters


def _replicate(design: Design, eta: np.ndarray, post: xr.Dataset, picks: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Redraw every observation from the likelihood: ``(n_draws, n_observations)``."""
    linear = eta[:, design.prompt_index, design.arm_index]
    parameters = posterior_parameters(design, post, picks=picks)
    trials = np.asarray(design.trials) if design.trials is not None else 1
    return KINDS[design.kind].simulate(linear, parameters, design.arm_index, trials, rng)


def _responses_per_cell(design: Design, n_prompts: int) -> np.ndarray:
    cell = design.prompt_index * 2 + design.arm_index
    weights = design.trials if design.trials is not None else np.ones_like(cell)
    return np.bincount(cell, weights=weights, minlength=2 * n_prompts)


def _cell_means(design: Design, values: np.ndarray, n_prompts: int) -> np.ndarray:
    """Mean outcome per prompt x arm cell of ``values`` (..., n_observations)."""
    cell = design.prompt_index * 2 + design.arm_index
    counts = _responses_per_cell(design, n_prompts)
    flat = values.reshape(-1, values.shape[-1])
    sums = np.stack([np.bincount(cell, weights=row, minlength=2 * n_prompts) for row in flat])
    means = sums / np.maximum(counts, 1)
    return means.reshape(*values.shape[:-1], n_prompts, 2)


def prompt_differences(design: Design, post: xr.Dataset, *, n_draws: int = 200,
                       seed: int = 0) -> xr.DataTree:
    """Observed and replicated per-prompt differences of cell means, for any outcome kind.

    For each of ``n_draws`` posterior draws, every observation is redrawn from the
    model's likelihood (binomial, Student-t, censored negative binomial or cumulative
    logit) at its cell's fitted parameters; the per-prompt difference (instruct - base)
    of the cell means is compared with the observed one. A model that describes how
    prompts vary reproduces its spread.

    Parameters
    ----------
    design
        The fitted design.
    post
        The posterior group.
    n_draws
        Posterior draws replicated.
    seed
        Seed of the replication.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior_predictive`` (chain 1 x draw x prompt) and ``observed_data``.
    """
    rng = np.random.default_rng(seed)
    eta = eta_draws(post, design)
    flat = eta.reshape(-1, *eta.shape[2:])
    picks = rng.choice(flat.shape[0], size=min(n_draws, flat.shape[0]), replace=False)
    n_prompts = len(design.prompts)
    replicated = _cell_means(design, _replicate(design, flat[picks], post, picks, rng), n_prompts)
    # Binary observations are cells (successes of trials), so these are proportions.
    observed = _cell_means(design, design.y.astype(float), n_prompts)
    both = _responses_per_cell(design, n_prompts).reshape(n_prompts, 2).all(axis=1)
    difference = (replicated[..., 1] - replicated[..., 0])[:, both]
    return xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset(
            {"prompt_difference": (("chain", "draw", "prompt"), difference[None])}),
        "observed_data": xr.Dataset(
            {"prompt_difference": (("prompt",), (observed[:, 1] - observed[:, 0])[both])}),
    })
