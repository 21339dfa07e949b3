"""Simulation-based calibration (Talts et al. 2018) of every model builder.

Draw parameters from the prior, simulate outcomes from them, fit, and take the rank of
the true value among the posterior draws. With exact inference the ranks are uniform,
for every parameter and for the estimand users read; ArviZ's ECDF-PIT plot shows any
departure with simultaneous confidence bands (Säilynoja et al. 2022).

simuk's ``SBC`` does the same, but refits each simulation through ``pm.sample`` on a
freshly observed model, which recompiles it every time (10-20 s per simulation here).
This module compiles once and swaps the data (:meth:`CompiledFit.with_design`), and
writes its ranks in simuk's layout (a ``prior_sbc`` group, one ``draw`` per simulation)
so the same plot applies.
"""

import warnings
from dataclasses import replace

import numpy as np
import pymc as pm
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.estimands import compute_effects
from bayeseffect.stats.fit import CompiledFit, SamplerSettings
from bayeseffect.stats.kinds import KINDS
from bayeseffect.stats.priors import HierarchyPriors

#: Posterior draws kept per simulation for the rank, thinned evenly to weaken autocorrelation.
RANK_DRAWS = 99
#: Scalar parameters ranked, when the model has them.
SCALARS = ("alpha", "beta", "sd_prompt", "sd_prompt_slope", "sd_family", "sd_family_slope")


def run_sbc(design: Design, *, n_simulations: int = 100,
            settings: SamplerSettings | None = None, priors: HierarchyPriors | None = None,
            centered: bool = False, seed: int = 0) -> xr.DataTree:
    """Rank the true parameters and sample ATE of ``n_simulations`` prior draws.

    Parameters
    ----------
    design
        The design whose shape (prompts, families, replicates, kind) is simulated; its
        observed outcomes are not used.
    n_simulations
        Prior draws, each fitted once.
    settings
        Sampler settings of each fit.
    priors
        Hierarchy priors (the kind's defaults when omitted): data are simulated from them
        and fitted with them.
    centered
        Parameterization.
    seed
        Seed of the prior draws and the fits.

    Returns
    -------
    xarray.DataTree
        Group ``ranks``: ranks (0..RANK_DRAWS) of each scalar parameter and of
        ``sample_ate`` on ``(chain=1, draw=simulation)``; group ``prior_sbc``: the same as
        PIT values in (0, 1), ready for ``arviz_plots.plot_ecdf_pit``; group ``fits``:
        divergences per simulation. Attrs record the design and sampler settings.
    """
    settings = settings or SamplerSettings(draws=400, tune=400, chains=2,
                                           target_accept=KINDS[design.kind].target_accept)
    compiled = CompiledFit(design, priors=priors, centered=centered, refittable=True)
    with warnings.catch_warnings():
        # Drawing observed nodes from the prior is the point of the exercise.
        warnings.simplefilter("ignore", UserWarning)
        prior = pm.sample_prior_predictive(draws=n_simulations, model=compiled.spec.model,
                                           random_seed=seed)
    truths = prior["prior"].to_dataset()
    true_effect = compute_effects(truths, design, seed=seed)["sample_ate"].values[0]
    simulated = prior["prior_predictive"]["obs"].values[0]
    names = [name for name in SCALARS if name in truths]
    ranks: dict[str, list[int]] = {name: [] for name in (*names, "sample_ate")}
    divergences = []
    for i in range(n_simulations):
        observed = KINDS[design.kind].observed(simulated[i], design)
        fit = compiled.with_design(replace(design, y=observed))
        idata = fit.sample(settings, seed=seed + 1 + i)
        post = idata["posterior"].to_dataset()
        effect = compute_effects(post, fit.design, seed=seed)["sample_ate"].values.ravel()
        keep = np.linspace(0, effect.size - 1, RANK_DRAWS).round().astype(int)
        for name in names:
            draws = np.asarray(post[name].values).ravel()[keep]
            ranks[name].append(int((draws < float(truths[name].values[0, i])).sum()))
        ranks["sample_ate"].append(int((effect[keep] < true_effect[i]).sum()))
        divergences.append(int(idata["sample_stats"]["diverging"].sum()))
    rank_ds = xr.Dataset({name: (("chain", "draw"), np.asarray(values)[None, :])
                          for name, values in ranks.items()})
    # Ranks are discrete; jittering within each rank's bin gives exactly uniform PIT
    # values under calibration, which is what the ECDF-PIT bands assume.
    jitter = np.random.default_rng(seed).uniform(size=(len(ranks), n_simulations))
    pit = xr.Dataset({name: (rank_ds[name] + jitter[k]) / (RANK_DRAWS + 1)
                      for k, name in enumerate(rank_ds.data_vars)})
    fits = xr.Dataset({"divergences": (("simulation",), np.asarray(divergences))})
    tree = xr.DataTree.from_dict({"prior_sbc": pit, "ranks": rank_ds, "fits": fits})
    tree.attrs = {"kind": design.kind, "prompts": len(design.prompts),
                  "families": len(design.families), "n_simulations": n_simulations,
                  "rank_draws": RANK_DRAWS, "draws": settings.draws, "tune": settings.tune,
                  "chains": settings.chains, "centered": int(centered), "seed": seed}
    return tree


def rank_uniformity_pvalues(tree: xr.DataTree, *, bins: int = 10) -> dict[str, float]:
    """Chi-square p-value of each ranked quantity's histogram against uniform ranks.

    Parameters
    ----------
    tree
        The output of :func:`run_sbc`.
    bins
        Histogram bins over the rank range.

    Returns
    -------
    dict
        Quantity name -> p-value (small values flag miscalibration).
    """
    from scipy.stats import chisquare

    ranks = tree["ranks"].to_dataset()
    edges = np.linspace(0, RANK_DRAWS + 1, bins + 1)
    return {str(name): float(chisquare(np.histogram(ranks[name].values.ravel(), edges)[0]).pvalue)
            for name in ranks.data_vars}
