"""Render a run report as JSON: the ``summary.json`` beside its figures."""

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bayeseffect.report.contents import RunReport
from bayeseffect.sampling.run_dir import write_atomic

#: The JSON file's name in a report folder.
SUMMARY_JSON = "summary.json"


def summary_dict(report: RunReport, *, plots: Mapping[str, Path]) -> dict[str, Any]:
    """Return the report as the JSON-ready dict ``summary.json`` holds.

    Parameters
    ----------
    report
        The report.
    plots
        Figure name -> where it is (once the report folder is in place).

    Returns
    -------
    dict
        Effects, decisions, cross-checks, observed rates, diagnostics, warnings,
        provenance and the figures' paths; the keys and their order are the file's format.
    """
    estimates = report.estimates
    return {
        "agreement_note": report.checks.agreement_note,
        "variable": report.variable,
        "outcome": report.outcome,
        "kind": report.kind,
        "estimand": report.estimand,
        "sample_vs_population": report.sample_vs_population,
        "sample_ate": estimates.sample_ate.to_dict(),
        "population_ate": estimates.population_ate.to_dict(),
        **{f"mean_{arm}": s.to_dict() for arm, s in estimates.arm_means.items()},
        **({} if estimates.ratio is None else {"ratio": estimates.ratio.to_dict()}),
        "by": estimates.by,
        "effect_by": {level: s.to_dict() for level, s in estimates.effect_by.items()},
        "contrast_by": {level: s.to_dict() for level, s in estimates.contrast_by.items()},
        "contrast_reference": estimates.contrast_reference,
        "crosschecks": [c.to_dict() for c in report.checks.crosschecks],
        "observed": {arm: dict(rates) for arm, rates in report.observed.items()},
        "design": asdict(report.design),
        "diagnostics": {"passed": report.diagnostics.passed,
                        "gates": list(report.diagnostics.gates),
                        "attempts": list(report.diagnostics.attempts)},
        "cross_family": report.cross_family,
        "cross_family_warning": report.cross_family_warning,
        "provenance": dict(report.provenance),
        "plots": {name: str(path) for name, path in plots.items()},
    }


def write_summary(report: RunReport, folder: Path, *, plots: Mapping[str, Path]
                  ) -> dict[str, Any]:
    """Write ``summary.json`` into ``folder`` (atomically).

    Parameters
    ----------
    report
        The report.
    folder
        Where the file goes.
    plots
        Figure name -> its final path, listed in the file.

    Returns
    -------
    dict
        What the file holds, as :func:`summary_dict` returns it.
    """
    summary = summary_dict(report, plots=plots)
    text = json.dumps(summary, indent=2, default=str) + "\n"
    write_atomic(folder / SUMMARY_JSON, text.encode("utf-8"))
    return summary
