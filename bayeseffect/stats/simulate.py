"""Simulated datasets in the contract's format, with known effects.

Used by the recovery and calibration tests, the benchmarks and study planning; the
simulation follows the generative model the fits assume (see :mod:`bayeseffect.stats`).
"""

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import expit

from bayeseffect.data.contract import ARM_LABELS, CONTRACT_VERSION, REQUIRED_ATTRS
from bayeseffect.stats.censored import expected_censored_nb

#: Natural-scale settings of the simulated non-binary outcomes.
CONTINUOUS_MEAN, CONTINUOUS_SD = 10.0, 2.0
COUNT_MEAN, COUNT_DISPERSION = 20.0, 5.0
ORDINAL_CUTPOINTS = (-1.5, -0.5, 0.5, 1.5)


@dataclass(frozen=True)
class Simulated:
    """A simulated dataset and its true effects.

    Attributes
    ----------
    dataset
        The dataset (contract-conforming, provenance marked as simulated).
    sample_ate
        True mean over the simulated prompts of E[y | instruct] - E[y | base] (for
        counts, of the length under the limit, E[min(y, upper)]).
    """

    dataset: xr.Dataset
    sample_ate: float


def _ordinal_mean(eta: np.ndarray) -> np.ndarray:
    cuts = np.asarray(ORDINAL_CUTPOINTS)
    return 1.0 + (1.0 - expit(cuts - eta[..., None])).sum(axis=-1)


def simulate(
    kind: str = "binary",
    *,
    n_prompts: int,
    replicates: int,
    n_families: int = 4,
    alpha: float = 0.0,
    beta: float = 0.5,
    sd_prompt: float = 1.0,
    sd_prompt_slope: float = 0.3,
    sd_family: float = 0.3,
    sd_family_slope: float = 0.2,
    upper: int = 64,
    n_items: int = 0,
    sd_item: float = 0.5,
    sd_item_slope: float = 0.3,
    seed: int = 0,
) -> Simulated:
    """Simulate one outcome of a given kind from the hierarchical model.

    Parameters
    ----------
    kind
        ``binary``, ``continuous``, ``count`` or ``ordinal``.
    n_prompts, replicates, n_families
        Design size.
    alpha, beta
        Base intercept and mean arm effect on the linear-predictor scale.
    sd_prompt, sd_prompt_slope, sd_family, sd_family_slope
        Group-level SDs.
    upper
        Count censoring limit (max tokens).
    n_items, sd_item, sd_item_slope
        With ``n_items`` >= 2, a factor ``item`` crossed with the families (prompt ``j``
        asks item ``(j // n_families) % n_items`` in family ``j % n_families``), with its
        own intercepts and arm slopes; the dataset names it as its crossed factor.
    seed
        Seed of the ``numpy.random.Generator``.

    Returns
    -------
    Simulated
        The dataset and the true sample ATE on the outcome's own scale.
    """
    rng = np.random.default_rng(seed)
    family = np.arange(n_prompts) % n_families
    f = rng.normal(0, sd_family, n_families)
    s = rng.normal(0, sd_family_slope, n_families)
    u = rng.normal(0, sd_prompt, n_prompts)
    v = rng.normal(0, sd_prompt_slope, n_prompts)
    eta_base = alpha + u + f[family]
    slope = beta + s[family] + v
    item = (np.arange(n_prompts) // n_families) % max(n_items, 1)
    if n_items >= 2:
        # A separate stream keeps the simulations without items exactly as they were.
        item_rng = np.random.default_rng([seed, 1])
        eta_base = eta_base + item_rng.normal(0, sd_item, n_items)[item]
        slope = slope + item_rng.normal(0, sd_item_slope, n_items)[item]
    eta = np.stack([eta_base, eta_base + slope])  # (arm, prompt)
    shape = (2, n_prompts, replicates)
    noise = rng.random(shape)
    finish = np.full(shape, "stop", dtype=object)
    if kind == "binary":
        mean = expit(eta)
        y = (noise < mean[:, :, None]).astype(float)
    elif kind == "continuous":
        mean = CONTINUOUS_MEAN + CONTINUOUS_SD * eta
        scale = np.array([0.8, 0.5])[:, None, None]
        y = mean[:, :, None] + CONTINUOUS_SD * scale * rng.standard_t(5, size=shape)
    elif kind == "count":
        mean = expected_censored_nb(COUNT_MEAN * np.exp(eta), COUNT_DISPERSION, upper)
        latent = COUNT_MEAN * np.exp(eta)
        p = COUNT_DISPERSION / (COUNT_DISPERSION + latent[:, :, None])
        y = rng.negative_binomial(COUNT_DISPERSION, np.broadcast_to(p, shape)).astype(float)
        finish = np.where(y >= upper, "length", "stop").astype(object)
        y = np.minimum(y, upper)
    elif kind == "ordinal":
        mean = _ordinal_mean(eta)
        cumulative = expit(np.asarray(ORDINAL_CUTPOINTS) - eta[..., None])  # P(y <= k)
        y = 1.0 + (noise[..., None] > cumulative[:, :, None, :]).sum(axis=-1)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    dims = ("arm", "prompt", "replicate")
    ds = xr.Dataset(
        {
            "completed": (dims, np.ones(shape, dtype=bool)),
            "response": (dims, np.full(shape, "simulated").astype(str)),
            "finish_reason": (dims, finish.astype(str)),
            "n_prompt_tokens": (dims, np.full(shape, 40, dtype=np.int64)),
            "n_completion_tokens": (dims, np.full(shape, 2, dtype=np.int64)),
            "seed": (dims, np.arange(y.size, dtype=np.int64).reshape(shape)),
            "outcome": (dims, y),
        },
        coords={
            "arm": list(ARM_LABELS),
            "prompt": [f"sim-{j:05d}" for j in range(n_prompts)],
            "replicate": np.arange(replicates),
            "family": ("prompt", [f"family-{g}" for g in family]),
            "expected": ("prompt", [""] * n_prompts),
            "question": ("prompt", [f"simulated item {j}" for j in range(n_prompts)]),
            "level": ("prompt", np.where(np.arange(n_prompts) % 2 == 0, "even", "odd")),
        },
    )
    if n_items >= 2:
        ds = ds.assign_coords(item=("prompt", [f"item-{i:04d}" for i in item]))
    if kind == "ordinal":
        ds["outcome"].attrs["n_levels"] = len(ORDINAL_CUTPOINTS) + 1
    ds.attrs = {key: "simulated" for key in REQUIRED_ATTRS}
    ds.attrs.update({
        "contract_version": CONTRACT_VERSION, "variable": f"simulated_{kind}",
        "outcome_kind": kind, "primary_outcome": "outcome", "outcomes": "outcome",
        "factors": "level,item" if n_items >= 2 else "level",
        "pair_name": "simulated", "cross_family": 0,
        "cross_family_reasons": "", "seed": seed, "replicates": replicates,
        "prompt_set_seed": seed, "sampling_params": f'{{"max_tokens": {upper}}}',
    })
    if n_items >= 2:
        ds.attrs["crossed_factor"] = "item"
    return Simulated(dataset=ds, sample_ate=float(np.mean(mean[1] - mean[0])))
