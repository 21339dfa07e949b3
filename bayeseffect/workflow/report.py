"""Report a fitted run in two steps: compute one report object, then render it.

:func:`compute_report` loads the fit and the dataset and computes a
:class:`~bayeseffect.report.contents.RunReport`; :func:`report_run` renders it: figures and
``summary.json`` into the report folder (all or nothing), the table in the terminal.
"""

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

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
)

if TYPE_CHECKING:
    from bayeseffect.report.contents import RunReport


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
    from bayeseffect.report.json_summary import SUMMARY_JSON
    from bayeseffect.report.terminal import print_report, print_written

    report, folder = _compute(run_dir, outcome=outcome, hdi_prob=hdi_prob, rope=rope, by=by)
    summary = _write_files(report, folder, run_dir=run_dir)
    if console is not None:
        print_report(report, console=console)
        print_written(plots=summary["plots"], summary=folder / SUMMARY_JSON, console=console)
    return summary


def compute_report(run_dir: Path, *, outcome: str | None = None, hdi_prob: float = 0.94,
                   rope: float | None = None, by: str | None = None) -> "RunReport":
    """Compute a fitted outcome's report from its fit and its dataset, without rendering it.

    Parameters
    ----------
    run_dir, outcome, hdi_prob, rope, by
        As for :func:`report_run`.

    Returns
    -------
    RunReport
        Estimates, checks, diagnostics, provenance and the draws the figures show.
    """
    return _compute(run_dir, outcome=outcome, hdi_prob=hdi_prob, rope=rope, by=by)[0]


def _compute(run_dir: Path, *, outcome: str | None, hdi_prob: float, rope: float | None,
             by: str | None) -> tuple["RunReport", Path]:
    """Load the fit and the dataset, resolve the options, compute; also the report folder."""
    from bayeseffect.report.contents import build_run_report
    from bayeseffect.stats.design import design_from_dataset, fittable_outcomes, outcome_kind
    from bayeseffect.variables.registry import default_rope
    from bayeseffect.workflow.fit_files import load_posterior

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
    by = _factor(by, factors=str(ds.attrs.get("factors", "")),
                 effects=[str(name) for name in fit["effects"].data_vars])
    if rope is None:
        rope = kinds[outcome][1] if "outcome_kinds" in ds.attrs else \
            default_rope(str(ds.attrs["variable"]))
    report = build_run_report(ds, fit, design=design_from_dataset(ds, outcome=outcome),
                              hdi_prob=hdi_prob, rope=rope, by=by)
    return report, report_dir


def _factor(by: str | None, *, factors: str, effects: list[str]) -> str:
    """Return the factor to report by: ``by`` if the fit has its effects, else raise."""
    if by is None:
        # The prompt set's leading factor is its main moderator (depth, condition, axis...).
        leading = [f for f in factors.split(",") if f and f"effect_by_{f}" in effects]
        return leading[0] if leading else "family"
    if f"effect_by_{by}" not in effects:
        known = [name.removeprefix("effect_by_") for name in effects
                 if name.startswith("effect_by_")]
        close = difflib.get_close_matches(by, known, n=1)
        raise BayesEffectError(f"unknown factor {by!r} for --by"
                               + (f"; did you mean {close[0]}?" if close else "")
                               + f" (factors: {', '.join(known)})")
    return by


def _write_files(report: "RunReport", folder: Path, *, run_dir: Path) -> dict[str, Any]:
    """Render the report's files into ``folder``: the figures, then ``summary.json``.

    Every file renderer reads only the report; an HTML page would be one more line here.
    """
    from bayeseffect.report.figures import draw_figures, figure_files
    from bayeseffect.report.json_summary import write_summary
    from bayeseffect.workflow.fit_files import require_writable, staged_folder

    require_writable(folder.parent if folder.parent.exists() else run_dir)
    # All or nothing: a plot that fails leaves the previous report as it was.
    with staged_folder(folder) as stage:
        draw_figures(report, stage)
        return write_summary(report, stage, plots=figure_files(report, folder))
