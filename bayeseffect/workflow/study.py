"""``--variable all``: sample every variable's prompt set once, fit, and report one table.

Each variable keeps its own run directory (resumable on its own); the study adds one row
per fitted outcome -- each variable's primary outcome, and verbosity
(``n_completion_tokens``) measured on the same responses -- in their natural units.
"""

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import xarray as xr
from rich.console import Console
from rich.markup import escape

from bayeseffect.report.study import StudyRow, plot_bias_forest, render_study, study_row
from bayeseffect.sampling.run_dir import fingerprint, write_atomic
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.variables import get_variable, variable_names
from bayeseffect.workflow.engines import GeneratorFactory, resolve_backend
from bayeseffect.workflow.spec import check_options, resolve_models, resolve_run

#: The outcome every run also fits: response length in tokens (verbosity).
VERBOSITY_OUTCOME = "n_completion_tokens"
#: Bias expression, drawn together in one forest plot: (variable, outcome, factor).
#: ``ambiguous_bias`` is not social_bias's primary outcome, so the study fits it too.
BIAS_FOREST = (("social_bias", "ambiguous_bias", "dimension"),
               ("political_stance", "position", "axis"))


def sample_all(
    *,
    pair: str | None = None,
    base: Path | None = None,
    instruct: Path | None = None,
    instruct_lora: Path | None = None,
    lora_scale: float | None = None,
    prompts: int = 40,
    replicates: int = 4,
    seed: int = 0,
    params: SamplingParams | None = None,
    own_max_tokens: bool = True,
    runs_root: Path = Path("runs"),
    fit: bool = True,
    draws: int | None = None,
    tune: int = 500,
    chains: int = 4,
    console: Console | None = None,
    servers: dict[str, str] | None = None,
    concurrency: int = 4,
    cache: Path | None = None,
    open_generator: GeneratorFactory | None = None,
) -> tuple[list[Path], list[StudyRow], Path | None]:
    """Sample every registered variable, then fit and tabulate their effects.

    Parameters
    ----------
    pair, base, instruct, instruct_lora, lora_scale
        The model pair, as for :func:`bayeseffect.workflow.sample.sample_run`; resolved
        (hashed, checked) once for every variable.
    prompts, replicates, seed, params
        Per-variable run settings: each variable gets ``prompts`` prompts, or all its
        prompt set holds when that is fewer.
    own_max_tokens
        Give each variable its own token limit (:attr:`OutcomeVariable.max_tokens`)
        instead of ``params.max_tokens``.
    runs_root
        Parent folder of the run directories and of the study summary.
    fit
        Fit and tabulate after sampling.
    draws, tune, chains
        Sampler settings of each fit (``draws``: each outcome kind's default when omitted).
    console
        Where progress and the table go.
    servers, concurrency
        OpenAI-compatible servers per arm and requests in flight (the ``openai`` backend).
    cache
        The response cache file, or ``None``.
    open_generator
        A custom generator factory (tests); llama-cpp-python when omitted.

    Returns
    -------
    tuple
        The run directories, the table rows (empty without ``fit``), and the study summary
        file (``None`` without ``fit``).
    """
    from bayeseffect.workflow.fit import fit_run
    from bayeseffect.workflow.report import report_run
    from bayeseffect.workflow.sample import execute_run

    params = params or SamplingParams()
    # The pair and the backend are the same for every variable: the files are hashed and
    # checked once, and every variable's run is resolved before any model is loaded.
    check_options(replicates=replicates, params=params, seed=seed, servers=servers,
                  concurrency=concurrency)
    models = resolve_models(pair=pair, base=base, instruct=instruct,
                            instruct_lora=instruct_lora, lora_scale=lora_scale)
    backend = resolve_backend(params=params, servers=servers, concurrency=concurrency,
                              open_generator=open_generator)
    specs = []
    for name in variable_names():
        variable = get_variable(name)
        own = replace(params, max_tokens=variable.max_tokens) if own_max_tokens else params
        n = min(prompts, variable.max_prompts or prompts)
        specs.append(resolve_run(name, models=models, backend=backend, prompts=n,
                                 replicates=replicates, seed=seed, params=own,
                                 runs_root=runs_root, cache=cache))
    run_dirs = [execute_run(spec, console=console) for spec in specs]
    if not fit:
        return run_dirs, [], None
    rows = []
    extra = {variable: outcome for variable, outcome, _ in BIAS_FOREST}
    for name, run_dir in zip(variable_names(), run_dirs, strict=True):
        primary = get_variable(name).primary_outcome
        outcomes = [None, *([extra[name]] if extra.get(name, primary) != primary else []),
                    VERBOSITY_OUTCOME]
        for outcome in outcomes:
            if console is not None:
                console.rule(escape(f"{run_dir.name}: {outcome or 'primary outcome'}"))
            summary = fit_run(run_dir, outcome=outcome, draws=draws, tune=tune, chains=chains,
                              seed=seed, console=console)
            report = report_run(run_dir, outcome=outcome)
            rows.append(study_row(report, run_dir, passed=bool(summary["passed"])))
    study_file = runs_root / f"all-{fingerprint({'runs': [str(d) for d in run_dirs]})[:10]}.json"
    cross = [r for r in run_dirs if _cross_family(r)]
    payload: dict[str, Any] = {"runs": [str(d) for d in run_dirs],
                               "rows": [asdict(r) for r in rows],
                               "cross_family": bool(cross)}
    forest = plot_bias_forest(bias_panels(dict(zip(variable_names(), run_dirs, strict=True))),
                              study_file.with_suffix(".bias_forest.png"),
                              cross_family=bool(cross))
    payload["bias_forest"] = str(forest) if forest else ""
    write_atomic(study_file, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
    if console is not None:
        render_study(rows, console=console, cross_family=bool(cross))
        console.print(escape(f"Study summary: {study_file}"
                             + (f"; bias by dimension and axis: {forest}" if forest else "")))
    return run_dirs, rows, study_file


def bias_panels(run_dirs: dict[str, Path]) -> dict[str, xr.DataArray]:
    """Read the effects by level of :data:`BIAS_FOREST`'s outcomes, for one forest plot.

    Parameters
    ----------
    run_dirs
        Variable name -> its fitted run directory.

    Returns
    -------
    dict
        Label (variable and outcome) -> effect draws on ``(chain, draw, <factor>)``, for
        each outcome of :data:`BIAS_FOREST` that was fitted; empty when none was.
    """
    from bayeseffect.sampling.run_dir import outcome_files
    from bayeseffect.stats.store import load_fit

    panels = {}
    for variable, outcome, factor in BIAS_FOREST:
        if variable not in run_dirs:
            continue
        run_dir = run_dirs[variable]
        posterior = outcome_files(run_dir, outcome,
                                  primary=get_variable(variable).primary_outcome)[0]
        if not posterior.exists():
            continue
        effects = load_fit(posterior)["effects"].to_dataset()
        if f"effect_by_{factor}" in effects:
            panels[f"{variable}\n{outcome}"] = effects[f"effect_by_{factor}"]
    return panels


def _cross_family(run_dir: Path) -> bool:
    from bayeseffect.sampling.run_dir import read_manifest

    return bool(read_manifest(run_dir)["pair_check"]["cross_family"])
