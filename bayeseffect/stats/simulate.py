"""Simulated datasets in the contract's format, with known effects.

Used by the recovery and calibration tests, the benchmarks and the documentation; the
simulation is the generative model the fits assume: group effects and linear predictors
from :func:`.hierarchy.simulate_eta` (the model's arm coding, so ``alpha`` and ``beta``
mean what they mean in the posterior) and outcomes from the kind's simulator in
:data:`.kinds.KINDS`, at the kind's ``simulated`` parameters. Study planning
(:mod:`.plan`) draws through the same two functions.
"""

from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from bayeseffect.data.contract import ARM_LABELS, CONTRACT_VERSION, REQUIRED_ATTRS
from bayeseffect.stats.hierarchy import HierarchyValues, simulate_eta
from bayeseffect.stats.kinds import get_kind


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
        A key of :data:`bayeseffect.stats.kinds.KINDS`.
    n_prompts, replicates, n_families
        Design size.
    alpha, beta
        The model's intercept (mean level over both arms) and mean arm effect, on the
        linear-predictor scale (see :class:`.hierarchy.HierarchyValues`).
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
    entry = get_kind(kind)
    rng = np.random.default_rng(seed)
    family = np.arange(n_prompts) % n_families
    item = (np.arange(n_prompts) // n_families) % max(n_items, 1)
    values = HierarchyValues(alpha=alpha, beta=beta, sd_prompt=sd_prompt,
                             sd_prompt_slope=sd_prompt_slope, sd_family=sd_family,
                             sd_family_slope=sd_family_slope, sd_item=sd_item,
                             sd_item_slope=sd_item_slope)
    eta = simulate_eta(values, family_index=family, n_families=n_families, rng=rng,
                       item_index=item, n_items=n_items,
                       item_rng=np.random.default_rng([seed, 1])).T  # (arm, prompt)
    # Kinds whose simulated outcomes are lengths under the token limit take ``upper``.
    limited = entry.simulated.upper is not None
    parameters = replace(entry.simulated, upper=upper) if limited else entry.simulated
    shape = (2, n_prompts, replicates)
    y = entry.simulate(np.broadcast_to(eta[..., None], shape), parameters,
                       np.arange(2)[:, None, None], 1, rng)
    finish = np.where(limited & (y >= upper), "length", "stop")
    mean = entry.expected(eta, parameters)
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
        ds["outcome"].attrs["n_levels"] = len(parameters.cutpoints) + 1
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
