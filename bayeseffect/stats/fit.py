"""Fit a model with nutpie, check the gates, and retry with safer settings on failure."""

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import pymc as pm
import xarray as xr

from bayeseffect.stats.diagnostics import Diagnostics, check_gates


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings of one attempt.

    Attributes
    ----------
    draws
        Kept draws per chain.
    tune
        Warm-up draws per chain.
    chains
        Number of chains.
    target_accept
        Target acceptance rate of the step-size adaptation.

    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.95


def retry_schedule(first: SamplerSettings) -> tuple[SamplerSettings, ...]:
    """Return the attempts made in order: as asked, then longer, then with smaller steps."""
    return (
        first,
        replace(first, draws=first.draws * 2, tune=first.tune * 2),
        replace(first, draws=first.draws * 2, tune=first.tune * 2,
                target_accept=max(first.target_accept, 0.98)),
    )


@dataclass(frozen=True)
class FitResult:
    """A fit and how it got there.

    Attributes
    ----------
    idata
        Posterior, sample statistics and observed data (a DataTree).
    diagnostics
        Gates of the attempt kept.
    attempts
        Settings of every attempt made, the kept one last.

    """

    idata: xr.DataTree
    diagnostics: Diagnostics
    attempts: tuple[SamplerSettings, ...]


def fit_with_gates(
    build: Callable[[], pm.Model],
    *,
    settings: SamplerSettings,
    seed: int,
    var_names: list[str],
    effect: str,
    progressbar: bool = False,
    on_attempt: Callable[[int, SamplerSettings, Diagnostics], None] | None = None,
) -> FitResult:
    """Sample with nutpie until the gates pass or the retry schedule is exhausted.

    Parameters
    ----------
    build
        Returns a fresh model.
    settings
        First attempt's settings.
    seed
        Sampler seed; attempt ``i`` uses ``seed + i``.
    var_names
        Parameters covered by the R-hat and ESS gates.
    effect
        The headline quantity for the MCSE gate.
    progressbar
        Show nutpie's progress.
    on_attempt
        Called after every attempt with its index, settings and diagnostics.

    Returns
    -------
    FitResult
        The last attempt (the first one that passed, else the final one).

    """
    attempts: list[SamplerSettings] = []
    model = build()
    result: FitResult | None = None
    for index, attempt in enumerate(retry_schedule(settings)):
        attempts.append(attempt)
        with model, warnings.catch_warnings():
            # PyMC warns about failed convergence itself; our gates report it instead.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            idata = pm.sample(
                draws=attempt.draws, tune=attempt.tune, chains=attempt.chains,
                cores=min(attempt.chains, os.cpu_count() or 1), nuts_sampler="nutpie",
                target_accept=attempt.target_accept, random_seed=seed + index,
                progressbar=progressbar, compute_convergence_checks=False,
            )
        diagnostics = check_gates(idata, var_names=var_names, effect=effect)
        if on_attempt is not None:
            on_attempt(index, attempt, diagnostics)
        result = FitResult(idata=idata, diagnostics=diagnostics, attempts=tuple(attempts))
        if diagnostics.passed:
            break
    assert result is not None  # the schedule is never empty
    return result
