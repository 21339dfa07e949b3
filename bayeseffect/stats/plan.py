"""Planning a study: how many prompts and replicates for a target interval width or verdict.

Every outcome kind is supported: outcomes are simulated from the kind's own likelihood,
through the same functions as :func:`.simulate.simulate` (:func:`.hierarchy.simulate_eta`
and the kind's simulator in :data:`.kinds.KINDS`).

For each candidate design, many datasets are simulated from the hierarchical model with
the assumed (or pilot-estimated) effect and variance components, and the width of the
effect's interval is approximated by the paired-difference interval over prompts (the
population ATE's frequentist twin; ``tests/test_plan.py`` checks it against real fits).
The CPU time comes from the pilot run's measured seconds per response on this machine.
"""

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from bayeseffect.errors import BayesEffectError
from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import HierarchyValues, simulate_eta
from bayeseffect.stats.kinds import OutcomeParameters, get_kind


@dataclass(frozen=True)
class Assumptions:
    """Parameters of an outcome's hierarchical model, on its linear-predictor scale.

    Attributes
    ----------
    alpha, beta
        Intercept (mean level over both arms) and mean arm effect.
    sd_prompt, sd_prompt_slope, sd_family, sd_family_slope
        Group-level SDs.
    n_families
        Template families in the prompt set.
    kind
        Outcome kind: a key of :data:`bayeseffect.stats.kinds.KINDS`.
    scale
        Continuous: (mean, SD) of the raw outcome the model standardizes by; count: the
        (baseline mean, unused) of the log link's offset.
    nu, sigma
        Continuous: Student-t degrees of freedom and per-arm residual SDs (standardized).
    dispersion, upper
        Count: negative-binomial dispersion and censoring limit.
    cutpoints
        Ordinal: the ordered cutpoints (levels 1..K with K - 1 cutpoints).
    """

    alpha: float = 0.0
    beta: float = 0.3
    sd_prompt: float = 1.0
    sd_prompt_slope: float = 0.3
    sd_family: float = 0.3
    sd_family_slope: float = 0.2
    n_families: int = 4
    kind: str = "binary"
    scale: tuple[float, float] = (0.0, 1.0)
    nu: float = 10.0
    sigma: tuple[float, float] = (1.0, 1.0)
    dispersion: float = 5.0
    upper: int | None = None
    cutpoints: tuple[float, ...] = (-1.5, -0.5, 0.5, 1.5)

    def hierarchy(self) -> HierarchyValues:
        """Return the hierarchy's parameters (no crossed factor)."""
        return HierarchyValues(alpha=self.alpha, beta=self.beta, sd_prompt=self.sd_prompt,
                               sd_prompt_slope=self.sd_prompt_slope, sd_family=self.sd_family,
                               sd_family_slope=self.sd_family_slope)

    def outcome(self) -> OutcomeParameters:
        """Return the kind's parameters besides the linear predictor."""
        return OutcomeParameters(mean=self.scale[0], sd=self.scale[1], nu=self.nu,
                                 sigma=self.sigma, dispersion=self.dispersion,
                                 upper=self.upper, cutpoints=self.cutpoints)


def _mean_outcomes(a: Assumptions, eta: np.ndarray, arm: int, replicates: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Mean of ``replicates`` outcomes per (study, prompt) at linear predictor ``eta``."""
    kind = get_kind(a.kind)
    if kind.cells:
        # Successes out of ``replicates`` trials at once: one draw per cell.
        return kind.simulate(eta, a.outcome(), arm, replicates, rng) / replicates
    shape = (*eta.shape, replicates)
    draws = kind.simulate(np.broadcast_to(eta[..., None], shape), a.outcome(), arm, 1, rng)
    return draws.mean(axis=-1)


@dataclass(frozen=True)
class PlanRow:
    """Expected precision and cost of one design.

    Attributes
    ----------
    prompts, replicates
        The design.
    expected_width
        Mean width of the effect's interval over simulated studies.
    p_decisive
        Share of simulated studies whose interval lies entirely outside the ROPE.
    cpu_seconds
        Estimated sampling time on this machine (NaN without a measured rate).
    """

    prompts: int
    replicates: int
    expected_width: float
    p_decisive: float
    cpu_seconds: float

    def to_dict(self) -> dict[str, float]:
        """Return a JSON-ready dict."""
        return asdict(self)


def simulate_widths(assumptions: Assumptions, *, prompts: int, replicates: int, prob: float,
                    rope: float, n_sim: int, rng: np.random.Generator) -> tuple[float, float]:
    """Simulate ``n_sim`` studies of one design; return mean width and P(decisive)."""
    a = assumptions
    eta = simulate_eta(a.hierarchy(), family_index=np.arange(prompts) % a.n_families,
                       n_families=a.n_families, rng=rng, studies=(n_sim,))
    d = (_mean_outcomes(a, eta[..., 1], 1, replicates, rng)
         - _mean_outcomes(a, eta[..., 0], 0, replicates, rng))
    half = stats.t.ppf(0.5 + prob / 2, prompts - 1) * d.std(axis=1, ddof=1) / np.sqrt(prompts)
    mean = d.mean(axis=1)
    decisive = (mean - half > rope) | (mean + half < -rope)
    return float((2 * half).mean()), float(decisive.mean())


def plan_study(assumptions: Assumptions, *, prompts: tuple[int, ...], replicates: tuple[int, ...],
               prob: float = 0.94, rope: float = 0.0, seconds_per_response: float | None = None,
               n_sim: int = 400, seed: int = 0) -> list[PlanRow]:
    """Tabulate expected interval width, P(decisive verdict) and cost over a grid of designs.

    Parameters
    ----------
    assumptions
        Effect and variance components.
    prompts, replicates
        Candidate numbers of prompts and of replicates per arm.
    prob
        Interval mass.
    rope
        ROPE half-width for the decisive-verdict probability.
    seconds_per_response
        Measured sampling cost of one response (both arms averaged).
    n_sim
        Simulated studies per design.
    seed
        Seed of the simulation.

    Returns
    -------
    list of PlanRow
        One row per design, cheapest first.
    """
    if min(prompts, default=0) < 2 or min(replicates, default=0) < 1:
        raise BayesEffectError("plan needs at least 2 prompts and 1 replicate per design")
    rng = np.random.default_rng(seed)
    rows = []
    for n_prompts in prompts:
        for n_replicates in replicates:
            width, decisive = simulate_widths(assumptions, prompts=n_prompts,
                                              replicates=n_replicates, prob=prob, rope=rope,
                                              n_sim=n_sim, rng=rng)
            cost = (2 * n_prompts * n_replicates * seconds_per_response
                    if seconds_per_response else float("nan"))
            rows.append(PlanRow(n_prompts, n_replicates, width, decisive, cost))
    return sorted(rows, key=lambda r: (r.prompts * r.replicates, r.prompts))


def pilot_assumptions(fit: xr.DataTree, design: Design) -> Assumptions:
    """Read a fitted pilot's posterior means into :class:`Assumptions` for its outcome kind.

    Parameters
    ----------
    fit
        The pilot's saved fit (``posterior`` group).
    design
        The pilot's design (kind, families, the continuous and count scales).

    Returns
    -------
    Assumptions
        Posterior means of the effect, the variance components and the kind's parameters.
    """
    post = fit["posterior"].to_dataset()

    def mean(name: str, default: float) -> float:
        return float(post[name].mean()) if name in post else default

    base = Assumptions()
    values: dict[str, Any] = {name: mean(name, getattr(base, name)) for name in
              ("alpha", "beta", "sd_prompt", "sd_prompt_slope", "sd_family", "sd_family_slope")}
    extra: dict[str, Any] = {}
    if design.kind == "continuous":
        sigma = np.asarray(post["sigma"].mean(("chain", "draw")).values)
        extra = {"scale": (design.meta["mean"], design.meta["sd"]), "nu": mean("nu", 10.0),
                 "sigma": (float(sigma[0]), float(sigma[1]))}
    elif design.kind == "count":
        extra = {"scale": (design.meta["mean"], 1.0), "dispersion": mean("dispersion", 5.0),
                 "upper": design.upper}
    elif design.kind == "ordinal":
        extra = {"cutpoints": tuple(np.asarray(
            post["cutpoints"].mean(("chain", "draw")).values).tolist())}
    return replace(Assumptions(n_families=len(design.families), kind=design.kind),
                   **values, **extra)
