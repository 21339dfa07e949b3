"""Build, save and load the responses/outcomes dataset (see contract.py and ARCHITECTURE.md).

Outcomes are computed here from the journal's raw text by the variable's pure scorer,
so a scorer fix re-scores a run without generating anything again.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayeseffect.data.contract import ARM_LABELS, CONTRACT_VERSION, validate_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.journal import ResponseRecord
from bayeseffect.sampling.option_scores import expected_share
from bayeseffect.sampling.run_dir import write_atomic
from bayeseffect.variables.base import OPTION_OUTCOME, OutcomeVariable
from bayeseffect.variables.prompt_set import PromptSet


def build_dataset(
    prompt_set: PromptSet,
    records: Mapping[tuple[str, str, int], ResponseRecord],
    *,
    variable: OutcomeVariable,
    replicates: int,
    attrs: Mapping[str, str | int | float],
    option_scores: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
) -> xr.Dataset:
    """Assemble the ``arm x prompt x replicate`` dataset from journaled responses.

    Cells without a response have ``completed = False``, empty text, -1 counts and NaN
    numeric outcomes.

    Parameters
    ----------
    prompt_set
        The run's items.
    records
        Journaled responses by (arm, prompt_id, replicate).
    variable
        The outcome variable whose scorer is applied.
    replicates
        Replicates per (arm, prompt).
    attrs
        Provenance attributes (see :data:`bayeseffect.data.contract.REQUIRED_ATTRS`).
    option_scores
        Arm -> prompt id -> option -> probability (:mod:`bayeseffect.sampling.option_scores`),
        for a variable with ``options``; the option outcome is NaN where absent.

    Returns
    -------
    xarray.Dataset
        The dataset, checked against the contract.

    """
    shape = (len(ARM_LABELS), len(prompt_set.items), replicates)
    completed = np.zeros(shape, dtype=bool)
    response = np.full(shape, "", dtype=object)
    finish = np.full(shape, "", dtype=object)
    ints = {name: np.full(shape, -1, dtype=np.int64)
            for name in ("n_prompt_tokens", "n_completion_tokens", "seed")}
    outcomes: dict[str, np.ndarray] = {
        name: np.full(shape, "", dtype=object) if name in variable.text_outcomes
        else np.full(shape, np.nan) for name in variable.outcomes
    }
    for a, arm in enumerate(ARM_LABELS):
        for p, item in enumerate(prompt_set.items):
            for r in range(replicates):
                record = records.get((arm, item.prompt_id, r))
                if record is None:
                    continue
                completed[a, p, r] = True
                response[a, p, r] = record.text
                finish[a, p, r] = record.finish_reason
                ints["n_prompt_tokens"][a, p, r] = record.n_prompt_tokens
                ints["n_completion_tokens"][a, p, r] = record.n_completion_tokens
                ints["seed"][a, p, r] = record.seed
                for name, value in variable.score(record.text, item).items():
                    outcomes[name][a, p, r] = value
    if variable.options:
        share = np.full(shape, np.nan)
        for a, arm in enumerate(ARM_LABELS):
            scores = (option_scores or {}).get(arm, {})
            for p, item in enumerate(prompt_set.items):
                if item.prompt_id in scores:
                    share[a, p, 0] = expected_share(scores[item.prompt_id], item.expected)
        outcomes[OPTION_OUTCOME] = share
    dims = ("arm", "prompt", "replicate")
    data_vars: dict[str, tuple[Any, ...]] = {
        "completed": (dims, completed),
        "response": (dims, response.astype(str)),
        "finish_reason": (dims, finish.astype(str)),
        **{name: (dims, values) for name, values in ints.items()},
        **{name: (dims, values.astype(str) if values.dtype == object else values)
           for name, values in outcomes.items()},
    }
    coords: dict[str, Any] = {
        "arm": list(ARM_LABELS),
        "prompt": [item.prompt_id for item in prompt_set.items],
        "replicate": np.arange(replicates),
        "family": ("prompt", [item.family for item in prompt_set.items]),
        "expected": ("prompt", [item.expected for item in prompt_set.items]),
        "question": ("prompt", [item.question for item in prompt_set.items]),
    }
    for factor in prompt_set.factor_names:
        coords[factor] = ("prompt", [item.factors[factor] for item in prompt_set.items])
    for name, n_levels in variable.levels.items():
        data_vars[name] = (dims, data_vars[name][1], {"n_levels": n_levels})
    ds = xr.Dataset(data_vars, coords=coords, attrs={
        **attrs,
        "contract_version": CONTRACT_VERSION,
        "variable": variable.name,
        "outcome_kind": variable.kind,
        "outcome_kinds": json.dumps({k: list(v) for k, v in variable.fit_kinds().items()}),
        "primary_outcome": variable.primary_outcome,
        "outcomes": ",".join(outcomes),
        "factors": ",".join(prompt_set.factor_names),
        "crossed_factor": prompt_set.crossed_factor,
        "replicates": replicates,
    })
    validate_dataset(ds)
    return ds


def save_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write the dataset as netCDF-4 (h5netcdf), atomically."""
    validate_dataset(ds)
    data = ds.to_netcdf(engine="h5netcdf")
    write_atomic(path, bytes(data))


def load_dataset(path: Path) -> xr.Dataset:
    """Read a dataset written by :func:`save_dataset` and check it against the contract.

    Parameters
    ----------
    path
        A ``dataset.nc`` file.

    Returns
    -------
    xarray.Dataset
        The dataset, fully loaded into memory.

    """
    if not path.exists():
        raise BayesEffectError(
            f"{path} does not exist; run `bayeseffect sample` first (it writes the dataset)"
        )
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            loaded = ds.load()
    except (OSError, ValueError) as exc:
        raise BayesEffectError(f"cannot read dataset {path}: {exc}") from exc
    validate_dataset(loaded)
    return loaded
