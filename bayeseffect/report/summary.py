"""Assemble the report of a fitted run: effects, observed rates, diagnostics, provenance."""

import json
from typing import Any

import numpy as np
import xarray as xr

from bayeseffect.stats.effects import DEFAULT_HDI_PROB, summarize_by, summarize_draws

ESTIMAND = (
    "total effect = mean over the prompt set of E[Y | instruct, used as intended] - "
    "E[Y | base, used as intended]: each model prompted as its arm intends (chat template "
    "for instruct, completion frame for base), on the probability scale"
)


def _observed(ds: xr.Dataset) -> dict[str, dict[str, float]]:
    outcome = str(ds.attrs["primary_outcome"])
    completed = ds["completed"]
    rates: dict[str, dict[str, float]] = {}
    for arm in ds["arm"].values.tolist():
        done = completed.sel(arm=arm)
        n = int(done.sum())
        arm_rates = {"responses": float(n)}
        for name in (outcome, "parse_failure"):
            if name in ds:
                arm_rates[f"{name}_rate"] = float(ds[name].sel(arm=arm).where(done).mean()) \
                    if n else float("nan")
        truncated = (ds["finish_reason"].sel(arm=arm) == "length").where(done)
        arm_rates["truncated_rate"] = float(truncated.mean()) if n else float("nan")
        rates[str(arm)] = arm_rates
    return rates


def build_report(ds: xr.Dataset, posterior: xr.DataTree, *,
                 hdi_prob: float = DEFAULT_HDI_PROB) -> dict[str, Any]:
    """Build the report of a fitted run as a JSON-ready dict.

    Parameters
    ----------
    ds
        The run's dataset.
    posterior
        The fit saved with the run.
    hdi_prob
        Mass of the credible intervals.

    Returns
    -------
    dict
        Effects, observed rates, diagnostics, the cross-family warning and provenance.

    """
    post = posterior["posterior"].to_dataset()
    gates = json.loads(posterior.attrs.get("fit_gates", "[]"))
    cross_family = bool(int(ds.attrs["cross_family"]))
    cells = int(ds["completed"].size)
    done = int(ds["completed"].sum())
    return {
        "variable": ds.attrs["variable"],
        "outcome": ds.attrs["primary_outcome"],
        "estimand": ESTIMAND,
        "total_effect": summarize_draws(post["total_effect"], hdi_prob=hdi_prob).to_dict(),
        "p_base": summarize_draws(post["p_base"], hdi_prob=hdi_prob).to_dict(),
        "p_instruct": summarize_draws(post["p_instruct"], hdi_prob=hdi_prob).to_dict(),
        "family_effects": {k: v.to_dict() for k, v in
                           summarize_by(post["family_effect"], "family",
                                        hdi_prob=hdi_prob).items()},
        "observed": _observed(ds),
        "design": {"prompts": int(ds.sizes["prompt"]), "replicates": int(ds.sizes["replicate"]),
                   "responses_completed": done, "responses_planned": cells},
        "diagnostics": {"passed": all(g["passed"] for g in gates), "gates": gates,
                        "attempts": json.loads(posterior.attrs.get("fit_attempts", "[]"))},
        "cross_family": cross_family,
        "cross_family_warning": _warning(ds) if cross_family else "",
        "provenance": {key: _plain(value) for key, value in sorted(ds.attrs.items())},
    }


def _warning(ds: xr.Dataset) -> str:
    return (
        "CROSS-FAMILY PAIR: the base and instruct models differ in "
        f"{ds.attrs['cross_family_reasons']}. This contrast confounds instruction tuning with "
        "pretraining, architecture and size; it is NOT the effect of instruction tuning."
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
