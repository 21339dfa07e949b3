"""Plan a study: interval widths and costs of designs, from a pilot run or assumptions."""

from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from bayeseffect.common.validation import (
    check_finite,
    check_nonnegative,
    check_positive,
    check_probability_mass,
    check_seed,
)
from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.run_dir import (
    DATASET,
    JOURNAL,
    POSTERIOR,
    require_run_dir,
)


def plan_run(*, pilot: Path | None = None, effect: float | None = None, kind: str = "binary",
             prompts: tuple[int, ...] = (50, 100, 200, 400, 800),
             replicates: tuple[int, ...] = (1, 2, 4, 8), target_width: float | None = None,
             hdi_prob: float = 0.94, rope: float = 0.0, seed: int = 0,
             console: Console | None = None) -> dict[str, Any]:
    """Plan a study of any outcome kind from a pilot run or from assumptions.

    Parameters
    ----------
    pilot
        A fitted run: its posterior means supply the effect, variance components and the
        kind's own parameters, and its journal the measured seconds per response.
    effect
        Assumed mean arm effect on the linear-predictor scale (logit for binary, log for
        counts, standard deviations for continuous, cumulative logit for ordinal);
        overrides the pilot's.
    kind
        Outcome kind assumed without a pilot (a pilot brings its own).
    prompts, replicates
        The grid of designs.
    target_width
        Interval width wanted; the cheapest design reaching it is marked.
    hdi_prob
        Interval mass.
    rope
        ROPE half-width for P(decisive verdict).
    seed
        Simulation seed.
    console
        Where the table is printed.

    Returns
    -------
    dict
        The assumptions, the rows and the recommended design.
    """
    from bayeseffect.report.plan import StudyPlan, print_plan
    from bayeseffect.stats.caches import generated_source_in_user_dir
    from bayeseffect.stats.design import design_from_dataset
    from bayeseffect.stats.kinds import KINDS
    from bayeseffect.stats.plan import Assumptions, pilot_assumptions, plan_study
    from bayeseffect.workflow.fit_files import load_posterior

    if kind not in KINDS:
        raise BayesEffectError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    check_seed(seed)
    check_probability_mass(hdi_prob, option="--hdi-prob")
    check_nonnegative(rope, option="--rope")
    if effect is not None:
        check_finite(effect, option="--effect")
    if target_width is not None:
        check_positive(target_width, option="--target-width")
    assumptions = Assumptions(kind=kind)
    seconds = None
    if pilot is not None:
        require_run_dir(pilot)
        if not (pilot / POSTERIOR).exists():
            raise BayesEffectError(f"pilot {pilot} has no posterior; run `bayeseffect fit {pilot}`")
        ds = load_dataset(pilot / DATASET)
        fit = load_posterior(pilot / POSTERIOR, ds, refit=f"bayeseffect fit {pilot}")
        assumptions = pilot_assumptions(fit, design_from_dataset(ds))
        records = read_journal(pilot / JOURNAL)
        if records:
            seconds = sum(r.seconds for r in records.values()) / len(records)
    if effect is not None:
        assumptions = Assumptions(**{**asdict(assumptions), "beta": effect})
    with generated_source_in_user_dir():
        rows = plan_study(assumptions, prompts=prompts, replicates=replicates, prob=hdi_prob,
                          rope=rope, seconds_per_response=seconds, seed=seed)
    chosen = next((r for r in rows if target_width is not None
                   and r.expected_width <= target_width), None)
    plan = StudyPlan(assumptions=assumptions, rows=tuple(rows), recommended=chosen,
                     hdi_prob=hdi_prob, rope=rope, target_width=target_width,
                     seconds_per_response=seconds, pilot=pilot)
    if console is not None:
        print_plan(plan, console=console)
    return plan.to_dict()
