"""Fit a run: an outcome's hierarchical model on the run's dataset, gated, saved."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bayeseffect.common.validation import (
    check_seed,
)
from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.run_dir import (
    DATASET,
    outcome_files,
    require_run_dir,
    write_atomic,
)
from bayeseffect.sampling.run_lock import run_lock


def fit_run(run_dir: Path, *, outcome: str | None = None, draws: int | None = None,
            tune: int = 500,
            chains: int = 4, seed: int = 0, parameterization: str = "auto",
            console: Console | None = None) -> dict[str, Any]:
    """Fit an outcome's model to a run's dataset and save its posterior and fit summary.

    Parameters
    ----------
    run_dir
        A run directory holding ``dataset.nc``.
    outcome
        The outcome to fit (see the dataset's ``outcome_kinds``); the primary outcome,
        saved as ``posterior.nc`` and ``fit.json``, when omitted. Others are saved as
        ``posterior-<outcome>.nc`` and ``fit-<outcome>.json``.
    draws, tune, chains
        Sampler settings of the first attempt (retries lengthen them); ``draws`` defaults
        to the outcome kind's (:data:`bayeseffect.stats.kinds.KINDS`).
    seed
        Sampler seed.
    parameterization
        ``auto``, ``centered`` or ``noncentered`` group offsets.
    console
        Where messages go.

    Returns
    -------
    dict
        The fit summary written to ``fit.json`` (gates, attempts).
    """
    check_seed(seed)
    if (draws is not None and draws < 100) or tune < 100 or chains < 2:
        raise BayesEffectError("the fit needs --draws >= 100, --tune >= 100 and --chains >= 2 "
                               "for the convergence gates to mean anything")
    if parameterization not in ("auto", "centered", "noncentered"):
        raise BayesEffectError("--parameterization must be auto, centered or noncentered")
    require_run_dir(run_dir)
    # Two fits of one outcome could leave one's posterior beside the other's summary, and
    # a fit during sampling would see a partial dataset: one process works on a run at a
    # time. Taken after the checks above, so bad options leave the folder untouched.
    with run_lock(run_dir, doing="fitting"):
        return _fit_locked(run_dir, outcome=outcome, draws=draws, tune=tune, chains=chains,
                           seed=seed, parameterization=parameterization, console=console)


def _fit_locked(run_dir: Path, *, outcome: str | None, draws: int | None, tune: int,
                chains: int, seed: int, parameterization: str,
                console: Console | None) -> dict[str, Any]:
    import xarray as xr

    from bayeseffect.stats.caches import generated_source_in_user_dir
    from bayeseffect.stats.design import design_from_dataset, moderators, require_both_arms
    from bayeseffect.stats.fit import SamplerSettings, fit_design
    from bayeseffect.stats.kinds import KINDS
    from bayeseffect.stats.store import save_fit
    from bayeseffect.workflow.fit_files import DATASET_HASH, dataset_sha256, require_writable

    ds = load_dataset(run_dir / DATASET)
    design = design_from_dataset(ds, outcome=outcome)
    require_both_arms(design)
    # Before sampling, not after four attempts of it.
    require_writable(run_dir)
    draws = draws or KINDS[design.kind].draws
    posterior_file, summary_file, _ = outcome_files(run_dir, design.outcome,
                                                    primary=str(ds.attrs["primary_outcome"]))
    if console is not None:
        compiling = ("the binomial kernel needs no compile" if design.kind == "binary"
                     else "compiling takes ~10-60 s")
        console.print(f"Fitting the hierarchical {design.kind} model of "
                      f"{escape(repr(design.outcome))} with "
                      f"nutpie ({chains} chains x {draws} draws; {compiling})...")

    def announce(index: int, attempt: Any, diagnostics: Any) -> None:
        if console is not None and not diagnostics.passed:
            console.print(f"[yellow]Attempt {index + 1} failed "
                          + "; ".join(f"{g.name} = {g.value:.4g}" for g in diagnostics.failures)
                          + ": retrying with safer settings[/]")

    from bayeseffect.stats.prior_check import prior_effects

    with generated_source_in_user_dir():
        result = fit_design(
            design, settings=SamplerSettings(draws=draws, tune=tune, chains=chains,
                                             target_accept=KINDS[design.kind].target_accept),
            seed=seed, parameterization=parameterization, by=("family", *moderators(design)),
            progressbar=console is not None and console.is_terminal, on_attempt=announce)
        prior = prior_effects(design, centered=result.attempts[-1].centered, seed=seed)
    summary = {"passed": result.diagnostics.passed, "gates": result.diagnostics.to_list(),
               "attempts": [{**asdict(a.settings), "centered": a.centered, "pooled": a.pooled}
                            for a in result.attempts],
               "kind": design.kind, "outcome": design.outcome,
               DATASET_HASH: dataset_sha256(ds)}
    tree = xr.DataTree.from_dict({
        "posterior": result.idata["posterior"].to_dataset(),
        "sample_stats": result.idata["sample_stats"].to_dataset(),
        "effects": result.effects,
        "prior_effects": prior,
    })
    tree.attrs = {**ds.attrs, "fit_seed": seed, "fit_summary": json.dumps(summary),
                  DATASET_HASH: summary[DATASET_HASH]}
    save_fit(tree, posterior_file)
    write_atomic(summary_file, (json.dumps(summary, indent=2) + "\n").encode())
    if console is not None and not result.diagnostics.passed:
        console.print("[bold red]DIAGNOSTICS FAILED after every retry: "
                      + "; ".join(f"{g.name} = {g.value:.4g} (limit {g.threshold})"
                                  for g in result.diagnostics.failures) + "[/]")
    return summary
