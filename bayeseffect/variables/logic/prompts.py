"""The logic prompt set: deductive chains with a known yes/no answer.

Each item chains ``depth`` universal statements ("Every A is a B") from a fact about a
named entity to a conclusion, then asks whether the conclusion follows. The design
crosses four prompt-level factors, so that every block of 120 consecutive items holds
each combination exactly once:

- ``depth``: chained steps, 1-5;
- ``validity``: ``valid`` (every link points forward, answer "yes") or ``invalid`` (one
  link is reversed -- the converse error -- so the conclusion does not follow, answer "no");
- ``content``: ``belief_consistent`` (the conclusion's truth in the world agrees with the
  logic), ``belief_inconsistent`` (it disagrees: the classic content effect) or
  ``nonsense`` (made-up category words);
- the surface template ``family``.

Item ``i`` depends only on ``(seed, i)``, so a longer set extends a shorter one.
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

DEPTHS = (1, 2, 3, 4, 5)
VALIDITIES = ("valid", "invalid")
CONTENTS = ("belief_consistent", "belief_inconsistent", "nonsense")
FACTOR_NAMES = ("depth", "validity", "content")


@dataclass(frozen=True)
class _Family:
    id: str
    rule: str
    fact: str
    question: str


@dataclass(frozen=True)
class _Taxonomy:
    domain: str
    entity: str
    terms: tuple[str, ...]


def _article(term: str) -> str:
    return ("an " if term[0].lower() in "aeiou" else "a ") + term


def load_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and validate the logic prompt-set definition (``prompts/logic.toml``).

    Parameters
    ----------
    path
        Definition file; the shipped one when omitted.

    Returns
    -------
    dict
        The parsed definition.

    """
    path = path or catalog_dir("prompts") / "logic.toml"
    definition = read_definition(
        path, required=("name", "version", "answer_cue", "taxonomies", "unbelievable", "nonsense",
                "families"))
    if max(DEPTHS) + 1 > min(len(t["terms"]) for t in definition["taxonomies"]):
        raise BayesEffectError(
            f"every taxonomy in {path} needs at least {max(DEPTHS) + 1} terms for depth "
            f"{max(DEPTHS)}"
        )
    return definition


def generate_logic(n_prompts: int, *, seed: int = 0, definition: dict[str, Any] | None = None
                   ) -> PromptSet:
    """Generate the logic prompt set.

    Parameters
    ----------
    n_prompts
        Number of items. Multiples of 120 give a fully balanced design.
    seed
        Generation seed; the same seed gives the same items, byte for byte.
    definition
        A parsed definition (see :func:`load_definition`); the shipped one when omitted.

    Returns
    -------
    PromptSet
        The items with their factors and known answers.

    """
    require_prompts(n_prompts)
    definition = definition or load_definition()
    families = tuple(_Family(**f) for f in definition["families"])
    taxonomies = tuple(
        _Taxonomy(t["domain"], t["entity"], tuple(t["terms"])) for t in definition["taxonomies"]
    )
    cells = list(itertools.product(DEPTHS, VALIDITIES, CONTENTS, [f.id for f in families]))
    order = np.random.default_rng([seed, 0]).permutation(len(cells))
    by_id = {f.id: f for f in families}
    items = []
    for index in range(n_prompts):
        depth, validity, content, family_id = cells[order[index % len(cells)]]
        rng = np.random.default_rng([seed, 1, index])
        items.append(_make_item(
            index, rng, depth=depth, validity=validity, content=content,
            family=by_id[family_id], taxonomies=taxonomies, definition=definition,
        ))
    return PromptSet(
        name=definition["name"], version=definition["version"], seed=seed,
        items=tuple(items), factor_names=FACTOR_NAMES,
    )


def _chain_terms(rng: np.random.Generator, *, depth: int, validity: str, content: str,
                 taxonomies: tuple[_Taxonomy, ...], definition: dict[str, Any]
                 ) -> tuple[str, list[str]]:
    if content == "nonsense":
        nonsense = definition["nonsense"]
        entity = str(rng.choice(nonsense["entities"]))
        return entity, [str(t) for t in rng.choice(nonsense["terms"], depth + 1, replace=False)]
    taxonomy = taxonomies[int(rng.integers(len(taxonomies)))]
    terms = list(taxonomy.terms[: depth + 1])
    # A believable conclusion is true in the world; consistent content pairs it with validity.
    believable = (validity == "valid") == (content == "belief_consistent")
    if not believable:
        options = [c for c in definition["unbelievable"][taxonomy.domain] if c not in terms]
        terms[-1] = str(rng.choice(options))
    return taxonomy.entity, terms


def _make_item(index: int, rng: np.random.Generator, *, depth: int, validity: str,
               content: str, family: _Family, taxonomies: tuple[_Taxonomy, ...],
               definition: dict[str, Any]) -> PromptItem:
    entity, terms = _chain_terms(rng, depth=depth, validity=validity, content=content,
                                 taxonomies=taxonomies, definition=definition)
    links = [(terms[i], terms[i + 1]) for i in range(depth)]
    if validity == "invalid":
        reversed_link = int(rng.integers(depth))
        a, b = links[reversed_link]
        links[reversed_link] = (b, a)
    rules = [family.rule.format(a=_article(a), a_bare=a, b=_article(b), b_bare=b)
             for a, b in links]
    fact = family.fact.format(entity=entity, a=_article(terms[0]))
    question = family.question.format(entity=entity, b=_article(terms[-1]))
    text = f"{' '.join([*rules, fact])}\nQuestion: {question} {definition['answer_cue']}"
    return PromptItem(
        prompt_id=f"logic-{index:04d}",
        question=text,
        expected="yes" if validity == "valid" else "no",
        family=family.id,
        factors={"depth": depth, "validity": validity, "content": content},
    )
