import numpy as np
import pytest
from scipy import stats

from bayeseffect.stats.crosschecks import (
    cluster_bootstrap,
    clustered_mcnemar,
    paired_t,
    per_prompt_means,
)
from bayeseffect.stats.decision import verdict
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.simulate import simulate


@pytest.mark.parametrize(("low", "high", "rope", "expected"), [
    (0.05, 0.2, 0.02, "effect"),
    (-0.3, -0.05, 0.02, "effect"),
    (-0.01, 0.015, 0.02, "practically zero"),
    (-0.01, 0.05, 0.02, "undecided"),
    (-0.05, 0.05, 0.0, "undecided"),
])
def test_rope_verdict(low, high, rope, expected):
    assert verdict(low, high, rope) == expected


def test_paired_t_matches_scipy_and_bootstrap_agrees():
    design = design_from_dataset(simulate("binary", n_prompts=200, replicates=3, seed=1).dataset)
    means = per_prompt_means(design)
    d = means[:, 1] - means[:, 0]
    result = paired_t(design, prob=0.95)
    reference = stats.ttest_rel(means[:, 1], means[:, 0])
    assert result.estimate == pytest.approx(d.mean())
    assert result.p_value == pytest.approx(reference.pvalue)
    boot = cluster_bootstrap(design, prob=0.95, seed=0)
    assert boot.low == pytest.approx(result.low, abs=0.02)
    assert boot.high == pytest.approx(result.high, abs=0.02)


def test_clustered_mcnemar_detects_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    base = (rng.random((100, 4)) < 0.4).astype(float)
    better = (rng.random((100, 4)) < 0.7).astype(float)
    same = (rng.random((100, 4)) < 0.4).astype(float)
    assert clustered_mcnemar(np.stack([base, better])).p_value < 1e-6
    assert clustered_mcnemar(np.stack([base, same])).p_value > 0.01
    assert clustered_mcnemar(np.stack([base, base])).p_value == 1.0


def test_agreement_note_only_when_widths_differ_a_lot():
    from bayeseffect.report.contents import agreement_note

    assert agreement_note(0.10, 0.11) == ""
    assert "0.44 times as wide" in agreement_note(0.044, 0.10)
    assert "2.00 times as wide" in agreement_note(0.2, 0.1)


def test_crossed_designs_are_checked_over_items_not_prompts():
    sim = simulate("continuous", n_prompts=60, replicates=3, n_families=6, n_items=10,
                   sd_item_slope=1.0, seed=2)
    crossed = design_from_dataset(sim.dataset)
    flat = design_from_dataset(sim.dataset, crossed="")
    by_item, by_prompt = paired_t(crossed, prob=0.9), paired_t(flat, prob=0.9)
    assert by_item.method == "paired t on per-item differences"
    assert by_prompt.method == "paired t on per-prompt differences"
    means = per_prompt_means(crossed)
    d = means[:, 1] - means[:, 0]
    item_means = [d[crossed.item_index == i].mean() for i in range(10)]
    expected = stats.ttest_1samp(item_means, 0.0).confidence_interval(0.9)
    assert (by_item.low, by_item.high) == pytest.approx((expected.low, expected.high))
    # Ten statements say less than sixty prompts would if they were independent.
    assert by_item.high - by_item.low > 1.5 * (by_prompt.high - by_prompt.low)
    assert cluster_bootstrap(crossed, prob=0.9).method == "cluster bootstrap over items"
