"""Estimands as posterior draws: sample and population ATE, effects by factor level.

Every estimand is an average marginal effect on the outcome's own scale, computed per
posterior draw from expected values (the inverse link of the linear predictor), never
from simulated outcomes.

- **Sample ATE**: mean over the observed prompts of E[y | instruct] - E[y | base].
- **Population ATE**: the same mean over new prompts from the same design (fresh prompt
  and item effects drawn from their estimated SDs, the population-vs-sample gap of the
  zero-sum offsets put back, families in their observed proportions). It is wider: it
  adds the uncertainty of which prompts one happens to draw -- the quantity a paired
  t-test on per-prompt (or, with a crossed factor, per-item) differences also targets.
"""

import numpy as np
import xarray as xr

from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import eta_draws, new_prompt_eta
from bayeseffect.stats.models import expected_value

#: New prompts simulated per posterior draw for the population ATE.
NEW_PROMPTS_PER_DRAW = 200
SAMPLE_VS_POPULATION = (
    "sample ATE: over these prompts; population ATE: over new prompts of the same design "
    "(wider, as it also counts which prompts happen to be drawn)"
)


def _draws(values: np.ndarray, post: xr.Dataset, extra: dict[str, list[str]] | None = None
           ) -> xr.DataArray:
    dims = ["chain", "draw", *(extra or {})]
    coords = {"chain": post["chain"].values, "draw": post["draw"].values, **(extra or {})}
    return xr.DataArray(values, dims=dims, coords=coords)


def compute_effects(post: xr.Dataset, design: Design, *, by: tuple[str, ...] = (),
                    seed: int = 0) -> xr.Dataset:
    """Compute every estimand's draws.

    Parameters
    ----------
    post
        The posterior group.
    design
        The fitted design.
    by
        Prompt factors (or ``family``) to report effects within each level of.
    seed
        Seed of the new-prompt simulation behind the population ATE.

    Returns
    -------
    xarray.Dataset
        ``sample_ate``, ``population_ate``, ``mean_base``, ``mean_instruct`` (and for
        counts ``ratio``) on ``(chain, draw)``; per factor ``effect_by_<f>`` and
        ``contrast_by_<f>`` (each level minus the first) on ``(chain, draw, <f>)``.
    """
    expected = expected_value(design, eta_draws(post, design), post)  # (c, d, prompt, arm)
    difference = expected[..., 1] - expected[..., 0]
    rng = np.random.default_rng(seed)
    new = expected_value(design, new_prompt_eta(post, design, n_new=NEW_PROMPTS_PER_DRAW,
                                                rng=rng), post)
    out: dict[str, xr.DataArray | None] = {
        "sample_ate": _draws(difference.mean(axis=-1), post),
        "population_ate": _draws((new[..., 1] - new[..., 0]).mean(axis=-1), post),
        "mean_base": _draws(expected[..., 0].mean(axis=-1), post),
        "mean_instruct": _draws(expected[..., 1].mean(axis=-1), post),
    }
    if design.kind == "count":
        out["ratio"] = _draws(expected[..., 1].mean(axis=-1) / expected[..., 0].mean(axis=-1),
                              post)
    for factor in by:
        levels_per_prompt = (np.asarray(design.families)[design.family_index]
                             if factor == "family" else design.factors[factor])
        levels = sorted(set(levels_per_prompt.tolist()), key=lambda v: (str(type(v)), v))
        by_level = np.stack([difference[..., levels_per_prompt == level].mean(axis=-1)
                             for level in levels], axis=-1)
        names = [str(level) for level in levels]
        out[f"effect_by_{factor}"] = _draws(by_level, post, {factor: names})
        out[f"contrast_by_{factor}"] = _draws(
            by_level[..., 1:] - by_level[..., :1], post,
            {f"{factor}_vs_{names[0]}": names[1:]}) if len(levels) > 1 else None
    return xr.Dataset({k: v for k, v in out.items() if v is not None})
