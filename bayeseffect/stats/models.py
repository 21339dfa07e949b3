"""One model per outcome kind, all on the shared hierarchy, each with its expected value.

- ``binary``: responses aggregated to counts per prompt x arm, Binomial with logit link.
- ``continuous``: Student-t on the standardized outcome, a scale per arm.
- ``count``: negative binomial with log link, right-censored at the token limit; its
  expected value is E[min(Y, limit)], the length a response has under the limit.
- ``ordinal``: cumulative logit with ordered cutpoints (levels 1..K).

The expected-value functions turn linear predictors into E[y] on the outcome's own
scale; every estimand is computed from them, per posterior draw.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import expit

from bayeseffect.stats.censored import expected_censored_nb
from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import add_linear_predictor
from bayeseffect.stats.priors import DEFAULT_PRIORS, HierarchyPriors, Prior


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
    priors = priors or DEFAULT_PRIORS[design.kind]
    with pm.Model(coords=_coords(design)) as model:
        prompt = pm.Data("prompt_index", design.prompt_index)
        arm = pm.Data("arm_index", design.arm_index)
        y = pm.Data("y", design.y)
        eta = add_linear_predictor(design, priors, centered=centered,
                                   intercept=design.kind != "ordinal")
        linear = eta[prompt, arm]
        names: tuple[str, ...] = ("y",)
        if design.kind == "binary":
            trials = pm.Data("trials", design.trials)
            pm.Binomial("obs", n=trials, logit_p=linear, observed=y)
            names = ("y", "trials")
        elif design.kind == "continuous":
            nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
            sigma = pm.HalfNormal("sigma", 1.0, dims="arm")
            standardized = (y - design.meta["mean"]) / design.meta["sd"]
            pm.StudentT("obs", nu=nu, mu=linear, sigma=sigma[arm], observed=standardized)
        elif design.kind == "count":
            dispersion = pm.Gamma("dispersion", alpha=2.0, beta=0.1)
            mu = pm.math.exp(np.log(max(design.meta["mean"], 0.5)) + linear)
            dist = pm.NegativeBinomial.dist(mu=mu, alpha=dispersion)
            pm.Censored("obs", dist, lower=None, upper=design.upper, observed=y)
        else:
            k = int(design.n_levels or 2)
            cutpoints = Prior("Normal", {"mu": np.linspace(-2, 2, k - 1), "sigma": 2.0,
                                         "transform": pm.distributions.transforms.ordered})
            cuts = cutpoints.create("cutpoints")
            pm.OrderedLogistic("obs", eta=linear, cutpoints=cuts, observed=y - 1,
                               compute_p=False)
    return ModelSpec(model=model, data_names=names)


def expected_value(design: Design, eta: np.ndarray, post: xr.Dataset) -> np.ndarray:
    """E[y] on the outcome's scale for linear predictors ``eta`` of shape (chain, draw, ...)."""
    return EXPECTED[design.kind](design, eta, post)


def _binary(design: Design, eta: np.ndarray, post: xr.Dataset) -> np.ndarray:
    return expit(eta)


def _continuous(design: Design, eta: np.ndarray, post: xr.Dataset) -> np.ndarray:
    return design.meta["mean"] + design.meta["sd"] * eta


def _count(design: Design, eta: np.ndarray, post: xr.Dataset) -> np.ndarray:
    mu = np.exp(np.log(max(design.meta["mean"], 0.5)) + eta)
    if design.upper is None or "dispersion" not in post:
        return mu
    # What a user sees is the length under the token limit, not the latent mean.
    dispersion = np.asarray(post["dispersion"].values)
    dispersion = dispersion.reshape(dispersion.shape + (1,) * (eta.ndim - 2))
    return expected_censored_nb(mu, dispersion, design.upper)


def _ordinal(design: Design, eta: np.ndarray, post: xr.Dataset) -> np.ndarray:
    cuts = np.asarray(post["cutpoints"].values)  # (chain, draw, K-1)
    extra = eta.ndim - 2
    cuts = cuts.reshape(cuts.shape[:2] + (1,) * extra + cuts.shape[2:])
    # E[y] for levels 1..K is 1 + sum_k P(y > k).
    return 1.0 + (1.0 - expit(cuts - eta[..., None])).sum(axis=-1)


EXPECTED: dict[str, Callable[[Design, np.ndarray, xr.Dataset], np.ndarray]] = {
    "binary": _binary, "continuous": _continuous, "count": _count, "ordinal": _ordinal,
}
