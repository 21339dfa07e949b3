"""The study design read from a dataset: prompts, families, factors, and the outcome data."""

import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from bayeseffect.errors import BayesEffectError
from bayeseffect.stats.kinds import get_kind


@dataclass(frozen=True)
class Design:
    """What a fit needs from a dataset, as plain arrays.

    Attributes
    ----------
    kind
        Outcome kind: a key of :data:`bayeseffect.stats.kinds.KINDS`.
    outcome
        The outcome variable's name.
    prompts, families
        Prompt ids and family ids kept (prompts without any completed response are dropped).
    family_index
        ``(prompt,)`` index into ``families``.
    factors
        Factor name -> ``(prompt,)`` levels, for effects by factor level.
    y
        ``(n,)`` observed outcomes of completed responses (binary: per-cell successes).
    prompt_index, arm_index
        ``(n,)`` prompt and arm (0 base, 1 instruct) of each observation.
    trials
        Binary only: ``(n,)`` responses per cell.
    upper
        Count only: the censoring limit (max tokens), else ``None``.
    n_levels
        Ordinal only: number of ordered levels (outcomes are 1..n_levels).
    meta
        Continuous and count: the outcome's mean and SD (the models' standardization).
    crossed
        Name of the factor crossed with the families (a statement asked in every
        wording, a fact under every premise), or ``""`` when there is none.
    items, item_index
        Levels of the crossed factor and the ``(prompt,)`` index into them (empty when
        there is no crossed factor).
    """

    kind: str
    outcome: str
    prompts: tuple[str, ...]
    families: tuple[str, ...]
    family_index: np.ndarray
    factors: dict[str, np.ndarray]
    y: np.ndarray
    prompt_index: np.ndarray
    arm_index: np.ndarray
    trials: np.ndarray | None = None
    upper: int | None = None
    n_levels: int | None = None
    meta: dict[str, float] = field(default_factory=dict)
    crossed: str = ""
    items: tuple[str, ...] = ()
    item_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def responses_per_cell(self) -> float:
        """Mean completed responses per prompt x arm cell."""
        total = float(self.trials.sum()) if self.trials is not None else float(self.y.size)
        return total / (2 * len(self.prompts))


def fittable_outcomes(ds: xr.Dataset) -> dict[str, tuple[str, float]]:
    """Return the dataset's fittable outcomes, ``{outcome: (kind, rope)}``, primary first."""
    if "outcome_kinds" in ds.attrs:
        return {k: (str(v[0]), float(v[1]))
                for k, v in json.loads(str(ds.attrs["outcome_kinds"])).items()}
    return {str(ds.attrs["primary_outcome"]): (str(ds.attrs["outcome_kind"]), 0.0)}


def outcome_kind(ds: xr.Dataset, outcome: str) -> str:
    """Return the likelihood family of ``outcome``; an error names the fittable outcomes."""
    kinds = fittable_outcomes(ds)
    if outcome not in kinds:
        raise BayesEffectError(f"outcome {outcome!r} cannot be fitted; fittable outcomes of "
                               f"this run: {', '.join(kinds)}")
    return kinds[outcome][0]


def design_from_dataset(ds: xr.Dataset, *, outcome: str | None = None, kind: str | None = None,
                        upper: int | None = None, crossed: str | None = None) -> Design:
    """Extract the design of one outcome from a contract dataset.

    Parameters
    ----------
    ds
        The dataset.
    outcome
        Outcome variable; the dataset's primary outcome when omitted.
    kind
        Outcome kind; the dataset's ``outcome_kind`` when omitted.
    upper
        Count censoring limit; read from ``sampling_params`` (max tokens) when omitted.
    crossed
        Factor whose levels get their own random intercepts and arm slopes, crossed with
        the families; the dataset's ``crossed_factor`` when omitted, ``""`` for none.
        Ignored when no level holds more than one prompt (a short run).

    Returns
    -------
    Design
        Arrays ready for a model builder.
    """
    outcome = outcome or str(ds.attrs["primary_outcome"])
    kind = kind or outcome_kind(ds, outcome)
    get_kind(kind)  # a one-line error naming the kinds there are
    if outcome not in ds:
        raise BayesEffectError(f"the dataset has no outcome {outcome!r}")
    values = ds[outcome].transpose("prompt", "arm", "replicate").values.astype(float)
    usable = ds["completed"].transpose("prompt", "arm", "replicate").values & np.isfinite(values)
    keep = usable.any(axis=(1, 2))
    if keep.sum() < 2:
        raise BayesEffectError(
            f"only {int(keep.sum())} prompt(s) have a usable {outcome!r}; the fit needs at "
            "least 2 -- sample more prompts or finish the run"
        )
    values, usable = values[keep], usable[keep]
    families_all = ds["family"].values[keep].astype(str)
    families = tuple(sorted(set(families_all.tolist())))
    factor_names = [f for f in str(ds.attrs.get("factors", "")).split(",") if f]
    crossed = str(ds.attrs.get("crossed_factor", "")) if crossed is None else crossed
    if crossed and (crossed not in factor_names or crossed not in ds.coords):
        raise BayesEffectError(f"crossed factor {crossed!r} is not a factor of this run; "
                               f"its factors: {', '.join(factor_names) or 'none'}")
    item_levels = ds[crossed].values[keep].astype(str) if crossed else np.array([], dtype=str)
    items = tuple(sorted(set(item_levels.tolist())))
    if len(items) == int(keep.sum()):
        # One prompt per item: item and prompt effects would be one thing twice.
        crossed, items, item_levels = "", (), np.array([], dtype=str)
    common: dict[str, Any] = {
        "kind": kind, "outcome": outcome,
        "prompts": tuple(ds["prompt"].values[keep].astype(str).tolist()),
        "families": families,
        "family_index": np.array([families.index(f) for f in families_all], dtype=np.int64),
        "factors": {name: ds[name].values[keep] for name in factor_names if name in ds.coords},
        "crossed": crossed, "items": items,
        "item_index": np.array([items.index(i) for i in item_levels], dtype=np.int64),
    }
    if kind == "binary":
        if not np.all(np.isin(values[usable], (0.0, 1.0))):
            raise BayesEffectError(f"outcome {outcome!r} is not binary (0/1)")
        successes = np.where(usable, values, 0).sum(axis=2)
        trials = usable.sum(axis=2)
        j, a = np.indices(trials.shape)
        return Design(**common, y=successes.ravel().astype(np.int64), trials=trials.ravel(),
                      prompt_index=j.ravel(), arm_index=a.ravel())
    prompt_index, arm_index, _ = np.nonzero(usable)
    y = values[usable]
    design = Design(**common, y=y, prompt_index=prompt_index, arm_index=arm_index,
                    meta={"mean": float(y.mean()), "sd": float(y.std()) or 1.0})
    if kind == "count":
        if np.any(y < 0) or np.any(y != np.round(y)):
            raise BayesEffectError(f"outcome {outcome!r} is not a count")
        if upper is None and "sampling_params" in ds.attrs:
            upper = int(json.loads(str(ds.attrs["sampling_params"]))["max_tokens"])
        return replace(design, y=y.astype(np.int64), upper=upper)
    if kind == "ordinal":
        if np.any(y < 1) or np.any(y != np.round(y)):
            raise BayesEffectError(f"ordinal outcome {outcome!r} must hold levels 1..K")
        return replace(design, y=y.astype(np.int64),
                       n_levels=int(ds[outcome].attrs.get("n_levels", int(y.max()))))
    return design


#: Fewest prompts with responses in both arms a fit accepts: the effect is learnt from
#: within-prompt arm differences, and their spread (the prompt-slope SD, the paired t)
#: needs at least two of them.
MIN_PROMPTS_IN_BOTH_ARMS = 2


def arm_coverage(design: Design) -> tuple[int, int, int]:
    """Prompts with a usable response in the base arm, in the instruct arm, and in both."""
    weights = design.trials if design.trials is not None else np.ones(design.y.size)
    has = np.zeros((len(design.prompts), 2), dtype=bool)
    np.logical_or.at(has, (design.prompt_index, design.arm_index), np.asarray(weights) > 0)
    return int(has[:, 0].sum()), int(has[:, 1].sum()), int(has.all(axis=1).sum())


def require_both_arms(design: Design, *, minimum: int = MIN_PROMPTS_IN_BOTH_ARMS) -> None:
    """Raise a one-line error unless ``minimum`` prompts have responses in both arms.

    An interrupted run can hold one arm only (the arms are sampled one after the
    other); its "effect" would be the prior's.
    """
    base, instruct, both = arm_coverage(design)
    if both < minimum:
        raise BayesEffectError(
            f"the fit needs usable {design.outcome!r} responses from both arms on at least "
            f"{minimum} prompts; the base arm has them on {base} prompt(s), the instruct arm "
            f"on {instruct}, both on {both} -- resume sampling (run the same `bayeseffect "
            "sample` command again)")


#: Most levels a prompt factor may have to get effects by level: more are item metadata
#: (a fact, the answer a user asserted), not a moderator anyone reads level by level.
MAX_MODERATOR_LEVELS = 20


def moderators(design: Design) -> tuple[str, ...]:
    """Prompt factors whose levels get their own effects (at most ``MAX_MODERATOR_LEVELS``)."""
    return tuple(name for name, values in design.factors.items()
                 if len(set(values.tolist())) <= MAX_MODERATOR_LEVELS)
