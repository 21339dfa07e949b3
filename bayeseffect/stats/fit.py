"""Fit a model with nutpie, check the gates, and retry with safer settings on failure.

The model is compiled once per parameterization and reused across retries and across
refits with new data of the same shape (:meth:`CompiledFit.with_design`).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import nutpie
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.diagnostics import Diagnostics, check_gates
from bayeseffect.stats.estimands import compute_effects
from bayeseffect.stats.hierarchy import choose_centered, free_parameter_names
from bayeseffect.stats.models import ModelSpec, build_model
from bayeseffect.stats.priors import HierarchyPriors


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


@dataclass(frozen=True)
class Attempt:
    """One attempt of the retry schedule.

    Attributes
    ----------
    settings
        Sampler settings.
    centered
        Parameterization of the group offsets.
    """

    settings: SamplerSettings
    centered: bool


def retry_schedule(first: SamplerSettings, *, centered: bool) -> tuple[Attempt, ...]:
    """Return the attempts in order.

    As asked; longer; longer with smaller steps; the same with the other parameterization.
    """
    longer = replace(first, draws=first.draws * 2, tune=first.tune * 2)
    careful = replace(longer, target_accept=max(first.target_accept, 0.99))
    return (Attempt(first, centered), Attempt(longer, centered), Attempt(careful, centered),
            Attempt(careful, not centered))


class CompiledFit:
    """A model of one design compiled by nutpie, ready to sample (and to refit new data).

    Parameters
    ----------
    design
        The design.
    priors
        Hierarchy priors.
    centered
        Parameterization.
    """

    def __init__(self, design: Design, *, priors: HierarchyPriors | None, centered: bool) -> None:
        self.design = design
        self.priors = priors
        self.centered = centered
        self.spec: ModelSpec = build_model(design, priors=priors, centered=centered)
        self.var_names = free_parameter_names(self.spec.model)
        self._compiled = nutpie.compile_pymc_model(self.spec.model, freeze_model=False)

    def with_design(self, design: Design) -> "CompiledFit":
        """Return a copy that fits ``design``'s observations (same shape) without recompiling."""
        clone = object.__new__(CompiledFit)
        clone.__dict__.update(self.__dict__)
        clone.design = design
        updates: dict[str, Any] = {"y": design.y}
        if "trials" in self.spec.data_names:
            updates["trials"] = design.trials
        clone._compiled = self._compiled.with_data(**updates)
        return clone

    def sample(self, settings: SamplerSettings, *, seed: int,
               progressbar: bool = False) -> xr.DataTree:
        """Draw from the posterior; warm-up draws are dropped."""
        idata = nutpie.sample(
            self._compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains,
            cores=min(settings.chains, os.cpu_count() or 1), seed=seed,
            progress_bar=progressbar, target_accept=settings.target_accept,
        )
        return xr.DataTree.from_dict({name: idata[name].to_dataset()
                                      for name in ("posterior", "sample_stats")})


@dataclass(frozen=True)
class FitResult:
    """A fit and how it got there.

    Attributes
    ----------
    idata
        Posterior and sample statistics.
    effects
        Estimand draws (see :func:`~bayeseffect.stats.estimands.compute_effects`).
    diagnostics
        Gates of the attempt kept.
    attempts
        Every attempt made, the kept one last.
    design
        The design fitted.
    """

    idata: xr.DataTree
    effects: xr.Dataset
    diagnostics: Diagnostics
    attempts: tuple[Attempt, ...]
    design: Design


def sample_gated(
    compiled: CompiledFit,
    settings: SamplerSettings,
    *,
    seed: int,
    by: tuple[str, ...] = (),
    progressbar: bool = False,
) -> FitResult:
    """Sample once and evaluate the gates (no retries): the unit of a refit loop."""
    idata = compiled.sample(settings, seed=seed, progressbar=progressbar)
    effects = compute_effects(idata["posterior"].to_dataset(), compiled.design, by=by, seed=seed)
    diagnostics = check_gates(idata, var_names=compiled.var_names,
                              effect=effects["sample_ate"])
    return FitResult(idata=idata, effects=effects, diagnostics=diagnostics,
                     attempts=(Attempt(settings, compiled.centered),), design=compiled.design)


def fit_design(
    design: Design,
    *,
    settings: SamplerSettings | None = None,
    priors: HierarchyPriors | None = None,
    parameterization: str = "auto",
    seed: int = 0,
    by: tuple[str, ...] = (),
    progressbar: bool = False,
    on_attempt: Callable[[int, Attempt, Diagnostics], None] | None = None,
) -> FitResult:
    """Fit the design's model until the gates pass or the retry schedule is exhausted.

    Parameters
    ----------
    design
        Study design and observations.
    settings
        First attempt's sampler settings.
    priors
        Hierarchy priors (the kind's defaults when omitted).
    parameterization
        ``auto`` (from responses per cell), ``centered`` or ``noncentered``.
    seed
        Sampler seed; attempt ``i`` uses ``seed + i``.
    by
        Factors to compute effects by.
    progressbar
        Show nutpie's progress.
    on_attempt
        Called after every attempt.

    Returns
    -------
    FitResult
        The first attempt that passed, else the last one.
    """
    centered = choose_centered(design, parameterization)
    compiled: dict[bool, CompiledFit] = {}
    attempts: list[Attempt] = []
    result: FitResult | None = None
    for index, attempt in enumerate(retry_schedule(settings or SamplerSettings(),
                                                   centered=centered)):
        if attempt.centered not in compiled:
            compiled[attempt.centered] = CompiledFit(design, priors=priors,
                                                     centered=attempt.centered)
        attempts.append(attempt)
        one = sample_gated(compiled[attempt.centered], attempt.settings, seed=seed + index,
                           by=by, progressbar=progressbar)
        result = replace(one, attempts=tuple(attempts))
        if on_attempt is not None:
            on_attempt(index, attempt, one.diagnostics)
        if one.diagnostics.passed:
            break
    if result is None:
        raise RuntimeError("the retry schedule is empty")
    return result
