"""Render a run report as PNG figures: which figures a report has, their titles and files.

The drawing itself (ArviZ, matplotlib) is :mod:`bayeseffect.report.plots`.
"""

from pathlib import Path

from bayeseffect.report.contents import RunReport
from bayeseffect.report.plots import (
    plot_by_factor,
    plot_prior_effect,
    plot_prompt_ppc,
    plot_total_effect,
)


def figure_names(report: RunReport) -> list[str]:
    """Return the names of the report's figures (each drawn to ``<name>.png``), in order."""
    return ["total_effect", f"effect_by_{report.estimates.by}",
            *(["prior_predictive"] if "prior_effects" in report.draws.children else []),
            "posterior_predictive"]


def figure_files(report: RunReport, folder: Path) -> dict[str, Path]:
    """Return figure name -> its PNG file in ``folder``."""
    return {name: folder / f"{name}.png" for name in figure_names(report)}


def draw_figures(report: RunReport, folder: Path) -> dict[str, Path]:
    """Draw the report's figures into ``folder``.

    Parameters
    ----------
    report
        The report.
    folder
        An existing folder.

    Returns
    -------
    dict
        Figure name -> the PNG file written, as :func:`figure_files` names them.
    """
    files = figure_files(report, folder)
    by = report.estimates.by
    warning = report.cross_family_warning
    outcome = report.outcome
    label = f"{report.variable}: E[{outcome} | instruct] - E[{outcome} | base]"
    plot_total_effect(report.draws, files["total_effect"], title=label, warning=warning,
                      hdi_prob=report.hdi_prob, rope=report.rope)
    plot_by_factor(report.draws, files[f"effect_by_{by}"], factor=by, title=f"{label}, by {by}",
                   warning=warning, hdi_prob=report.hdi_prob)
    if "prior_predictive" in files:
        plot_prior_effect(report.draws, files["prior_predictive"], warning=warning,
                          title=f"prior predictive: effects the priors allow ({label})")
    plot_prompt_ppc(report.checks.prompt_differences, files["posterior_predictive"],
                    warning=warning, outcome=outcome,
                    title=f"per-prompt difference in mean {outcome}: observed (black) "
                          "vs replicated")
    return files
