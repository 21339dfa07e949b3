"""ArviZ plots of the total effect and the per-family effects, saved as PNG."""

from pathlib import Path

import arviz_plots as azp
import xarray as xr

from bayeseffect.stats.effects import DEFAULT_HDI_PROB


def _suptitle(pc: azp.PlotCollection, text: str, *, color: str = "black") -> None:
    figure = pc.viz["figure"].item()
    lines = text.count("\n") + 1
    # Leave room above the axes titles so the headline never overlaps them.
    figure.set_size_inches(figure.get_figwidth(), figure.get_figheight() + 0.3 * lines)
    figure.suptitle(text, color=color, fontsize=9)
    figure.subplots_adjust(top=1 - 0.3 * lines / figure.get_figheight() - 0.06)


def plot_total_effect(posterior: xr.DataTree, path: Path, *, title: str,
                      warning: str = "", hdi_prob: float = DEFAULT_HDI_PROB) -> Path:
    """Plot the posterior of the total effect (density, HDI, mean, ROPE-free) to ``path``.

    Parameters
    ----------
    posterior
        The fit.
    path
        PNG file to write.
    title
        Figure title.
    warning
        Text shown in red above the plot (the cross-family warning), if any.
    hdi_prob
        Mass of the interval drawn.

    Returns
    -------
    Path
        ``path``.

    """
    pc = azp.plot_dist(posterior, var_names=["total_effect"], kind="kde", ci_kind="hdi",
                       ci_prob=hdi_prob, point_estimate="mean", backend="matplotlib")
    _suptitle(pc, f"{warning}\n{title}" if warning else title, color="red" if warning else "black")
    pc.savefig(path, dpi=120)
    return path


def plot_family_effects(posterior: xr.DataTree, path: Path, *, title: str,
                        warning: str = "", hdi_prob: float = DEFAULT_HDI_PROB) -> Path:
    """Forest plot of the total effect within each template family, written to ``path``."""
    pc = azp.plot_forest(posterior, var_names=["family_effect", "total_effect"], combined=True,
                         ci_kind="hdi", ci_probs=(0.5, hdi_prob), point_estimate="mean",
                         backend="matplotlib")
    _suptitle(pc, f"{warning}\n{title}" if warning else title, color="red" if warning else "black")
    pc.savefig(path, dpi=120)
    return path
