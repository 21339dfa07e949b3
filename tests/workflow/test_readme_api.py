"""README's "Python API" example runs as written, at tiny scale, so it cannot rot.

The example's code block is read from README.md and executed with its ``bayeseffect``
replaced by the real package whose ``sample_run`` and ``fit_run`` get tiny settings added (the
tiny GGUF pair, the fake generator, short chains); every other name it uses is the real
public API, and every call keeps the README's own arguments.
"""

import contextlib
import functools
import io
import re
from pathlib import Path

import pytest
from conftest import FakeFactory

import bayeseffect

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the report's figures (matplotlib warns past 20 open ones)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README's Python API section has no python code block"
    return match.group(1)


class _TinyBayeseffect:
    """The public API, with tiny settings added to ``sample_run`` and ``fit_run``."""

    def __init__(self, tiny_pair, runs_root: Path) -> None:
        self.sample_run = functools.partial(bayeseffect.sample_run, base=tiny_pair[0],
                                            instruct=tiny_pair[1], prompts=6, replicates=2,
                                            runs_root=runs_root, open_generator=FakeFactory())
        self.fit_run = functools.partial(bayeseffect.fit_run, draws=200, tune=200, chains=2)

    def __getattr__(self, name: str):
        assert name in bayeseffect.__all__, f"README uses bayeseffect.{name}, not public"
        return getattr(bayeseffect, name)


def test_the_readme_python_example_runs(tiny_pair, tmp_path):
    code = _example()
    # The same steps as the quick start's `bayeseffect sample --variable logic`.
    assert 'bayeseffect.sample_run("logic")' in code
    for step in ("fit_run", "report_run", "load_report"):
        assert f"bayeseffect.{step}(run)" in code
    code = code.replace("import bayeseffect\n", "")
    namespace = {"bayeseffect": _TinyBayeseffect(tiny_pair, tmp_path / "runs")}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), namespace)  # our own README
    run = namespace["run"]
    assert run.parent == tmp_path / "runs" and run.name.startswith("logic-")
    assert (run / "posterior.nc").exists() and (run / "report" / "summary.json").exists()
    ate = namespace["ate"]
    assert ate["verdict"] in printed.getvalue() and f"{ate['mean']:+.3f}" in printed.getvalue()
    # The loaders read what the example wrote.
    assert int(bayeseffect.load_dataset(run)["completed"].sum()) == 2 * 6 * 2
    assert "sample_ate" in bayeseffect.load_posterior(run)["effects"]


def test_the_public_api_is_the_workflow(tiny_pair, tmp_path):
    # Importing the report subpackage must not shadow a public name.
    import bayeseffect.report.plots
    from bayeseffect.workflow import fit, plan, report, results, sample, spec, study

    assert bayeseffect.sample_run is sample.sample_run
    assert bayeseffect.resolve_run is spec.resolve_run
    assert bayeseffect.execute_run is sample.execute_run
    assert bayeseffect.fit_run is fit.fit_run
    assert bayeseffect.report_run is report.report_run
    assert bayeseffect.plan_run is plan.plan_run
    assert bayeseffect.sample_all is study.sample_all
    assert bayeseffect.load_dataset is results.load_dataset
    assert set(bayeseffect.__all__) <= set(dir(bayeseffect))
    import importlib.metadata

    assert bayeseffect.__version__ == importlib.metadata.version("bayeseffect")
    run = bayeseffect.sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                                 replicates=1, out=tmp_path / "run",
                                 open_generator=FakeFactory())
    with pytest.raises(bayeseffect.BayesEffectError, match="no posterior of 'correct' yet"):
        bayeseffect.load_posterior(run)
    with pytest.raises(bayeseffect.BayesEffectError,
                       match=r"no report of 'n_completion_tokens' yet.*--outcome"):
        bayeseffect.load_report(run, outcome="n_completion_tokens")
    with pytest.raises(bayeseffect.BayesEffectError, match="does not exist"):
        bayeseffect.load_dataset(tmp_path / "nowhere")
