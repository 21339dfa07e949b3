"""The model of a design: the shared hierarchy plus its outcome kind's likelihood.

The likelihoods and expected values themselves are in the kinds table
(:mod:`.kinds`); this module assembles a PyMC model from them and evaluates expected
values at posterior draws (every estimand is computed from those, per draw).
"""

from dataclasses import dataclass

import numpy as np
import pymc as pm
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import add_linear_predictor
from bayeseffect.stats.kinds import KINDS, OutcomeParameters
from bayeseffect.stats.priors import HierarchyPriors


@dataclass(frozen=True)
class ModelSpec:
    """A built model and what its data containers are called (for refits with new data).

    Attributes
    ----------
    model
        The PyMC model.
    data_names
        Names of the ``pm.Data`` containers holding observations.
    """

    model: pm.Model
    data_names: tuple[str, ...]


def _coords(design: Design) -> dict[str, list[str]]:
    coords = {"prompt": list(design.prompts), "family": list(design.families),
              "arm": ["base", "instruct"]}
    if len(design.items) >= 2:
        coords["item"] = list(design.items)
    return coords


def build_model(design: Design, *, priors: HierarchyPriors | None = None,
                centered: bool = False) -> ModelSpec:
    """Build the model for the design's outcome kind.

    Parameters
    ----------
    design
        Study design and observations.
    priors
        Hierarchy priors; the kind's defaults when omitted.
    centered
        Centered group offsets (for cells with many responses) or non-centered.

    Returns
    -------
    ModelSpec
        The model.
    """
    kind = KINDS[design.kind]
    priors = priors or kind.priors
    with pm.Model(coords=_coords(design)) as model:
        prompt = pm.Data("prompt_index", design.prompt_index)
        arm = pm.Data("arm_index", design.arm_index)
        y = pm.Data("y", design.y)
        eta = add_linear_predictor(design, priors, centered=centered, intercept=kind.intercept)
        names = kind.likelihood(design, eta[prompt, arm], y, arm)
    return ModelSpec(model=model, data_names=names)


def expected_value(design: Design, eta: np.ndarray, post: xr.Dataset) -> np.ndarray:
    """E[y] on the outcome's scale for linear predictors ``eta`` of shape (chain, draw, ...)."""
    return KINDS[design.kind].expected(eta, posterior_parameters(design, post))


def posterior_parameters(design: Design, post: xr.Dataset, *,
                         picks: np.ndarray | None = None) -> OutcomeParameters:
    """Collect the kind's parameters: per draw from ``post``, the scales from the design.

    Parameters
    ----------
    design
        The fitted design (its standardization and count limit).
    post
        Posterior (or prior) draws on ``(chain, draw, ...)``.
    picks
        Indices into the flattened ``chain x draw`` axis: the parameters then come as
        ``(len(picks), ...)`` arrays; as ``(chain, draw, ...)`` when omitted.

    Returns
    -------
    OutcomeParameters
        Parameters the posterior lacks keep their defaults (a count without
        ``dispersion`` then has the latent mean as its expected value).
    """
    drawn = {}
    for name in ("nu", "sigma", "dispersion", "cutpoints"):
        if name in post:
            values = np.asarray(post[name].values)
            drawn[name] = values if picks is None else (
                values.reshape(-1, *values.shape[2:])[picks])
    return OutcomeParameters(mean=design.meta.get("mean", 0.0), sd=design.meta.get("sd", 1.0),
                             upper=design.upper, **drawn)
