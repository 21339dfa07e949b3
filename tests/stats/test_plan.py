import pytest
import xarray as xr
from click.testing import CliRunner

from bayeseffect.cli import main
from bayeseffect.errors import BayesEffectError
from bayeseffect.stats.decision import summarize_draws
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.fit import fit_design
from bayeseffect.stats.plan import Assumptions, plan_study
from bayeseffect.stats.simulate import simulate


def test_width_shrinks_with_prompts_and_replicates():
    rows = plan_study(Assumptions(), prompts=(50, 200), replicates=(1, 4), seed=1)
    width = {(r.prompts, r.replicates): r.expected_width for r in rows}
    assert width[(200, 4)] < width[(200, 1)] < width[(50, 1)]
    assert width[(200, 4)] < width[(50, 4)]
    assert width[(50, 1)] / width[(200, 1)] == pytest.approx(2.0, rel=0.15)


def test_planned_width_matches_a_real_fit():
    assumptions = Assumptions(beta=0.5)
    sim = simulate("binary", n_prompts=120, replicates=4, beta=0.5, seed=21)
    result = fit_design(design_from_dataset(sim.dataset), seed=3)
    population = summarize_draws(result.effects["population_ate"])
    planned = plan_study(assumptions, prompts=(120,), replicates=(4,), seed=0)[0]
    assert planned.expected_width == pytest.approx(population.hdi_high - population.hdi_low,
                                                   rel=0.3)


def test_bad_grid_is_refused():
    with pytest.raises(BayesEffectError, match="at least 2 prompts"):
        plan_study(Assumptions(), prompts=(1,), replicates=(1,))


def test_plan_command_marks_the_cheapest_design_reaching_the_target():
    result = CliRunner().invoke(main, ["plan", "--effect", "0.4", "--prompts", "50,400",
                                       "--replicates", "2", "--target-width", "0.12"])
    assert result.exit_code == 0, result.output
    assert "reaching width 0.12: 400 prompts x 2 replicates" in result.output
    assert "unknown" in result.output
    bad = CliRunner().invoke(main, ["plan", "--prompts", "a,b"])
    assert bad.exit_code == 2 and "comma-separated integers" in bad.stderr


def test_planned_width_matches_a_real_continuous_fit():
    from bayeseffect.stats.plan import pilot_assumptions

    sim = simulate("continuous", n_prompts=60, replicates=3, beta=0.4, seed=5)
    design = design_from_dataset(sim.dataset)
    result = fit_design(design, seed=3)
    population = summarize_draws(result.effects["population_ate"])
    fit = xr.DataTree.from_dict({"posterior": result.idata["posterior"].to_dataset()})
    assumptions = pilot_assumptions(fit, design)
    assert assumptions.kind == "continuous"
    planned = plan_study(assumptions, prompts=(60,), replicates=(3,), seed=0)[0]
    assert planned.expected_width == pytest.approx(population.hdi_high - population.hdi_low,
                                                   rel=0.35)


@pytest.mark.parametrize("kind", ["count", "ordinal"])
def test_planned_width_matches_paired_t_on_simulated_studies(kind):
    from bayeseffect.stats.crosschecks import paired_t
    from bayeseffect.stats.kinds import KINDS

    # simulate() and the plan share the model's arm coding (-1/2, +1/2): the same alpha.
    count, ordinal = KINDS["count"].simulated, KINDS["ordinal"].simulated
    assumptions = Assumptions(kind=kind, alpha=0.0, beta=0.4, scale=(count.mean, 1.0),
                              dispersion=count.dispersion, upper=64,
                              cutpoints=tuple(ordinal.cutpoints))
    widths = []
    for seed in range(20):
        sim = simulate(kind, n_prompts=60, replicates=3, beta=0.4, seed=seed)
        check = paired_t(design_from_dataset(sim.dataset), prob=0.94)
        widths.append(check.high - check.low)
    planned = plan_study(assumptions, prompts=(60,), replicates=(3,), seed=0)[0]
    assert planned.expected_width == pytest.approx(sum(widths) / len(widths), rel=0.2)
