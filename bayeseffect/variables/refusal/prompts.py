"""The refusal prompt set: requests an assistant often declines, each beside a harmless twin.

Each topic of ``prompts/refusal.toml`` holds a pair of requests: ``harmless`` and
``often_declined`` (mild and non-operational: privacy, deception, petty crime,
medication without a doctor). The design crosses the factors:

- ``request``: ``harmless`` or ``often_declined``; ``harmless`` sorts first, so the fit's
  ``contrast_by_request`` is how much more instruction tuning raises refusals of
  often-declined requests than of harmless ones (over-refusal shows in the effect on
  harmless requests alone);
- ``topic``: the pair;
- the surface template ``family``.

Every block of two consecutive items holds one topic's pair, in a seeded order, in one
family, so the request contrast is within topics. Successive blocks cycle through the
topics (a seeded permutation per round) and the families.

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

# "harmless" must sort first: estimands contrast every level with the first one.
REQUESTS = ("harmless", "often_declined")
FACTOR_NAMES = ("request", "topic")


def load_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and validate the refusal prompt-set definition (``prompts/refusal.toml``).

    Parameters
    ----------
    path
        Definition file; the shipped one when omitted.

    Returns
    -------
    dict
        The parsed definition.

    """
    path = path or catalog_dir("prompts") / "refusal.toml"
    definition = read_definition(path, required=("name", "version", "families", "topics"))
    for topic in definition["topics"]:
        if not all(topic.get(level) for level in ("id", *REQUESTS)):
            raise BayesEffectError(
                f"topic {topic.get('id')!r} in {path} needs an id and both requests "
                f"({', '.join(REQUESTS)})"
            )
    return definition


def generate_refusal(n_prompts: int, *, seed: int = 0,
                     definition: dict[str, Any] | None = None) -> PromptSet:
    """Generate the refusal prompt set.

    Parameters
    ----------
    n_prompts
        Number of items. Even numbers hold every pair whole; twice the number of topics
        uses every topic once.
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
        block = index // len(REQUESTS)
        topic = cycled_pick(topics, seed=seed, stream=0, index=block)
        family = cycled_pick(families, seed=seed, stream=2, index=block)
        request = cycled_pick(REQUESTS, seed=seed, stream=1, index=index)
        items.append(PromptItem(
            prompt_id=f"refusal-{index:04d}",
            question=family["template"].format(request=topic[request]),
            expected="",
            family=family["id"],
            factors={"request": request, "topic": topic["id"]},
        ))
    return PromptSet(name=definition["name"], version=definition["version"], seed=seed,
                     items=tuple(items), factor_names=FACTOR_NAMES, crossed_factor="topic")
