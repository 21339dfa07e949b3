"""The one table of outcome kinds: every variable's kinds are in it, and its entries agree."""

import subprocess
import sys

import numpy as np
import pytest

from bayeseffect.stats.diagnostics import CHECKS, Diagnostics, Gate
from bayeseffect.stats.kinds import KINDS, OutcomeParameters, get_kind
from bayeseffect.variables.base import VERBOSITY
from bayeseffect.variables.registry import get_variable, variable_names


def test_every_registered_variable_fits_kinds_of_the_table():
    for name in variable_names():
        for outcome, (kind, _) in get_variable(name).fit_kinds().items():
            assert kind in KINDS, (name, outcome, kind)
    assert VERBOSITY[0] in KINDS


def test_the_sampler_settings_and_priors_are_the_ones_fits_always_used():
    settings = {name: (kind.draws, kind.target_accept) for name, kind in KINDS.items()}
    assert settings == {"binary": (2000, 0.9), "continuous": (1000, 0.95),
                        "count": (1000, 0.99), "ordinal": (1000, 0.95)}
    priors = {name: (kind.priors.intercept.params["sigma"], kind.priors.effect.params["sigma"],
                     kind.priors.group_sd.params["sigma"]) for name, kind in KINDS.items()}
    assert priors == {"binary": (1.5, 1.0, 1.0), "continuous": (1.0, 1.0, 1.0),
                      "count": (1.0, 0.5, 1.0), "ordinal": (1.5, 1.0, 1.0)}
    assert [name for name, kind in KINDS.items() if not kind.intercept] == ["ordinal"]


def test_the_table_imports_without_numpy_scipy_or_pymc():
    # The command line reads it for `plan --kind` before anything heavy is needed.
    code = ("import sys, bayeseffect.stats.kinds\n"
            "print(','.join(m for m in ('numpy', 'scipy', 'pymc', 'xarray') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_an_unknown_kind_is_a_one_line_error_naming_the_kinds():
    from bayeseffect.errors import BayesEffectError

    with pytest.raises(BayesEffectError, match="binary, continuous, count, ordinal"):
        get_kind("poisson")


@pytest.mark.parametrize("name", list(KINDS))
def test_each_simulator_averages_to_its_expected_value(name):
    kind = KINDS[name]
    parameters = OutcomeParameters(mean=10.0, sd=2.0, nu=6.0, sigma=(0.8, 0.5),
                                   dispersion=4.0, upper=60)
    eta = np.array([-0.8, 0.0, 0.7])
    n = 40_000
    draws = kind.simulate(np.broadcast_to(eta[:, None], (3, n)), parameters,
                          np.ones((3, n), dtype=np.int64), 1, np.random.default_rng(0))
    expected = kind.expected(eta, parameters)
    assert draws.mean(axis=1) == pytest.approx(expected, rel=0.03)


def test_gates_are_registered_checks_with_the_fit_summary_names_and_thresholds():
    assert {name: (check.threshold, check.at_most) for name, check in CHECKS.items()} == {
        "max R-hat": (1.01, True), "min bulk ESS": (400.0, False),
        "min tail ESS": (400.0, False), "divergences": (0.0, True),
        "min E-BFMI": (0.3, False), "MCSE/SD of the effect": (0.1, True)}
    rhat = CHECKS["max R-hat"]
    assert rhat.judge(1.02) == Gate("max R-hat", 1.02, 1.01, False)
    assert not rhat.passes(float("nan")) and not CHECKS["min bulk ESS"].passes(float("nan"))
    diagnostics = Diagnostics(gates=(rhat.judge(1.0), CHECKS["divergences"].judge(2.0)))
    assert [gate.check for gate in diagnostics.failures] == [CHECKS["divergences"]]
    assert diagnostics.to_list()[1] == {"name": "divergences", "value": 2.0, "threshold": 0.0,
                                        "passed": False}
