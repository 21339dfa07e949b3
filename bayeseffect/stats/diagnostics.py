"""Convergence gates: every fit is checked, and a failure is reported, never hidden."""

from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import xarray as xr

from bayeseffect.stats.convergence import gate_statistics

#: Gate thresholds (Vehtari et al. 2021 for R-hat and ESS, computed as in the paper by
#: :mod:`.convergence`; E-BFMI after Betancourt 2016).
RHAT_MAX = 1.01
ESS_MIN = 400.0
BFMI_MIN = 0.3
MCSE_RATIO_MAX = 0.1


@dataclass(frozen=True)
class Gate:
    """One check.

    Attributes
    ----------
    name
        What is checked.
    value
        The measured value (worst over parameters).
    threshold
        The limit.
    passed
        Whether the value is on the right side of the limit.

    """

    name: str
    value: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class Diagnostics:
    """All gates of one fit.

    Attributes
    ----------
    gates
        The individual checks.

    """

    gates: tuple[Gate, ...]

    @property
    def passed(self) -> bool:
        """True when every gate passed."""
        return all(g.passed for g in self.gates)

    @property
    def failures(self) -> tuple[Gate, ...]:
        """The gates that failed."""
        return tuple(g for g in self.gates if not g.passed)

    def to_list(self) -> list[dict[str, object]]:
        """Return JSON-ready gate records."""
        return [asdict(g) for g in self.gates]


def _worst(values: np.ndarray, reduce: str) -> float:
    flat = values[np.isfinite(values)]
    if flat.size == 0:
        return float("nan")
    return float(flat.max() if reduce == "max" else flat.min())


def _stack(params: xr.Dataset) -> np.ndarray:
    """Every scalar of every variable as one ``(param, chain, draw)`` array."""
    blocks = []
    for variable in params.data_vars.values():
        values = variable.transpose("chain", "draw", ...).values
        blocks.append(values.reshape(values.shape[0], values.shape[1], -1).transpose(2, 0, 1))
    return np.concatenate(blocks, axis=0)


def check_gates(idata: xr.DataTree, *, var_names: list[str], effect: xr.DataArray
                ) -> Diagnostics:
    """Evaluate the convergence gates of a fit.

    Parameters
    ----------
    idata
        The fit (posterior and sample_stats groups).
    var_names
        Parameters the R-hat and ESS gates cover.
    effect
        Draws (``chain x draw``) of the headline estimand, whose R-hat, ESS and Monte
        Carlo SE are gated too.

    Returns
    -------
    Diagnostics
        Each gate with its worst value.

    """
    draws = _stack(idata["posterior"].to_dataset()[var_names].assign(effect=effect))
    rhats, bulk, tail = gate_statistics(draws)
    rhat, ess_bulk, ess_tail = _worst(rhats, "max"), _worst(bulk, "min"), _worst(tail, "min")
    divergences = int(idata["sample_stats"]["diverging"].sum())
    bfmi = float(np.min(np.asarray(az.bfmi(idata)["energy"].values)))
    sd = float(effect.std())
    mcse = float(az.mcse(effect))
    ratio = mcse / sd if sd > 0 else 0.0
    return Diagnostics(gates=(
        Gate("max R-hat", rhat, RHAT_MAX, bool(rhat <= RHAT_MAX)),
        Gate("min bulk ESS", ess_bulk, ESS_MIN, bool(ess_bulk >= ESS_MIN)),
        Gate("min tail ESS", ess_tail, ESS_MIN, bool(ess_tail >= ESS_MIN)),
        Gate("divergences", float(divergences), 0.0, divergences == 0),
        Gate("min E-BFMI", bfmi, BFMI_MIN, bool(bfmi >= BFMI_MIN)),
        Gate("MCSE/SD of the effect", ratio, MCSE_RATIO_MAX, bool(ratio <= MCSE_RATIO_MAX)),
    ))
