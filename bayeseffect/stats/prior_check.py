"""Prior predictive check: the effect sizes the priors alone consider plausible."""

import logging
import warnings

import pymc as pm
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.estimands import compute_effects
from bayeseffect.stats.models import build_model
from bayeseffect.stats.priors import HierarchyPriors


def prior_effects(design: Design, *, priors: HierarchyPriors | None = None, centered: bool,
                  draws: int = 1000, seed: int = 0) -> xr.Dataset:
    """Draw the estimands from the prior, on the outcome's own scale.

    Weak but sane priors put mass on every effect a study could plausibly find and little
    on absurd ones; the report plots this beside the posterior.

    Parameters
    ----------
    design
        The design (its prompts and families shape the estimands).
    priors
        Hierarchy priors; the kind's defaults when omitted.
    centered
        Parameterization of the fitted model.
    draws
        Prior draws.
    seed
        Seed.

    Returns
    -------
    xarray.Dataset
        ``sample_ate`` and ``population_ate`` draws (one chain).
    """
    spec = build_model(design, priors=priors, centered=centered)
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)  # PyMC announces the sampled variables at INFO
    try:
        with warnings.catch_warnings():
            # Sampling observed nodes from the prior is what a prior predictive check is.
            warnings.simplefilter("ignore", UserWarning)
            prior = pm.sample_prior_predictive(draws=draws, model=spec.model, random_seed=seed)
    finally:
        logger.setLevel(level)
    effects = compute_effects(prior["prior"].to_dataset(), design, seed=seed)
    return effects[["sample_ate", "population_ate"]]
