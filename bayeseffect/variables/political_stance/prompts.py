"""The political_stance prompt set: agreement with political statements, asked many ways.

Each item asks for the model's view on one statement in one prompt variant. A single
fixed phrasing gives unstable measurements (the answer moves with the wording and with
the order of the options), so every statement is asked in several variants: Likert
questions with the options in either order, a 1-5 scale, and four free-text framings.

Factors, each item's values in ``item.factors``:

- ``axis``: ``economic`` or ``social``;
- ``direction``: +1 when agreeing signals right (economic) or authoritarian (social), -1
  when it signals left or libertarian; each axis holds as many of each, so acquiescence
  -- agreeing with anything -- cancels on the axis;
- ``variant``: the prompt wording (also the item's ``family``);
- ``format``: the answer the variant asks for: ``likert``, ``scale`` or ``free``;
- ``statement``: the statement's id.

Consecutive blocks of 28 items hold every combination of axis, direction and variant
once; the statement of each combination rotates through its (axis, direction) group from
block to block, so 9 blocks (252 items) ask every statement in every variant. Item ``i``
depends only on ``(seed, i)``, so a longer set extends a shorter one. There is no correct
answer: ``expected`` is empty.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.prompt_set import (
    PromptItem,
    PromptSet,
    read_definition,
    require_prompts,
)

AXES = ("economic", "social")
DIRECTIONS = (1, -1)
FORMATS = ("likert", "scale", "free")
FACTOR_NAMES = ("axis", "direction", "variant", "format", "statement")


@dataclass(frozen=True)
class _Variant:
    id: str
    format: str
    template: str


@dataclass(frozen=True)
class _Statement:
    id: str
    axis: str
    direction: int
    text: str


def load_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and validate the political_stance definition (``prompts/political_stance.toml``).

    Parameters
    ----------
    path
        Definition file; the shipped one when omitted.

    Returns
    -------
    dict
        The parsed definition.

    """
    path = path or catalog_dir("prompts") / "political_stance.toml"
    definition = read_definition(path, required=("name", "version", "variants", "statements"))
    for variant in definition["variants"]:
        if variant.get("format") not in FORMATS or "{statement}" not in variant.get(
                "template", ""):
            raise BayesEffectError(f"variant {variant.get('id', '?')!r} in {path} needs a "
                                   f"format in {FORMATS} and a template with {{statement}}")
    for axis, direction in itertools.product(AXES, DIRECTIONS):
        if not any(s["axis"] == axis and s["direction"] == direction
                   for s in definition["statements"]):
            raise BayesEffectError(f"{path} has no {axis} statement with direction {direction}")
    return definition


def generate_political_stance(n_prompts: int, *, seed: int = 0,
                              definition: dict[str, Any] | None = None) -> PromptSet:
    """Generate the political_stance prompt set.

    Parameters
    ----------
    n_prompts
        Number of items. Multiples of 28 balance axis, direction and variant; 252 asks
        every statement in every variant.
    seed
        Generation seed; the same seed gives the same items, byte for byte.
    definition
        A parsed definition (see :func:`load_definition`); the shipped one when omitted.

    Returns
    -------
    PromptSet
        The items with their factors (``expected`` is empty: there is no correct answer).

    """
    require_prompts(n_prompts)
    definition = definition or load_definition()
    variants = tuple(_Variant(v["id"], v["format"], v["template"])
                     for v in definition["variants"])
    statements = tuple(_Statement(s["id"], s["axis"], int(s["direction"]), s["text"])
                       for s in definition["statements"])
    groups = {(axis, direction): [s for s in statements
                                  if s.axis == axis and s.direction == direction]
              for axis, direction in itertools.product(AXES, DIRECTIONS)}
    cells = list(itertools.product(AXES, DIRECTIONS, range(len(variants))))
    items = []
    for index in range(n_prompts):
        block, position = divmod(index, len(cells))
        # A fresh shuffle per block keeps every block balanced on its own.
        order = np.random.default_rng([seed, 0, block]).permutation(len(cells))
        axis, direction, v = cells[int(order[position])]
        group = groups[(axis, direction)]
        # Shifting by the variant spreads a block's variants over different statements;
        # shifting by the block walks each variant through the whole group.
        statement = group[(block + v) % len(group)]
        variant = variants[v]
        items.append(PromptItem(
            prompt_id=f"{definition['name']}-{index:04d}",
            question=variant.template.format(statement=statement.text),
            expected="",
            family=variant.id,
            factors={"axis": axis, "direction": direction, "variant": variant.id,
                     "format": variant.format, "statement": statement.id},
        ))
    return PromptSet(
        name=definition["name"], version=definition["version"], seed=seed,
        items=tuple(items), factor_names=FACTOR_NAMES, crossed_factor="statement",
    )
