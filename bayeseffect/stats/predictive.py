"""Posterior predictive draws of per-prompt differences, to check the model against the data."""

import numpy as np
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import eta_draws
from bayeseffect.stats.models import expected_value


def prompt_differences(design: Design, post: xr.Dataset, *, n_draws: int = 200,
                       seed: int = 0) -> xr.DataTree:
    """Observed and replicated per-prompt differences of cell proportions (binary outcomes).

    For each of ``n_draws`` posterior draws, every cell's successes are redrawn from its
    binomial with the cell's fitted probability and its observed number of responses;
    the per-prompt difference (instruct - base) of the proportions is compared with the
    observed one. A model that describes how prompts vary reproduces its spread.

    Parameters
    ----------
    design
        A binary design.
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
    if design.trials is None:
        raise ValueError("prompt_differences needs a binary design")
    rng = np.random.default_rng(seed)
    p = expected_value(design, eta_draws(post, design), post)  # (chain, draw, prompt, arm)
    flat = p.reshape(-1, *p.shape[2:])
    picks = rng.choice(flat.shape[0], size=min(n_draws, flat.shape[0]), replace=False)
    trials = np.zeros(p.shape[2:], dtype=np.int64)
    successes = np.zeros(p.shape[2:], dtype=np.int64)
    trials[design.prompt_index, design.arm_index] = design.trials
    successes[design.prompt_index, design.arm_index] = design.y
    replicated = rng.binomial(trials, flat[picks]) / np.maximum(trials, 1)
    observed = successes / np.maximum(trials, 1)
    both = (trials > 0).all(axis=1)
    difference = (replicated[..., 1] - replicated[..., 0])[:, both]
    return xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset(
            {"prompt_difference": (("chain", "draw", "prompt"), difference[None])}),
        "observed_data": xr.Dataset(
            {"prompt_difference": (("prompt",), (observed[:, 1] - observed[:, 0])[both])}),
    })
