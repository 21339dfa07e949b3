"""Posterior summaries of effects: point estimate, HDI, probability of a positive effect."""

from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import xarray as xr

DEFAULT_HDI_PROB = 0.94


@dataclass(frozen=True)
class EffectSummary:
    """Summary of one scalar posterior quantity.

    Attributes
    ----------
    mean
        Posterior mean.
    sd
        Posterior SD.
    hdi_low, hdi_high
        Bounds of the highest-density interval.
    hdi_prob
        Its probability mass.
    p_positive
        Posterior probability that the quantity is above 0.

    """

    mean: float
    sd: float
    hdi_low: float
    hdi_high: float
    hdi_prob: float
    p_positive: float

    def to_dict(self) -> dict[str, float]:
        """Return a JSON-ready dict."""
        return asdict(self)


def summarize_draws(draws: xr.DataArray, *, hdi_prob: float = DEFAULT_HDI_PROB) -> EffectSummary:
    """Summarize the ``chain x draw`` samples of a scalar quantity.

    Parameters
    ----------
    draws
        Samples with dims ``chain`` and ``draw`` only.
    hdi_prob
        Mass of the HDI.

    Returns
    -------
    EffectSummary
        The summary.

    """
    hdi = az.hdi(draws, prob=hdi_prob).values
    values = np.asarray(draws.values, dtype=float)
    return EffectSummary(
        mean=float(values.mean()),
        sd=float(values.std()),
        hdi_low=float(hdi[0]),
        hdi_high=float(hdi[1]),
        hdi_prob=hdi_prob,
        p_positive=float((values > 0).mean()),
    )


def summarize_by(draws: xr.DataArray, dim: str, *, hdi_prob: float = DEFAULT_HDI_PROB
                 ) -> dict[str, EffectSummary]:
    """Summarize a quantity with one extra dim, level by level."""
    return {str(level): summarize_draws(draws.sel({dim: level}), hdi_prob=hdi_prob)
            for level in draws[dim].values}
