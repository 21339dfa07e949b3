"""Read a run's results back: its dataset, a fitted outcome's posterior, its report.

Each reader takes the run directory that :func:`bayeseffect.workflow.sample.sample_run`
returned (or that ``bayeseffect sample`` printed) and finds the outcome's files by the
same rule as ``fit`` and ``report`` (:func:`bayeseffect.sampling.run_dir.outcome_files`).
"""

import json
from pathlib import Path
from typing import Any

import xarray as xr

from bayeseffect.data import dataset as dataset_files
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.run_dir import DATASET, outcome_files, require_run_dir
from bayeseffect.workflow.fit_files import load_posterior as _load_checked_posterior


def load_dataset(run_dir: Path) -> xr.Dataset:
    """Read a run's ``dataset.nc``: every response, its scores and the run's provenance.

    Parameters
    ----------
    run_dir
        A run directory (or the ``dataset.nc`` file itself).

    Returns
    -------
    xarray.Dataset
        Dims ``arm`` x ``prompt`` x ``replicate``; provenance in ``attrs``.

    Raises
    ------
    BayesEffectError
        When there is no run directory or no dataset in it yet.
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        return dataset_files.load_dataset(run_dir)
    require_run_dir(run_dir)
    if not (run_dir / DATASET).exists():
        raise BayesEffectError(f"{run_dir} has no {DATASET} yet; run `bayeseffect sample`")
    return dataset_files.load_dataset(run_dir / DATASET)


def _outcome_files(run_dir: Path, outcome: str | None
                   ) -> tuple[xr.Dataset, str, str, Path, Path]:
    """Find the dataset, the outcome, its command-line flag, posterior and report folder."""
    ds = load_dataset(run_dir)
    primary = str(ds.attrs["primary_outcome"])
    chosen = outcome or primary
    flag = "" if chosen == primary else f" --outcome {chosen}"
    posterior, _, report_dir = outcome_files(run_dir, chosen, primary=primary)
    return ds, chosen, flag, posterior, report_dir


def load_posterior(run_dir: Path, *, outcome: str | None = None) -> xr.DataTree:
    """Read a fitted outcome's posterior, checked to be fitted on the run's dataset.

    Parameters
    ----------
    run_dir
        A fitted run directory.
    outcome
        The fitted outcome; the primary outcome when omitted.

    Returns
    -------
    xarray.DataTree
        The fit: ``posterior``, ``effects`` (``sample_ate``, ``population_ate``, effects
        by factor level), ``sample_stats`` and the other groups ``fit`` saved.

    Raises
    ------
    BayesEffectError
        When the outcome was not fitted, or was fitted on an earlier dataset.
    """
    run_dir = Path(run_dir)
    ds, chosen, flag, posterior, _ = _outcome_files(run_dir, outcome)
    if not posterior.exists():
        raise BayesEffectError(f"{run_dir} has no posterior of {chosen!r} yet; run "
                               f"`bayeseffect fit {run_dir}{flag}`")
    return _load_checked_posterior(posterior, ds, refit=f"bayeseffect fit {run_dir}{flag}")


def load_report(run_dir: Path, *, outcome: str | None = None) -> dict[str, Any]:
    """Read the ``summary.json`` that ``report`` wrote for a fitted outcome.

    Parameters
    ----------
    run_dir
        A reported run directory.
    outcome
        The reported outcome; the primary outcome when omitted.

    Returns
    -------
    dict
        The report: ``sample_ate`` and ``population_ate`` (``mean``, ``hdi_low``,
        ``hdi_high``, ``p_positive``, ``verdict``), effects by factor, cross-checks,
        diagnostics, provenance and the plot files.

    Raises
    ------
    BayesEffectError
        When the outcome has not been reported yet, or its summary cannot be read.
    """
    run_dir = Path(run_dir)
    _, chosen, flag, _, report_dir = _outcome_files(run_dir, outcome)
    summary = report_dir / "summary.json"
    if not summary.exists():
        raise BayesEffectError(f"{run_dir} has no report of {chosen!r} yet; run "
                               f"`bayeseffect report {run_dir}{flag}`")
    try:
        report: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BayesEffectError(f"cannot read {summary}: {exc}") from exc
    return report
