"""Report a fitted run: effects, checks and plots from the posterior and the dataset."""

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bayeseffect.common.validation import (
    check_nonnegative,
    check_probability_mass,
)
from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.run_dir import (
    DATASET,
    outcome_files,
    read_manifest,
    require_run_dir,
    write_atomic,
)


def report_run(run_dir: Path, *, outcome: str | None = None, hdi_prob: float = 0.94,
               rope: float | None = None, by: str | None = None,
               console: Console | None = None) -> dict[str, Any]:
    """Print a fitted outcome's effects and write its ``summary.json`` and PNG plots.

    Parameters
    ----------
    run_dir
        A fitted run directory.
    outcome
        The fitted outcome to report; the primary outcome (``report/``) when omitted,
        else ``report/<outcome>/``.
    hdi_prob
        Mass of the credible intervals.
    rope
        Half-width of the region of practical equivalence; the outcome's default when
        omitted.
    by
        Prompt factor (or ``family``) whose levels get their own effects and contrasts;
        the prompt set's leading factor when omitted (``depth`` for logic, ``condition``
        for sycophancy, ``dimension`` for social_bias, ``axis`` for political_stance).
    console
        Where the table is printed.

    Returns
    -------
    dict
        The report, as written to ``summary.json``.
    """
    from bayeseffect.report.contents import build_report
    from bayeseffect.report.plots import (
        plot_by_factor,
        plot_prior_effect,
        plot_prompt_ppc,
        plot_total_effect,
    )
    from bayeseffect.report.terminal import render_report
    from bayeseffect.stats.design import design_from_dataset, fittable_outcomes, outcome_kind
    from bayeseffect.variables.registry import default_rope
    from bayeseffect.workflow.fit_files import load_posterior, require_writable, staged_folder

    check_probability_mass(hdi_prob, option="--hdi-prob")
    if rope is not None:
        check_nonnegative(rope, option="--rope")
    require_run_dir(run_dir)
    if not (run_dir / DATASET).exists():
        read_manifest(run_dir)
    ds = load_dataset(run_dir / DATASET)
    primary = str(ds.attrs["primary_outcome"])
    outcome = outcome or primary
    kinds = fittable_outcomes(ds)
    if outcome not in kinds:
        outcome_kind(ds, outcome)
    posterior_file, _, report_dir = outcome_files(run_dir, outcome, primary=primary)
    if not posterior_file.exists():
        which = "" if outcome == primary else f" of {outcome!r}"
        flag = "" if outcome == primary else f" --outcome {outcome}"
        raise BayesEffectError(f"{run_dir} has no posterior{which} yet; run "
                               f"`bayeseffect fit {run_dir}{flag}`")
    fit = load_posterior(posterior_file, ds, refit=f"bayeseffect fit {run_dir}"
                         + ("" if outcome == primary else f" --outcome {outcome}"))
    if "effects" not in fit.children:
        raise BayesEffectError(f"{posterior_file} was written by an older bayeseffect; "
                               f"refit it with `bayeseffect fit {run_dir}`")
    if by is None:
        # The prompt set's leading factor is its main moderator (depth, condition, axis...).
        leading = [f for f in str(ds.attrs.get("factors", "")).split(",")
                   if f and f"effect_by_{f}" in fit["effects"]]
        by = leading[0] if leading else "family"
    if f"effect_by_{by}" not in fit["effects"]:
        import difflib

        known = [str(name).removeprefix("effect_by_") for name in fit["effects"].data_vars
                 if str(name).startswith("effect_by_")]
        close = difflib.get_close_matches(by, known, n=1)
        raise BayesEffectError(f"unknown factor {by!r} for --by"
                               + (f"; did you mean {close[0]}?" if close else "")
                               + f" (factors: {', '.join(known)})")
    if rope is None:
        rope = kinds[outcome][1] if "outcome_kinds" in ds.attrs else \
            default_rope(str(ds.attrs["variable"]))
    design = design_from_dataset(ds, outcome=outcome)
    report = build_report(ds, fit, design=design, hdi_prob=hdi_prob, rope=rope, by=by)
    from bayeseffect.stats.predictive import prompt_differences

    checks = prompt_differences(design, fit["posterior"].to_dataset())
    warning = "CROSS-FAMILY PAIR: not the effect of instruction tuning alone" \
        if report["cross_family"] else ""
    label = f"{ds.attrs['variable']}: E[{outcome} | instruct] - E[{outcome} | base]"
    names = ["total_effect", f"effect_by_{by}",
             *(["prior_predictive"] if "prior_effects" in fit.children else []),
             "posterior_predictive"]
    plots = {name: report_dir / f"{name}.png" for name in names}
    require_writable(report_dir.parent if report_dir.parent.exists() else run_dir)
    # All or nothing: a plot that fails leaves the previous report as it was.
    with staged_folder(report_dir) as stage:
        plot_total_effect(fit, stage / "total_effect.png", title=label, warning=warning,
                          hdi_prob=hdi_prob, rope=rope)
        plot_by_factor(fit, stage / f"effect_by_{by}.png", factor=by,
                       title=f"{label}, by {by}", warning=warning, hdi_prob=hdi_prob)
        if "prior_predictive" in plots:
            plot_prior_effect(fit, stage / "prior_predictive.png", warning=warning,
                              title=f"prior predictive: effects the priors allow ({label})")
        plot_prompt_ppc(checks, stage / "posterior_predictive.png", warning=warning,
                        outcome=outcome,
                        title=f"per-prompt difference in mean {outcome}: observed (black) "
                              "vs replicated")
        report["plots"] = {name: str(path) for name, path in plots.items()}
        write_atomic(stage / "summary.json",
                     (json.dumps(report, indent=2, default=str) + "\n").encode("utf-8"))
    if console is not None:
        render_report(report, console=console)
        console.print(escape("Plots: " + ", ".join(str(p) for p in plots.values())
                             + f"; JSON: {report_dir / 'summary.json'}"))
    return report
