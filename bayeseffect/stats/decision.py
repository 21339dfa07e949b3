"""Decisions from a posterior: interval, P(effect > 0), and a ROPE verdict (Kruschke 2018)."""

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
    mean, sd
        Posterior mean and SD.
    hdi_low, hdi_high
        Bounds of the highest-density interval.
    hdi_prob
        Its probability mass.
    p_positive
        Posterior probability that the quantity is above 0.
    rope
        Half-width of the region of practical equivalence around 0 (outcome units).
    p_in_rope
        Posterior probability inside the ROPE.
    verdict
        ``effect`` (HDI entirely outside the ROPE), ``practically zero`` (HDI entirely
        inside) or ``undecided``.
    """

    mean: float
    sd: float
    hdi_low: float
    hdi_high: float
    hdi_prob: float
    p_positive: float
    rope: float
    p_in_rope: float
    verdict: str

    def to_dict(self) -> dict[str, float | str]:
        """Return a JSON-ready dict."""
        return asdict(self)


def verdict(hdi_low: float, hdi_high: float, rope: float) -> str:
    """Apply the HDI + ROPE rule: effect, practically zero, or undecided."""
    if hdi_low > rope or hdi_high < -rope:
        return "effect"
    if -rope <= hdi_low and hdi_high <= rope:
        return "practically zero"
    return "undecided"


def summarize_draws(draws: xr.DataArray, *, hdi_prob: float = DEFAULT_HDI_PROB,
                    rope: float = 0.0) -> EffectSummary:
    """Summarize the ``chain x draw`` samples of a scalar quantity.

    Parameters
    ----------
    draws
        Samples with dims ``chain`` and ``draw`` only.
    hdi_prob
        Mass of the HDI.
    rope
        Half-width of the ROPE around 0.

    Returns
    -------
    EffectSummary
        The summary and verdict.
    """
    hdi = az.hdi(draws, prob=hdi_prob).values
    values = np.asarray(draws.values, dtype=float)
    low, high = float(hdi[0]), float(hdi[1])
    return EffectSummary(
        mean=float(values.mean()), sd=float(values.std()), hdi_low=low, hdi_high=high,
        hdi_prob=hdi_prob, p_positive=float((values > 0).mean()), rope=rope,
        p_in_rope=float((np.abs(values) <= rope).mean()), verdict=verdict(low, high, rope),
    )


def summarize_by(draws: xr.DataArray, dim: str, *, hdi_prob: float = DEFAULT_HDI_PROB,
                 rope: float = 0.0) -> dict[str, EffectSummary]:
    """Summarize a quantity with one extra dim, level by level."""
    return {str(level): summarize_draws(draws.sel({dim: level}), hdi_prob=hdi_prob, rope=rope)
            for level in draws[dim].values}
