"""Assemble a fitted run's report: effects, decisions, cross-checks, diagnostics, provenance."""

import json
from typing import Any

import numpy as np
import xarray as xr

from bayeseffect.stats.crosschecks import cluster_bootstrap, clustered_mcnemar, paired_t
from bayeseffect.stats.decision import DEFAULT_HDI_PROB, summarize_by, summarize_draws
from bayeseffect.stats.design import Design
from bayeseffect.stats.estimands import SAMPLE_VS_POPULATION

ESTIMAND = (
    "total effect = mean over prompts of E[Y | instruct, used as intended] - "
    "E[Y | base, used as intended]: each model prompted as its arm intends (chat template "
    "for instruct, completion frame for base), on the outcome's own scale"
)
CROSS_FAMILY = (
    "CROSS-FAMILY PAIR: the base and instruct models differ in {reasons}. This contrast "
    "confounds instruction tuning with pretraining, architecture and size; it is NOT the "
    "effect of instruction tuning."
)


def _observed(ds: xr.Dataset, outcome: str) -> dict[str, dict[str, float]]:
    rates: dict[str, dict[str, float]] = {}
    for arm in ds["arm"].values.tolist():
        done = ds["completed"].sel(arm=arm)
        n = int(done.sum())
        nan = float("nan")
        arm_rates = {"responses": float(n)}
        for name in (outcome, "parse_failure"):
            if name in ds:
                arm_rates[f"{name}_mean"] = float(ds[name].sel(arm=arm).where(done).mean()) \
                    if n else nan
        truncated = (ds["finish_reason"].sel(arm=arm) == "length").where(done)
        arm_rates["truncated_rate"] = float(truncated.mean()) if n else nan
        rates[str(arm)] = arm_rates
    return rates


def build_report(ds: xr.Dataset, fit: xr.DataTree, *, design: Design,
                 hdi_prob: float = DEFAULT_HDI_PROB, rope: float = 0.0,
                 by: str = "family") -> dict[str, Any]:
    """Build the report of a fitted run as a JSON-ready dict.

    Parameters
    ----------
    ds
        The run's dataset.
    fit
        The fit saved with the run (groups ``posterior``, ``sample_stats``, ``effects``).
    design
        The fitted design, as :func:`~bayeseffect.stats.design.design_from_dataset` reads it.
    hdi_prob
        Mass of the credible intervals.
    rope
        Half-width of the region of practical equivalence (outcome units).
    by
        Factor whose per-level effects and contrasts are reported.

    Returns
    -------
    dict
        Effects, decisions, cross-checks, observed rates, diagnostics, warnings, provenance.
    """
    effects = fit["effects"].to_dataset()
    fit_summary = json.loads(fit.attrs.get("fit_summary", "{}"))
    cross_family = bool(int(ds.attrs["cross_family"]))
    population = summarize_draws(effects["population_ate"], hdi_prob=hdi_prob, rope=rope)
    scalars = {
        "sample_ate": summarize_draws(effects["sample_ate"], hdi_prob=hdi_prob,
                                      rope=rope).to_dict(),
        "population_ate": population.to_dict(),
    }
    for name in ("mean_base", "mean_instruct", "ratio"):
        if name in effects:
            scalars[name] = summarize_draws(effects[name], hdi_prob=hdi_prob).to_dict()
    contrast = effects.get(f"contrast_by_{by}")
    crosschecks = [paired_t(design, prob=hdi_prob), cluster_bootstrap(design, prob=hdi_prob)]
    if design.kind == "binary":
        crosschecks.append(clustered_mcnemar(
            ds[design.outcome].where(ds["completed"]).transpose("arm", "prompt", "replicate")
            .values.astype(float)))
    t_width = crosschecks[0].high - crosschecks[0].low
    bayes_width = population.hdi_high - population.hdi_low
    return {
        "agreement_note": agreement_note(bayes_width, t_width),
        "variable": ds.attrs["variable"],
        "outcome": design.outcome,
        "kind": design.kind,
        "estimand": ESTIMAND,
        "sample_vs_population": SAMPLE_VS_POPULATION,
        **scalars,
        "by": by,
        "effect_by": {k: v.to_dict() for k, v in summarize_by(
            effects[f"effect_by_{by}"], by, hdi_prob=hdi_prob, rope=rope).items()},
        "contrast_by": {} if contrast is None else {
            k: v.to_dict() for k, v in summarize_by(contrast, str(contrast.dims[-1]),
                                                    hdi_prob=hdi_prob, rope=rope).items()},
        "contrast_reference": "" if contrast is None else str(contrast.dims[-1]),
        "crosschecks": [c.to_dict() for c in crosschecks],
        "observed": _observed(ds, design.outcome),
        "design": {"prompts": int(ds.sizes["prompt"]), "replicates": int(ds.sizes["replicate"]),
                   "responses_completed": int(ds["completed"].sum()),
                   "responses_planned": int(ds["completed"].size),
                   "crossed_factor": design.crossed, "crossed_levels": len(design.items)},
        "diagnostics": {"passed": bool(fit_summary.get("passed", False)),
                        "gates": fit_summary.get("gates", []),
                        "attempts": fit_summary.get("attempts", [])},
        "cross_family": cross_family,
        "cross_family_warning": CROSS_FAMILY.format(reasons=ds.attrs["cross_family_reasons"])
        if cross_family else "",
        "provenance": {key: _plain(value) for key, value in sorted(ds.attrs.items())},
    }


#: Width ratios (Bayesian population-ATE interval / paired t interval) taken as agreement.
AGREEMENT_BAND = (2 / 3, 3 / 2)


def agreement_note(bayes_width: float, t_width: float) -> str:
    """Return a warning when the Bayesian and paired-t intervals differ much in width.

    A large gap means the hierarchical model and the data disagree about how much
    prompts vary (for instance, per-prompt outcomes that are nearly deterministic, which
    a normal random-slope model on the logit scale describes poorly), so neither interval
    should be read alone.
    """
    if not (t_width > 0 and bayes_width > 0):
        return ""
    ratio = bayes_width / t_width
    if AGREEMENT_BAND[0] <= ratio <= AGREEMENT_BAND[1]:
        return ""
    return (f"The population-ATE interval is {ratio:.2f} times as wide as the paired t "
            "interval: the model's description of how prompts vary disagrees with the data "
            "(see the posterior predictive plot); with few prompts, read both intervals and "
            "sample more prompts before trusting either.")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
