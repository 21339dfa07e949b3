"""Frequentist cross-checks on the same data: paired t, cluster bootstrap, clustered McNemar.

Printed beside the posterior so that users coming from lm-evaluation-harness see the
estimates they know. With fewer than a few hundred prompts their CLT-based intervals run
too narrow (Bowyer et al. 2025); the Bayesian interval is the one to read.
"""

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from bayeseffect.stats.design import Design


@dataclass(frozen=True)
class CrossCheck:
    """One frequentist estimate of the sample ATE.

    Attributes
    ----------
    method
        Its name.
    estimate
        Point estimate (outcome units).
    low, high
        Interval bounds (NaN when the method gives a test only).
    p_value
        Two-sided p-value of "no effect" (NaN when the method gives an interval only).
    """

    method: str
    estimate: float
    low: float
    high: float
    p_value: float

    def to_dict(self) -> dict[str, float | str]:
        """Return a JSON-ready dict."""
        return asdict(self)


def per_prompt_means(design: Design) -> np.ndarray:
    """``(prompt, arm)`` mean outcome per cell; NaN where a cell has no response."""
    n_prompts = len(design.prompts)
    totals = np.zeros((n_prompts, 2))
    counts = np.zeros((n_prompts, 2))
    weights = design.trials if design.trials is not None else np.ones(design.y.size)
    np.add.at(totals, (design.prompt_index, design.arm_index), design.y)
    np.add.at(counts, (design.prompt_index, design.arm_index), weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        return totals / counts


def unit_differences(design: Design) -> tuple[np.ndarray, str]:
    """Independent units' mean differences and the units' name.

    The units are the prompts, or with a crossed factor its levels (statements, facts):
    prompts that share a statement are not independent, so their differences are
    averaged first, as the Bayesian population ATE treats them.
    """
    means = per_prompt_means(design)
    both = np.isfinite(means).all(axis=1)
    d = means[:, 1] - means[:, 0]
    if len(design.items) < 2:
        return d[both], "prompt"
    items = design.item_index[both]
    totals = np.bincount(items, weights=d[both], minlength=len(design.items))
    counts = np.bincount(items, minlength=len(design.items))
    return totals[counts > 0] / counts[counts > 0], design.crossed


def paired_t(design: Design, *, prob: float) -> CrossCheck:
    """Paired t interval on per-prompt (or per-item) differences of cell means."""
    d, unit = unit_differences(design)
    se = d.std(ddof=1) / np.sqrt(d.size)
    half = stats.t.ppf(0.5 + prob / 2, d.size - 1) * se
    p = 2 * stats.t.sf(abs(d.mean()) / se, d.size - 1) if se > 0 else float("nan")
    return CrossCheck(f"paired t on per-{unit} differences", float(d.mean()),
                      float(d.mean() - half), float(d.mean() + half), float(p))


def cluster_bootstrap(design: Design, *, prob: float, n_boot: int = 4000,
                      seed: int = 0) -> CrossCheck:
    """Percentile interval of the mean difference, resampling whole prompts (or items)."""
    d, unit = unit_differences(design)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    low, high = np.quantile(boots, [0.5 - prob / 2, 0.5 + prob / 2])
    return CrossCheck(f"cluster bootstrap over {unit}s", float(d.mean()), float(low),
                      float(high), float("nan"))


def clustered_mcnemar(correct: np.ndarray) -> CrossCheck:
    """McNemar's test for clustered paired binary data (Durkalski et al. 2003).

    Parameters
    ----------
    correct
        ``(arm, prompt, replicate)`` 0/1 outcomes with NaN for missing; replicate r of
        the base arm is paired with replicate r of the instruct arm.

    Returns
    -------
    CrossCheck
        The difference in proportions over complete pairs and the test's p-value.
    """
    base, instruct = correct[0], correct[1]
    paired = np.isfinite(base) & np.isfinite(instruct)
    b = ((base == 1) & (instruct == 0) & paired).sum(axis=1)
    c = ((base == 0) & (instruct == 1) & paired).sum(axis=1)
    n = paired.sum()
    denominator = float(((b - c) ** 2).sum())
    statistic = (b.sum() - c.sum()) ** 2 / denominator if denominator > 0 else 0.0
    return CrossCheck("clustered McNemar (Durkalski 2003)", float((c.sum() - b.sum()) / n)
                      if n else float("nan"), float("nan"), float("nan"),
                      float(stats.chi2.sf(statistic, 1)) if denominator > 0 else 1.0)
