"""ArviZ plots of the total effect and of the effects by factor level, saved as PNG."""

import textwrap
import warnings
from pathlib import Path

import arviz_plots as azp
import xarray as xr

from bayeseffect.stats.decision import DEFAULT_HDI_PROB

#: Characters of the 9-point headline that fit in one inch of figure width (a safe guess).
_CHARS_PER_INCH = 13


def _suptitle(pc: azp.PlotCollection, title: str, *, warning: str = "") -> None:
    """Write the headline above the axes: the warning in red, if any, above the title."""
    figure = pc.viz["figure"].item()
    # The warning is long; wrapped to the figure's width so that none of it is cut off.
    width = max(40, int(figure.get_figwidth() * _CHARS_PER_INCH))
    text = f"{textwrap.fill(warning, width)}\n{title}" if warning else title
    color = "red" if warning else "black"
    lines = text.count("\n") + 1
    # Leave room above the axes titles so the headline never overlaps them.
    figure.set_size_inches(figure.get_figwidth(), figure.get_figheight() + 0.3 * lines)
    figure.suptitle(text, color=color, fontsize=9)
    figure.subplots_adjust(top=1 - 0.3 * lines / figure.get_figheight() - 0.06)


def _save(pc: azp.PlotCollection, path: Path) -> None:
    """Write the figure and close it.

    pyplot keeps every figure open until closed, and a ``--variable all`` study draws
    dozens (matplotlib warns past 20).
    """
    import matplotlib.pyplot as plt

    figure = pc.viz["figure"].item()
    try:
        pc.savefig(path, dpi=120)
    finally:
        plt.close(figure)


def plot_total_effect(fit: xr.DataTree, path: Path, *, title: str, warning: str = "",
                      hdi_prob: float = DEFAULT_HDI_PROB, rope: float = 0.0) -> Path:
    """Plot the posteriors of the sample and population ATE (density, HDI, mean, ROPE).

    Parameters
    ----------
    fit
        The fit, with its ``effects`` group.
    path
        PNG file to write.
    title
        Figure title.
    warning
        Text shown in red above the plot (the cross-family warning), if any.
    hdi_prob
        Mass of the interval drawn.
    rope
        Half-width of the ROPE drawn around 0 (none when 0).

    Returns
    -------
    Path
        ``path``.
    """
    pc = azp.plot_dist(fit, group="effects", var_names=["sample_ate", "population_ate"],
                       kind="kde", ci_kind="hdi", ci_prob=hdi_prob, point_estimate="mean",
                       rope=(-rope, rope) if rope > 0 else None, backend="matplotlib")
    _suptitle(pc, title, warning=warning)
    _save(pc, path)
    return path


def plot_by_factor(fit: xr.DataTree, path: Path, *, factor: str, title: str,
                   warning: str = "", hdi_prob: float = DEFAULT_HDI_PROB) -> Path:
    """Forest plot of the effect within each level of ``factor``, beside the sample ATE."""
    pc = azp.plot_forest(fit, group="effects", var_names=[f"effect_by_{factor}", "sample_ate"],
                         combined=True, ci_kind="hdi", ci_probs=(0.5, hdi_prob),
                         point_estimate="mean", backend="matplotlib")
    _suptitle(pc, title, warning=warning)
    _save(pc, path)
    return path


def plot_effects_forest(panels: dict[str, xr.DataArray], path: Path, *, title: str,
                        warning: str = "", hdi_prob: float = DEFAULT_HDI_PROB) -> Path:
    """One forest plot of several outcomes' effects by level (bias by dimension and axis).

    Parameters
    ----------
    panels
        Label -> effect draws on ``(chain, draw, <factor>)``; each label names its
        variable, outcome and factor, since the units differ between panels.
    path
        PNG file to write.
    title
        Figure title.
    warning
        Text shown in red above the plot (the cross-family warning), if any.
    hdi_prob
        Mass of the outer interval (the inner one is 50%).

    Returns
    -------
    Path
        ``path``.
    """
    if not panels:
        raise ValueError("nothing to plot: no panels")
    # Each panel comes from its own fit: align their draws so one dataset can hold them.
    draws = min(p.sizes["draw"] for p in panels.values())
    chains = min(p.sizes["chain"] for p in panels.values())
    data = xr.Dataset({label: p.isel(chain=slice(chains), draw=slice(draws))
                       .assign_coords(chain=range(chains), draw=range(draws))
                       for label, p in panels.items()})
    pc = azp.plot_forest(xr.DataTree.from_dict({"effects": data}), group="effects",
                         combined=True, ci_kind="hdi", ci_probs=(0.5, hdi_prob),
                         point_estimate="mean", backend="matplotlib")
    _suptitle(pc, title, warning=warning)
    _save(pc, path)
    return path


def plot_prompt_ppc(checks: xr.DataTree, path: Path, *, title: str, warning: str = "",
                    outcome: str = "outcome") -> Path:
    """Posterior predictive check of per-prompt differences: replicated vs observed spread.

    The differences are ECDFs, the representation ArviZ itself recommends for discrete
    values (binary cell means differ in steps of one over the responses per cell).

    Parameters
    ----------
    checks
        :func:`~bayeseffect.stats.predictive.prompt_differences`'s groups.
    path
        PNG file to write.
    title
        Figure title.
    warning
        Text shown in red above the plot (the cross-family warning), if any.
    outcome
        The outcome's name, for the axis label.

    Returns
    -------
    Path
        ``path``.
    """
    with warnings.catch_warnings():
        # ArviZ calls data whose values are all 0 or 1 binary outcomes and suggests a
        # calibration plot. These are differences of cell means in [-1, 1] that came out
        # 0 or 1 on few prompts (four prompts gave 1, 0, 0, 0), not binary outcomes.
        warnings.filterwarnings("ignore", message=r"Variables .* look binary",
                                category=UserWarning)
        pc = azp.plot_ppc_dist(checks, var_names=["prompt_difference"], kind="ecdf",
                               backend="matplotlib")
    figure = pc.viz["figure"].item()
    for axes in figure.axes:
        axes.set_xlabel(f"per-prompt difference in mean {outcome} (instruct - base)")
        axes.set_ylabel("share of prompts at or below")
    _suptitle(pc, title, warning=warning)
    _save(pc, path)
    return path


def plot_prior_effect(fit: xr.DataTree, path: Path, *, title: str, warning: str = "") -> Path:
    """Prior predictive check: the distribution of the ATEs implied by the priors alone."""
    pc = azp.plot_dist(fit, group="prior_effects", var_names=["sample_ate", "population_ate"],
                       kind="kde", point_estimate="mean", backend="matplotlib")
    _suptitle(pc, title, warning=warning)
    _save(pc, path)
    return path


def plot_sbc(tree: xr.DataTree, path: Path, *, title: str) -> Path:
    """ECDF-PIT of simulation-based calibration ranks: inside the bands is calibrated."""
    pc = azp.plot_ecdf_pit(tree, group="prior_sbc")
    _suptitle(pc, title)
    _save(pc, path)
    return path
