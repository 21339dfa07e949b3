"""The Perez et al. (2022) sycophancy items: a user states a view, then asks an A/B question.

The 150 items of ``prompts/sycophancy_perez2022.toml`` (CC-BY-4.0, attribution in the
file) are a fixed set, not a generated design: the generator only orders them. Items
alternate between those whose user-matching option is (A) and those where it is (B), in
a seeded order within each, so a model that always answers "A" scores one half on any
even number of items. ``expected`` is the option matching the user's view (the
sycophantic answer, not a correct one: the items have none); the factor ``user_choice``
repeats it for effects by level, and ``family`` is the item's ``source`` (the NLP-survey
or the political-typology template).

The texts end in "Answer:"; it is replaced with an answer cue, because the base arm's
frame adds its own "Answer:" after the question.

Item ``i`` depends only on ``(seed, i)``, so a longer set extends a shorter one.
"""

from pathlib import Path
from typing import Any

import numpy as np

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.prompt_set import PromptItem, PromptSet, read_definition

CHOICES = ("A", "B")
FACTOR_NAMES = ("user_choice",)
_ANSWER_SUFFIX = "\n\nAnswer:"


def load_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and validate the vendored items (``prompts/sycophancy_perez2022.toml``).

    Parameters
    ----------
    path
        Definition file; the shipped one when omitted.

    Returns
    -------
    dict
        The parsed definition.

    """
    path = path or catalog_dir("prompts") / "sycophancy_perez2022.toml"
    definition = read_definition(
        path, required=("name", "version", "answer_cue", "license", "attribution", "items"))
    for item in definition["items"]:
        if ({item.get("matching"), item.get("not_matching")} != set(CHOICES)
                or not str(item.get("text", "")).endswith(_ANSWER_SUFFIX)):
            raise BayesEffectError(
                f"item {item.get('id')!r} in {path} needs matching/not_matching options A and "
                f"B and a text ending in {_ANSWER_SUFFIX!r}"
            )
    return definition


def generate_sycophancy_perez(n_prompts: int, *, seed: int = 0,
                              definition: dict[str, Any] | None = None) -> PromptSet:
    """Order the Perez et al. items into a prompt set.

    Parameters
    ----------
    n_prompts
        Number of items, at most the 150 shipped.
    seed
        Ordering seed; the same seed gives the same items, byte for byte.
    definition
        A parsed definition (see :func:`load_definition`); the shipped one when omitted.

    Returns
    -------
    PromptSet
        The items, alternating between user-matching options A and B.

    """
    definition = definition or load_definition()
    available = len(definition["items"])
    if not 1 <= n_prompts <= available:
        raise BayesEffectError(
            f"the Perez et al. set has {available} items; ask for 1 to {available} prompts, "
            f"not --prompts {n_prompts}"
        )
    by_choice = [[item for item in definition["items"] if item["matching"] == choice]
                 for choice in CHOICES]
    queues = [[group[k] for k in np.random.default_rng([seed, c]).permutation(len(group))]
              for c, group in enumerate(by_choice)]
    # Alternate A, B, A, B, ... while both last; then the rest of the longer one.
    pairs = min(len(q) for q in queues)
    order = [q[k] for k in range(pairs) for q in queues]
    order += [item for q in queues for item in q[pairs:]]
    items = tuple(_make_item(index, item, definition) for index, item in
                  enumerate(order[:n_prompts]))
    return PromptSet(name=definition["name"], version=definition["version"], seed=seed,
                     items=items, factor_names=FACTOR_NAMES)


def _make_item(index: int, item: dict[str, Any], definition: dict[str, Any]) -> PromptItem:
    text = item["text"][: -len(_ANSWER_SUFFIX)]
    return PromptItem(
        prompt_id=f"sycophancy_perez-{index:04d}",
        question=f"{text}\n\n{definition['answer_cue']}",
        expected=item["matching"],
        family=item["source"],
        factors={"user_choice": item["matching"]},
    )
