"""Simulated datasets in the contract's format, with a known total effect.

Used by the recovery and calibration tests and by the benchmarks; the simulation
follows the same generative model the binary fit assumes.
"""

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayeseffect.contract import ARM_LABELS, CONTRACT_VERSION, REQUIRED_ATTRS


@dataclass(frozen=True)
class SimulatedBinary:
    """A simulated dataset and its true effects.

    Attributes
    ----------
    dataset
        The dataset (contract-conforming, provenance marked as simulated).
    sample_ate
        True mean over the simulated prompts of P(1 | instruct) - P(1 | base).

    """

    dataset: xr.Dataset
    sample_ate: float


def simulate_binary(
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
    seed: int = 0,
) -> SimulatedBinary:
    """Simulate a binary outcome from the hierarchical logit model.

    Parameters
    ----------
    n_prompts, replicates, n_families
        Design size.
    alpha, beta
        Base intercept and mean arm effect on the logit scale.
    sd_prompt, sd_prompt_slope, sd_family, sd_family_slope
        Group-level SDs.
    seed
        Seed of the ``numpy.random.Generator``.

    Returns
    -------
    SimulatedBinary
        The dataset and the true sample ATE.

    """
    rng = np.random.default_rng(seed)
    family = np.arange(n_prompts) % n_families
    f = rng.normal(0, sd_family, n_families)
    s = rng.normal(0, sd_family_slope, n_families)
    u = rng.normal(0, sd_prompt, n_prompts)
    v = rng.normal(0, sd_prompt_slope, n_prompts)
    eta_base = alpha + u + f[family]
    eta_instruct = eta_base + beta + s[family] + v
    p = 1 / (1 + np.exp(-np.stack([eta_base, eta_instruct])))
    correct = rng.random((2, n_prompts, replicates)) < p[:, :, None]
    dims = ("arm", "prompt", "replicate")
    shape = correct.shape
    ds = xr.Dataset(
        {
            "completed": (dims, np.ones(shape, dtype=bool)),
            "response": (dims, np.where(correct, "yes", "no").astype(str)),
            "finish_reason": (dims, np.full(shape, "stop").astype(str)),
            "n_prompt_tokens": (dims, np.full(shape, 40, dtype=np.int64)),
            "n_completion_tokens": (dims, np.full(shape, 2, dtype=np.int64)),
            "seed": (dims, np.arange(correct.size, dtype=np.int64).reshape(shape)),
            "answer": (dims, np.where(correct, "yes", "no").astype(str)),
            "correct": (dims, correct.astype(float)),
            "parse_failure": (dims, np.zeros(shape)),
        },
        coords={
            "arm": list(ARM_LABELS),
            "prompt": [f"sim-{j:05d}" for j in range(n_prompts)],
            "replicate": np.arange(replicates),
            "family": ("prompt", [f"family-{g}" for g in family]),
            "expected": ("prompt", ["yes"] * n_prompts),
            "question": ("prompt", [f"simulated item {j}" for j in range(n_prompts)]),
        },
    )
    ds.attrs = {key: "simulated" for key in REQUIRED_ATTRS}
    ds.attrs.update({
        "contract_version": CONTRACT_VERSION, "variable": "logic", "outcome_kind": "binary",
        "primary_outcome": "correct", "outcomes": "answer,correct,parse_failure",
        "factors": "", "pair_name": "simulated", "cross_family": 0, "cross_family_reasons": "",
        "seed": seed, "replicates": replicates, "prompt_set_seed": seed,
    })
    return SimulatedBinary(dataset=ds, sample_ate=float(np.mean(p[1] - p[0])))
