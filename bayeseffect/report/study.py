"""Render a study (``--variable all``): one table of every fitted outcome, one bias forest plot."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bayeseffect.pairs.check import CROSS_FAMILY_TAG, cross_family_warning


@dataclass(frozen=True)
class StudyRow:
    """One fitted outcome of a study.

    Attributes
    ----------
    variable, outcome, kind
        What was measured and its likelihood family.
    run_dir
        The run it comes from.
    mean, hdi_low, hdi_high, p_positive, verdict
        The sample ATE's summary, in the outcome's units.
    ratio
        Ratio of means instruct / base (count outcomes), else NaN.
    passed
        Whether the fit passed its convergence gates.
    """

    variable: str
    outcome: str
    kind: str
    run_dir: str
    mean: float
    hdi_low: float
    hdi_high: float
    p_positive: float
    verdict: str
    ratio: float
    passed: bool


def study_row(summary: Mapping[str, Any], run_dir: Path, *, passed: bool) -> StudyRow:
    """Return the study's row of one fitted outcome.

    Parameters
    ----------
    summary
        The outcome's report, as ``summary.json`` holds it.
    run_dir
        The run it comes from.
    passed
        Whether its fit passed the convergence gates.

    Returns
    -------
    StudyRow
        The sample ATE's summary, and the ratio of means where there is one.
    """
    effect = summary["sample_ate"]
    return StudyRow(variable=str(summary["variable"]), outcome=str(summary["outcome"]),
                    kind=str(summary["kind"]), run_dir=str(run_dir), mean=effect["mean"],
                    hdi_low=effect["hdi_low"], hdi_high=effect["hdi_high"],
                    p_positive=effect["p_positive"], verdict=effect["verdict"],
                    ratio=summary.get("ratio", {}).get("mean", float("nan")), passed=passed)


def render_study(rows: list[StudyRow], *, console: Console, cross_family: bool) -> None:
    """Print one table of every variable's total effect, in each outcome's own units."""
    if cross_family:
        console.print(Panel(escape(cross_family_warning()), title="WARNING", style="bold red"))
    table = Table(title="Total effect of instruction tuning, every variable (sample ATE, "
                        "instruct - base)" + (CROSS_FAMILY_TAG if cross_family else ""))
    for column in ("variable", "outcome", "kind", "effect", "interval", "P(> 0)",
                   "ratio", "verdict", "gates"):
        table.add_column(column, justify="left" if column in ("variable", "outcome", "kind",
                                                              "verdict", "gates") else "right")
    for r in rows:
        table.add_row(escape(r.variable), escape(r.outcome), r.kind, f"{r.mean:+.3f}",
                      f"[{r.hdi_low:+.3f}, {r.hdi_high:+.3f}]", f"{r.p_positive:.3f}",
                      "" if r.ratio != r.ratio else f"{r.ratio:.2f}x",
                      r.verdict if r.passed else "not a result", "pass" if r.passed
                      else "[bold red]FAILED[/]")
    console.print(table)


def plot_bias_forest(panels: Mapping[str, xr.DataArray], path: Path, *, cross_family: bool
                     ) -> Path | None:
    """Draw social bias by dimension and political position by axis in one forest plot.

    Parameters
    ----------
    panels
        Label (variable and outcome) -> effect draws on ``(chain, draw, <factor>)``.
    path
        PNG file to write.
    cross_family
        Whether any run compares models of different families (shown in red).

    Returns
    -------
    Path or None
        ``path``, or ``None`` when there is nothing to draw (no panels).
    """
    # arviz_plots and matplotlib load only when a figure is drawn.
    from bayeseffect.report.plots import plot_effects_forest

    if not panels:
        return None
    return plot_effects_forest(
        dict(panels), path,
        title="Bias expression: effect of instruction tuning (instruct - base) "
              "per dimension and axis, each in its outcome's units",
        warning=cross_family_warning() if cross_family else "")
