"""What a fitted run's report says: one typed object, computed once from the fit and the dataset.

Reporting is two steps. :func:`build_run_report` computes a :class:`RunReport` (estimates,
cross-checks and predictive checks, diagnostics, provenance, and the draws the figures
need); the renderers (:mod:`~bayeseffect.report.terminal`,
:mod:`~bayeseffect.report.json_summary`, :mod:`~bayeseffect.report.figures`) each read only
that object. This is the only module of a run's report that calls the statistics.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bayeseffect.pairs.check import cross_family_warning
from bayeseffect.stats.crosschecks import (
    CrossCheck,
    cluster_bootstrap,
    clustered_mcnemar,
    paired_t,
)
from bayeseffect.stats.decision import (
    DEFAULT_HDI_PROB,
    EffectSummary,
    summarize_by,
    summarize_draws,
)
from bayeseffect.stats.design import Design
from bayeseffect.stats.estimands import SAMPLE_VS_POPULATION
from bayeseffect.stats.predictive import prompt_differences

ESTIMAND = (
    "total effect = mean over prompts of E[Y | instruct, used as intended] - "
    "E[Y | base, used as intended]: each model prompted as its arm intends (chat template "
    "for instruct, completion frame for base), on the outcome's own scale"
)


@dataclass(frozen=True)
class Estimates:
    """Posterior summaries of the effects, in the outcome's units.

    Attributes
    ----------
    sample_ate, population_ate
        The total effect over these prompts, and over new prompts of the same design.
    arm_means
        Arm (``base``, ``instruct``) -> the posterior of its mean outcome.
    ratio
        Ratio of means instruct / base (count outcomes), else ``None``.
    by
        The factor of ``effect_by`` and ``contrast_by``.
    effect_by
        Level of ``by`` -> the effect within it.
    contrast_by
        Level of ``by`` -> its effect minus the reference level's; empty when the fit
        has no contrasts for ``by``.
    contrast_reference
        Name of the contrasts' dimension (``<by>_vs_<reference level>``), or empty.
    """

    sample_ate: EffectSummary
    population_ate: EffectSummary
    arm_means: Mapping[str, EffectSummary]
    ratio: EffectSummary | None
    by: str
    effect_by: Mapping[str, EffectSummary]
    contrast_by: Mapping[str, EffectSummary]
    contrast_reference: str


@dataclass(frozen=True)
class Checks:
    """Checks of the estimates against the data.

    Attributes
    ----------
    crosschecks
        Frequentist estimates of the sample ATE on the same data (paired t, cluster
        bootstrap, and clustered McNemar for binary outcomes).
    agreement_note
        A warning when the Bayesian and paired t intervals differ much in width, or empty.
    prompt_differences
        The posterior predictive check of per-prompt differences
        (:func:`~bayeseffect.stats.predictive.prompt_differences`).
    """

    crosschecks: tuple[CrossCheck, ...]
    agreement_note: str
    prompt_differences: xr.DataTree


@dataclass(frozen=True)
class DesignCounts:
    """The size of the fitted design.

    Attributes
    ----------
    prompts, replicates
        Prompts, and responses per prompt and arm, as planned.
    responses_completed, responses_planned
        Responses in the dataset, and responses the run was meant to have.
    crossed_factor, crossed_levels
        The factor crossed with the arms (empty when prompts are the units), and its number
        of levels.
    """

    prompts: int
    replicates: int
    responses_completed: int
    responses_planned: int
    crossed_factor: str
    crossed_levels: int


@dataclass(frozen=True)
class Diagnostics:
    """The sampler's convergence gates, as the fit recorded them.

    Attributes
    ----------
    passed
        Whether every gate passed (on the last attempt).
    gates
        Each gate: ``name``, ``value``, ``threshold``, ``passed``.
    attempts
        Each sampling attempt's settings and gates.
    """

    passed: bool
    gates: tuple[Mapping[str, Any], ...]
    attempts: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class RunReport:
    """Everything a fitted outcome's report says, computed once; renderers read only this.

    Attributes
    ----------
    variable, outcome, kind
        What was measured and its likelihood family.
    hdi_prob, rope
        Mass of the credible intervals, and half-width of the ROPE (outcome units).
    estimand, sample_vs_population
        What the effects mean, in words.
    estimates
        The effects' posterior summaries.
    checks
        Cross-checks and the posterior predictive check.
    observed
        Arm -> observed rates: ``responses``, ``<outcome>_mean``, ``parse_failure_mean``
        (where scored), ``truncated_rate``.
    design
        The fitted design's size.
    diagnostics
        The convergence gates.
    cross_family, cross_family_warning
        Whether the models differ in more than instruction tuning, and the warning every
        rendering then carries (empty when matched).
    provenance
        The dataset's attributes (models, versions, prompt set, seed...), sorted by name.
    draws
        The draws the figures show: group ``effects``, and ``prior_effects`` when the fit
        has a prior predictive check.
    """

    variable: str
    outcome: str
    kind: str
    hdi_prob: float
    rope: float
    estimand: str
    sample_vs_population: str
    estimates: Estimates
    checks: Checks
    observed: Mapping[str, Mapping[str, float]]
    design: DesignCounts
    diagnostics: Diagnostics
    cross_family: bool
    cross_family_warning: str
    provenance: Mapping[str, Any]
    draws: xr.DataTree


def build_run_report(ds: xr.Dataset, fit: xr.DataTree, *, design: Design,
                     hdi_prob: float = DEFAULT_HDI_PROB, rope: float = 0.0,
                     by: str = "family") -> RunReport:
    """Compute the report of a fitted outcome from its fit and its dataset.

    Parameters
    ----------
    ds
        The run's dataset.
    fit
        The fit saved with the run (groups ``posterior``, ``sample_stats``, ``effects``,
        and ``prior_effects`` when prior predictive draws were saved).
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
    RunReport
        Estimates, checks, observed rates, diagnostics, warnings, provenance and draws.
    """
    cross_family = bool(int(ds.attrs["cross_family"]))
    estimates = _estimates(fit["effects"].to_dataset(), hdi_prob=hdi_prob, rope=rope, by=by)
    return RunReport(
        variable=str(ds.attrs["variable"]), outcome=design.outcome, kind=design.kind,
        hdi_prob=hdi_prob, rope=rope, estimand=ESTIMAND,
        sample_vs_population=SAMPLE_VS_POPULATION, estimates=estimates,
        checks=_checks(ds, fit, design=design, hdi_prob=hdi_prob,
                       population=estimates.population_ate),
        observed=_observed(ds, design.outcome),
        design=DesignCounts(prompts=int(ds.sizes["prompt"]),
                            replicates=int(ds.sizes["replicate"]),
                            responses_completed=int(ds["completed"].sum()),
                            responses_planned=int(ds["completed"].size),
                            crossed_factor=design.crossed, crossed_levels=len(design.items)),
        diagnostics=_diagnostics(fit),
        cross_family=cross_family,
        cross_family_warning=cross_family_warning(str(ds.attrs["cross_family_reasons"]))
        if cross_family else "",
        provenance={key: _plain(value) for key, value in sorted(ds.attrs.items())},
        draws=xr.DataTree.from_dict({group: fit[group].to_dataset()
                                     for group in ("effects", "prior_effects")
                                     if group in fit.children}),
    )


def _estimates(effects: xr.Dataset, *, hdi_prob: float, rope: float, by: str) -> Estimates:
    def summary(name: str, *, rope: float = rope) -> EffectSummary:
        return summarize_draws(effects[name], hdi_prob=hdi_prob, rope=rope)

    contrast = effects.get(f"contrast_by_{by}")
    return Estimates(
        sample_ate=summary("sample_ate"), population_ate=summary("population_ate"),
        # Arm means and ratios are not effects: no ROPE around 0 for them.
        arm_means={arm: summary(f"mean_{arm}", rope=0.0) for arm in ("base", "instruct")
                   if f"mean_{arm}" in effects},
        ratio=summary("ratio", rope=0.0) if "ratio" in effects else None,
        by=by,
        effect_by=summarize_by(effects[f"effect_by_{by}"], by, hdi_prob=hdi_prob, rope=rope),
        contrast_by={} if contrast is None else summarize_by(
            contrast, str(contrast.dims[-1]), hdi_prob=hdi_prob, rope=rope),
        contrast_reference="" if contrast is None else str(contrast.dims[-1]),
    )


def _checks(ds: xr.Dataset, fit: xr.DataTree, *, design: Design, hdi_prob: float,
            population: EffectSummary) -> Checks:
    crosschecks = [paired_t(design, prob=hdi_prob), cluster_bootstrap(design, prob=hdi_prob)]
    if design.kind == "binary":
        crosschecks.append(clustered_mcnemar(
            ds[design.outcome].where(ds["completed"]).transpose("arm", "prompt", "replicate")
            .values.astype(float)))
    return Checks(
        crosschecks=tuple(crosschecks),
        agreement_note=agreement_note(population.hdi_high - population.hdi_low,
                                      crosschecks[0].high - crosschecks[0].low),
        prompt_differences=prompt_differences(design, fit["posterior"].to_dataset()),
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


def _diagnostics(fit: xr.DataTree) -> Diagnostics:
    fit_summary = json.loads(fit.attrs.get("fit_summary", "{}"))
    return Diagnostics(passed=bool(fit_summary.get("passed", False)),
                       gates=tuple(fit_summary.get("gates", [])),
                       attempts=tuple(fit_summary.get("attempts", [])))


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
