"""The complexity prompt set: open-ended explanations with and without an audience cue.

Each item asks to explain or describe a topic of ``prompts/complexity.toml`` in one
short paragraph. The design crosses two prompt-level factors and the template family:

- ``audience``: ``any`` (no cue), ``child`` or ``expert`` -- a moderator: a model that
  follows the cue writes at a lower or higher grade level;
- ``topic``: what is explained;
- the surface template ``family`` ("Explain ...", "Describe ...", "Tell me about ...").

Every block of three consecutive items holds one topic and one family under all three
audiences, in a seeded order, so audience contrasts are within topics; ``any`` sorts
first, so the fit's ``contrast_by_audience`` is each cue's effect minus the no-cue effect.
Successive blocks cycle through the topics (a seeded permutation per round) and the
families.

Item ``i`` depends only on ``(seed, i)``, so a longer set extends a shorter one.
"""

from pathlib import Path
from typing import Any

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.prompt_set import (
    PromptItem,
    PromptSet,
    cycled_pick,
    read_definition,
    require_prompts,
)

# "any" (no cue) must sort first: estimands contrast every level with the first one.
AUDIENCES = ("any", "child", "expert")
FACTOR_NAMES = ("audience", "topic")


def load_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and validate the complexity prompt-set definition (``prompts/complexity.toml``).

    Parameters
    ----------
    path
        Definition file; the shipped one when omitted.

    Returns
    -------
    dict
        The parsed definition.

    """
    path = path or catalog_dir("prompts") / "complexity.toml"
    definition = read_definition(
        path, required=("name", "version", "answer_cue", "audiences", "families", "topics"))
    if tuple(definition["audiences"]) != AUDIENCES:
        raise BayesEffectError(f"[audiences] in {path} must be {', '.join(AUDIENCES)}, in order")
    if len({t["id"] for t in definition["topics"]}) != len(definition["topics"]):
        raise BayesEffectError(f"topic ids in {path} must be unique")
    return definition


def generate_complexity(n_prompts: int, *, seed: int = 0,
                        definition: dict[str, Any] | None = None) -> PromptSet:
    """Generate the complexity prompt set.

    Parameters
    ----------
    n_prompts
        Number of items. Multiples of 3 hold every block under every audience.
    seed
        Generation seed; the same seed gives the same items, byte for byte.
    definition
        A parsed definition (see :func:`load_definition`); the shipped one when omitted.

    Returns
    -------
    PromptSet
        The items with their factors (``expected`` is empty: there is no right answer).

    """
    require_prompts(n_prompts)
    definition = definition or load_definition()
    families, topics = definition["families"], definition["topics"]
    items = []
    for index in range(n_prompts):
        block = index // len(AUDIENCES)
        topic = cycled_pick(topics, seed=seed, stream=0, index=block)
        family = cycled_pick(families, seed=seed, stream=2, index=block)
        audience = cycled_pick(AUDIENCES, seed=seed, stream=1, index=index)
        parts = (family["template"].format(topic=topic["text"]),
                 definition["audiences"][audience], definition["answer_cue"])
        items.append(PromptItem(
            prompt_id=f"complexity-{index:04d}",
            question=" ".join(p for p in parts if p),
            expected="",
            family=family["id"],
            factors={"audience": audience, "topic": topic["id"]},
        ))
    return PromptSet(name=definition["name"], version=definition["version"], seed=seed,
                     items=tuple(items), factor_names=FACTOR_NAMES, crossed_factor="topic")
