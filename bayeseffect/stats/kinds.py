"""The outcome kinds: one table, :data:`KINDS`, holding everything that differs by kind.

Every model shares the hierarchical linear predictor of :mod:`.hierarchy`; an outcome
kind says how outcomes arise from it. Its entry holds the likelihood (the observed node
of the PyMC model), the expected value on the outcome's own scale (what every estimand
is computed from), the default priors, the sampler's first-attempt settings, and the
simulator of outcomes from linear predictors (simulated datasets, study planning and
posterior predictive checks all draw through it).

- ``binary``: responses aggregated to successes per prompt x arm cell, Binomial with
  logit link.
- ``continuous``: Student-t on the standardized outcome, a scale per arm.
- ``count``: negative binomial with log link, right-censored at the token limit; its
  expected value is E[min(Y, limit)], the length a response has under the limit.
- ``ordinal``: cumulative logit with ordered cutpoints (levels 1..K), no intercept.

Adding a kind: one :class:`OutcomeKind` entry in :data:`KINDS` with its functions below
(likelihood, expected value, simulator, observed values of the likelihood's node). An
outcome variable names its kind by the entry's key (``bayeseffect.variables`` sits below
this layer and keeps plain names; ``tests/stats/test_kinds.py`` checks them).

The command line reads this table for ``plan --kind``, so importing this module must stay
cheap: numpy, scipy and PyMC are imported inside the functions that use them (they are
in ``sys.modules`` by the time a fit calls them), never at the top.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bayeseffect.stats.priors import HierarchyPriors, Prior

if TYPE_CHECKING:
    import numpy as np

    from bayeseffect.stats.design import Design


@dataclass(frozen=True)
class OutcomeParameters:
    """What a kind's likelihood needs besides the linear predictor.

    Each field matters to the kinds named; the others ignore it. Fixed values
    (simulation, planning) are scalars; posterior draws are arrays whose leading axes
    are those of the linear predictor they go with (``(draws,)`` for ``(draws, n)``
    predictors, ``(chain, draw)`` for ``(chain, draw, prompt, arm)`` ones).

    Attributes
    ----------
    mean, sd
        Continuous: the raw outcome's mean and SD the model standardizes by. Count:
        ``mean`` is the baseline of the log link (floored at 0.5).
    nu
        Continuous: the Student-t degrees of freedom.
    sigma
        Continuous: the residual SD (standardized) per arm, on the last axis.
    dispersion
        Count: the negative-binomial dispersion (``None``: expected values ignore the
        token limit).
    upper
        Count: the censoring limit (max tokens), ``None`` for none.
    cutpoints
        Ordinal: the K - 1 ordered cutpoints, on the last axis.
    """

    mean: float = 0.0
    sd: float = 1.0
    nu: Any = 10.0
    sigma: Any = (1.0, 1.0)
    dispersion: Any = None
    upper: int | None = None
    cutpoints: Any = (-1.5, -0.5, 0.5, 1.5)


#: ``likelihood(design, linear, y, arm) -> data names``: add the observed node ``obs``
#: (and its own parameters) to the PyMC model in context, at linear predictors ``linear``
#: of the observations ``y`` (``pm.Data``) in arms ``arm`` (``pm.Data``); return the names
#: of the ``pm.Data`` containers holding observations (what a refit swaps).
Likelihood = Callable[["Design", Any, Any, Any], tuple[str, ...]]
#: ``expected(eta, parameters) -> E[y]`` on the outcome's scale, elementwise in ``eta``.
Expected = Callable[["np.ndarray", OutcomeParameters], "np.ndarray"]
#: ``simulate(eta, parameters, arm, trials, rng) -> outcomes`` of ``eta``'s shape: ``arm``
#: (broadcast against ``eta``) picks per-arm parameters, ``trials`` is the number of
#: responses per element for kinds whose observations are cells (binary), else unused.
Simulator = Callable[["np.ndarray", OutcomeParameters, Any, Any, "np.random.Generator"],
                     "np.ndarray"]
#: ``observed(node_values, design) -> y``: the likelihood node's values as the design's
#: observations (undoing the node's standardization or shift).
Observed = Callable[["np.ndarray", "Design"], "np.ndarray"]


@dataclass(frozen=True)
class OutcomeKind:
    """One outcome kind: its likelihood and everything else that differs by kind.

    Attributes
    ----------
    name
        The kind's name (its key in :data:`KINDS`, an outcome variable's ``kind``).
    likelihood
        Adds the observed node to a PyMC model (see :data:`Likelihood`).
    expected
        Expected outcome on the outcome's scale (see :data:`Expected`).
    simulate
        Draws outcomes from linear predictors (see :data:`Simulator`).
    observed
        Turns the likelihood node's draws into observations (see :data:`Observed`).
    priors
        Default hierarchy priors.
    draws
        First attempt's kept draws per chain.
    target_accept
        First attempt's target acceptance rate.
    intercept
        Whether the linear predictor has an intercept ``alpha`` (ordinal cutpoints
        replace it).
    cells
        Whether observations are successes per prompt x arm cell out of ``trials``
        responses (binary), rather than one value per response.
    simulated
        The kind's parameters in simulated datasets (:func:`.simulate.simulate`; one
        with an ``upper`` limit gets the simulation's own).
    """

    name: str
    likelihood: Likelihood
    expected: Expected
    simulate: Simulator
    observed: Observed
    priors: HierarchyPriors
    draws: int
    target_accept: float
    intercept: bool = True
    cells: bool = False
    simulated: OutcomeParameters = OutcomeParameters()


def _per_draw(values: Any, ndim: int, trailing: int = 0) -> Any:
    """Give per-draw ``values`` unit axes up to ``ndim`` (before ``trailing`` own axes)."""
    import numpy as np

    values = np.asarray(values)
    lead = values.ndim - trailing
    return values.reshape(values.shape[:lead] + (1,) * (ndim - lead) + values.shape[lead:])


def _count_mean(eta: "np.ndarray", parameters: OutcomeParameters) -> "np.ndarray":
    """Return the latent negative-binomial mean: the log link around the baseline."""
    import numpy as np

    return np.exp(np.log(max(parameters.mean, 0.5)) + eta)


# -- binary ----------------------------------------------------------------------------

def _binary_likelihood(design: "Design", linear: Any, y: Any, arm: Any) -> tuple[str, ...]:
    import pymc as pm

    trials = pm.Data("trials", design.trials)
    pm.Binomial("obs", n=trials, logit_p=linear, observed=y)
    return ("y", "trials")


def _binary_expected(eta: "np.ndarray", parameters: OutcomeParameters) -> "np.ndarray":
    from scipy.special import expit

    return expit(eta)


def _binary_simulate(eta: "np.ndarray", parameters: OutcomeParameters, arm: Any, trials: Any,
                     rng: "np.random.Generator") -> "np.ndarray":
    from scipy.special import expit

    return rng.binomial(trials, expit(eta)).astype(float)


def _as_int(values: "np.ndarray", design: "Design") -> "np.ndarray":
    import numpy as np

    return values.astype(np.int64)


# -- continuous ------------------------------------------------------------------------

def _continuous_likelihood(design: "Design", linear: Any, y: Any,
                           arm: Any) -> tuple[str, ...]:
    import pymc as pm

    nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
    sigma = pm.HalfNormal("sigma", 1.0, dims="arm")
    standardized = (y - design.meta["mean"]) / design.meta["sd"]
    pm.StudentT("obs", nu=nu, mu=linear, sigma=sigma[arm], observed=standardized)
    return ("y",)


def _continuous_expected(eta: "np.ndarray", parameters: OutcomeParameters) -> "np.ndarray":
    return parameters.mean + parameters.sd * eta


def _continuous_simulate(eta: "np.ndarray", parameters: OutcomeParameters, arm: Any,
                         trials: Any, rng: "np.random.Generator") -> "np.ndarray":
    import numpy as np

    nu = _per_draw(parameters.nu, eta.ndim)
    sigma = np.take(np.asarray(parameters.sigma), arm, axis=-1)
    standardized = eta + sigma * rng.standard_t(nu, size=eta.shape)
    return parameters.mean + parameters.sd * standardized


def _continuous_observed(values: "np.ndarray", design: "Design") -> "np.ndarray":
    return design.meta["mean"] + design.meta["sd"] * values


# -- count -----------------------------------------------------------------------------

def _count_likelihood(design: "Design", linear: Any, y: Any, arm: Any) -> tuple[str, ...]:
    import numpy as np
    import pymc as pm

    dispersion = pm.Gamma("dispersion", alpha=2.0, beta=0.1)
    mu = pm.math.exp(np.log(max(design.meta["mean"], 0.5)) + linear)
    dist = pm.NegativeBinomial.dist(mu=mu, alpha=dispersion)
    pm.Censored("obs", dist, lower=None, upper=design.upper, observed=y)
    return ("y",)


def _count_expected(eta: "np.ndarray", parameters: OutcomeParameters) -> "np.ndarray":
    from bayeseffect.stats.censored import expected_censored_nb

    mu = _count_mean(eta, parameters)
    if parameters.upper is None or parameters.dispersion is None:
        return mu
    # What a user sees is the length under the token limit, not the latent mean.
    return expected_censored_nb(mu, _per_draw(parameters.dispersion, eta.ndim),
                                parameters.upper)


def _count_simulate(eta: "np.ndarray", parameters: OutcomeParameters, arm: Any, trials: Any,
                    rng: "np.random.Generator") -> "np.ndarray":
    import numpy as np

    dispersion = _per_draw(parameters.dispersion, eta.ndim)
    mu = _count_mean(eta, parameters)
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mu)).astype(float)
    return counts if parameters.upper is None else np.minimum(counts, parameters.upper)


# -- ordinal ---------------------------------------------------------------------------

def _ordinal_likelihood(design: "Design", linear: Any, y: Any, arm: Any) -> tuple[str, ...]:
    import numpy as np
    import pymc as pm

    k = int(design.n_levels or 2)
    cutpoints = Prior("Normal", {"mu": np.linspace(-2, 2, k - 1), "sigma": 2.0,
                                 "transform": pm.distributions.transforms.ordered})
    cuts = cutpoints.create("cutpoints")
    pm.OrderedLogistic("obs", eta=linear, cutpoints=cuts, observed=y - 1, compute_p=False)
    return ("y",)


def _ordinal_expected(eta: "np.ndarray", parameters: OutcomeParameters) -> "np.ndarray":
    from scipy.special import expit

    cuts = _per_draw(parameters.cutpoints, eta.ndim, trailing=1)
    # E[y] for levels 1..K is 1 + sum_k P(y > k).
    return 1.0 + (1.0 - expit(cuts - eta[..., None])).sum(axis=-1)


def _ordinal_simulate(eta: "np.ndarray", parameters: OutcomeParameters, arm: Any, trials: Any,
                      rng: "np.random.Generator") -> "np.ndarray":
    from scipy.special import expit

    cuts = _per_draw(parameters.cutpoints, eta.ndim, trailing=1)
    below = expit(cuts - eta[..., None])  # P(y <= k), k = 1..K-1
    return 1.0 + (rng.random(eta.shape)[..., None] > below).sum(axis=-1)


def _ordinal_observed(values: "np.ndarray", design: "Design") -> "np.ndarray":
    import numpy as np

    return values.astype(np.int64) + 1


#: Every outcome kind, by name. Priors after ../shared/guide/statistics.md. Sampler
#: settings: the binomial model of aggregated cells rarely diverges, so it starts at
#: target_accept 0.9 (half the gradient evaluations of 0.99); the censored negative
#: binomial diverged at 0.9 and 0.95 in the recovery tests here. R-hat <= 1.01 needs
#: about 100 effective draws per chain of the slowest parameter: in the binary model at
#: 1,000 prompts x 5 replicates that is the prompt-slope SD, at 0.09 effective draws per
#: draw, so 1,000 draws failed R-hat or ESS in half the seeds tried, and the retry cost
#: more than the longer first attempt, which the binomial kernel makes cheap.
KINDS: dict[str, OutcomeKind] = {kind.name: kind for kind in (
    OutcomeKind(
        name="binary", likelihood=_binary_likelihood, expected=_binary_expected,
        simulate=_binary_simulate, observed=_as_int, priors=HierarchyPriors(),
        draws=2000, target_accept=0.9, cells=True),
    OutcomeKind(
        name="continuous", likelihood=_continuous_likelihood,
        expected=_continuous_expected, simulate=_continuous_simulate,
        observed=_continuous_observed,
        priors=HierarchyPriors(intercept=Prior("Normal", {"mu": 0.0, "sigma": 1.0})),
        draws=1000, target_accept=0.95,
        simulated=OutcomeParameters(mean=10.0, sd=2.0, nu=5.0, sigma=(0.8, 0.5))),
    OutcomeKind(
        name="count", likelihood=_count_likelihood, expected=_count_expected,
        simulate=_count_simulate, observed=_as_int,
        priors=HierarchyPriors(intercept=Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
                               effect=Prior("Normal", {"mu": 0.0, "sigma": 0.5})),
        draws=1000, target_accept=0.99,
        simulated=OutcomeParameters(mean=20.0, dispersion=5.0, upper=64)),
    OutcomeKind(
        name="ordinal", likelihood=_ordinal_likelihood, expected=_ordinal_expected,
        simulate=_ordinal_simulate, observed=_ordinal_observed, priors=HierarchyPriors(),
        draws=1000, target_accept=0.95, intercept=False,
        simulated=OutcomeParameters(cutpoints=(-1.5, -0.5, 0.5, 1.5))),
)}


def get_kind(name: str) -> OutcomeKind:
    """Return the kind called ``name``; an error names the kinds there are."""
    if name not in KINDS:
        from bayeseffect.errors import BayesEffectError

        raise BayesEffectError(f"unknown outcome kind {name!r}; expected one of "
                               f"{', '.join(KINDS)}")
    return KINDS[name]
