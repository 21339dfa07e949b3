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
class Check:
    """One registered convergence gate: what is measured and the limit it must respect.

    Attributes
    ----------
    name
        What is checked, as fit summaries and messages name it (the registry key).
    threshold
        The limit.
    at_most
        Whether a value passes at or below the limit (R-hat, divergences) rather than at
        or above it (ESS, E-BFMI). A NaN value fails either way.
    """

    name: str
    threshold: float
    at_most: bool

    def passes(self, value: float) -> bool:
        """Whether ``value`` is on the right side of the limit."""
        return bool(value <= self.threshold if self.at_most else value >= self.threshold)

    def judge(self, value: float) -> "Gate":
        """Return the gate's outcome for a measured ``value``."""
        return Gate(self.name, value, self.threshold, self.passes(value))


RHAT = Check("max R-hat", RHAT_MAX, at_most=True)
BULK_ESS = Check("min bulk ESS", ESS_MIN, at_most=False)
TAIL_ESS = Check("min tail ESS", ESS_MIN, at_most=False)
DIVERGENCES = Check("divergences", 0.0, at_most=True)
BFMI = Check("min E-BFMI", BFMI_MIN, at_most=False)
MCSE_RATIO = Check("MCSE/SD of the effect", MCSE_RATIO_MAX, at_most=True)

#: Every gate a fit must pass, in the order fit summaries list them, by name.
CHECKS: dict[str, Check] = {check.name: check for check in
                            (RHAT, BULK_ESS, TAIL_ESS, DIVERGENCES, BFMI, MCSE_RATIO)}


@dataclass(frozen=True)
class Gate:
    """One check's outcome (a fit summary's record).

    Attributes
    ----------
    name
        What is checked: a key of :data:`CHECKS`.
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

    @property
    def check(self) -> Check:
        """The registered check this outcome is of (what a retry is chosen by)."""
        return CHECKS[self.name]


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
    measured = {RHAT: rhat, BULK_ESS: ess_bulk, TAIL_ESS: ess_tail,
                DIVERGENCES: float(divergences), BFMI: bfmi, MCSE_RATIO: ratio}
    return Diagnostics(gates=tuple(check.judge(measured[check]) for check in CHECKS.values()))
