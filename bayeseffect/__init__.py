"""bayeseffect: the total causal effect of instruction tuning, estimated with PyMC.

The Python API is the command line's steps, as functions::

    import bayeseffect

    run = bayeseffect.sample("logic")          # sample both arms; returns the run directory
    bayeseffect.fit(run)                       # fit the hierarchical model: posterior.nc
    bayeseffect.report(run)                    # summary.json and the plots
    effect = bayeseffect.load_report(run)["sample_ate"]

============================  =====================================================
``sample``                    :func:`bayeseffect.workflow.sample.sample_run`
``resolve_run``               validate a run without running it (:mod:`.workflow.spec`)
``execute_run``               run a resolved :class:`RunSpec`
``fit``                       :func:`bayeseffect.workflow.fit.fit_run`
``report``                    :func:`bayeseffect.workflow.report.report_run`
``plan``                      :func:`bayeseffect.workflow.plan.plan_run`
``study``                     every variable at once (:func:`.workflow.study.sample_all`)
``load_dataset``              a run's responses and scores (:mod:`.workflow.results`)
``load_posterior``            a fitted outcome's posterior
``load_report``               a reported outcome's ``summary.json``
``SamplingParams``            sampling settings (``params=``)
``BayesEffectError``          every error about the user's input, in one line
============================  =====================================================

The names are imported on first use, so ``import bayeseffect`` (which the command line
does) loads neither PyMC nor llama-cpp-python; ``__version__`` is read from the installed
package's metadata, also on first use (``importlib.metadata`` alone takes a third of a
second to import on a slow machine).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from bayeseffect.errors import BayesEffectError
    from bayeseffect.sampling.types import SamplingParams
    from bayeseffect.workflow.fit import fit_run as fit
    from bayeseffect.workflow.plan import plan_run as plan
    from bayeseffect.workflow.report import report_run as report
    from bayeseffect.workflow.results import load_dataset, load_posterior, load_report
    from bayeseffect.workflow.sample import execute_run
    from bayeseffect.workflow.sample import sample_run as sample
    from bayeseffect.workflow.spec import RunSpec, resolve_run
    from bayeseffect.workflow.study import sample_all as study

#: Public name -> (module, attribute), imported on first access.
_EXPORTS: dict[str, tuple[str, str]] = {
    "sample": ("bayeseffect.workflow.sample", "sample_run"),
    "resolve_run": ("bayeseffect.workflow.spec", "resolve_run"),
    "execute_run": ("bayeseffect.workflow.sample", "execute_run"),
    "RunSpec": ("bayeseffect.workflow.spec", "RunSpec"),
    "fit": ("bayeseffect.workflow.fit", "fit_run"),
    "report": ("bayeseffect.workflow.report", "report_run"),
    "plan": ("bayeseffect.workflow.plan", "plan_run"),
    "study": ("bayeseffect.workflow.study", "sample_all"),
    "load_dataset": ("bayeseffect.workflow.results", "load_dataset"),
    "load_posterior": ("bayeseffect.workflow.results", "load_posterior"),
    "load_report": ("bayeseffect.workflow.results", "load_report"),
    "SamplingParams": ("bayeseffect.sampling.types", "SamplingParams"),
    "BayesEffectError": ("bayeseffect.errors", "BayesEffectError"),
}

__all__ = ["BayesEffectError", "RunSpec", "SamplingParams", "__version__", "execute_run",
           "fit", "load_dataset", "load_posterior", "load_report", "plan", "report",
           "resolve_run", "sample", "study"]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562), then keep it in the module."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("bayeseffect")
        except PackageNotFoundError:  # a source tree on sys.path, never installed
            found = "0+unknown"
        globals()["__version__"] = found
        return found
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bayeseffect' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public API beside the module's own names."""
    return sorted({*globals(), *__all__})
