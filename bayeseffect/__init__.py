"""bayeseffect: the total causal effect of instruction tuning, estimated with PyMC.

The Python API is the command line's steps, as functions::

    import bayeseffect

    run = bayeseffect.sample_run("logic")      # sample both arms; returns the run directory
    bayeseffect.fit_run(run)                   # fit the hierarchical model: posterior.nc
    bayeseffect.report_run(run)                # summary.json and the plots
    effect = bayeseffect.load_report(run)["sample_ate"]

Each name is the workflow function it stands for (``bayeseffect.fit_run`` *is*
:func:`bayeseffect.workflow.fit.fit_run`). Plain verbs (``report``) would be shadowed by
the subpackages of the same name (``bayeseffect.report``) once those are imported.

============================  =====================================================
``sample_run``                sample one variable (``bayeseffect sample``)
``resolve_run``               validate a run without running it (:mod:`.workflow.spec`)
``execute_run``               sample a resolved :class:`RunSpec`
``fit_run``                   ``bayeseffect fit``
``report_run``                ``bayeseffect report``
``plan_run``                  ``bayeseffect plan``
``sample_all``                every variable, fitted, one table (``--variable all``)
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
    from bayeseffect.workflow.fit import fit_run
    from bayeseffect.workflow.plan import plan_run
    from bayeseffect.workflow.report import report_run
    from bayeseffect.workflow.results import load_dataset, load_posterior, load_report
    from bayeseffect.workflow.sample import execute_run, sample_run
    from bayeseffect.workflow.spec import RunSpec, resolve_run
    from bayeseffect.workflow.study import sample_all

#: Public name -> (module, attribute), imported on first access.
_EXPORTS: dict[str, tuple[str, str]] = {
    "sample_run": ("bayeseffect.workflow.sample", "sample_run"),
    "resolve_run": ("bayeseffect.workflow.spec", "resolve_run"),
    "execute_run": ("bayeseffect.workflow.sample", "execute_run"),
    "RunSpec": ("bayeseffect.workflow.spec", "RunSpec"),
    "fit_run": ("bayeseffect.workflow.fit", "fit_run"),
    "report_run": ("bayeseffect.workflow.report", "report_run"),
    "plan_run": ("bayeseffect.workflow.plan", "plan_run"),
    "sample_all": ("bayeseffect.workflow.study", "sample_all"),
    "load_dataset": ("bayeseffect.workflow.results", "load_dataset"),
    "load_posterior": ("bayeseffect.workflow.results", "load_posterior"),
    "load_report": ("bayeseffect.workflow.results", "load_report"),
    "SamplingParams": ("bayeseffect.sampling.types", "SamplingParams"),
    "BayesEffectError": ("bayeseffect.errors", "BayesEffectError"),
}

__all__ = ["BayesEffectError", "RunSpec", "SamplingParams", "__version__", "execute_run",
           "fit_run", "load_dataset", "load_posterior", "load_report", "plan_run",
           "report_run", "resolve_run", "sample_all", "sample_run"]


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
