"""The sycophancy prompt set: known facts asked under premise conditions.

After Sharma et al. (2023): each fact of ``prompts/sycophancy.toml`` (a capital, a chemical
symbol, a sum, the year of an event, a unit conversion) is asked under every level of the
factor ``condition``:

- ``neutral``: the plain question;
- ``user_right``: the user says they are fairly sure of the right answer;
- ``user_wrong``: the user says they are fairly sure of a specific wrong answer X;
- ``user_pushback``: a transcript in which the assistant answered correctly and the user
  replies "Are you sure? I think it's X" (the whole exchange is the question text, the
  same for both arms).

Every block of four consecutive items holds one fact under all four conditions, in a
seeded order, with one template ``family`` and one wrong answer X: condition contrasts
are within facts. ``neutral`` sorts first among the levels, so the fit's
``contrast_by_condition`` (each level minus the first) is the difference-in-differences
(instruct - base) x (condition - neutral): a model that simply knows less does not look
more sycophantic. Successive blocks cycle through the domains, a seeded permutation per
round of five, and through each domain's facts without repeats until it is exhausted.

Besides ``condition`` and ``domain`` the items carry what the scorer needs, as string
factors: ``fact`` (``domain:subject``), ``asserted`` (the answer the user asserts, ""
under ``neutral``), ``accepted`` (the right answer's accepted spellings) and
``wrong_answers`` (the known wrong answers), the last two joined by ``|``.

Item ``i`` depends only on ``(seed, i)``, so a longer set extends a shorter one.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.prompt_set import (
    PromptItem,
    PromptSet,
    cycled_pick,
    read_definition,
    require_prompts,
)

AnswerType = Literal["name", "number", "year"]

# "neutral" must sort first: estimands contrast every level with the first one.
CONDITIONS = ("neutral", "user_right", "user_wrong", "user_pushback")
#: How each domain's answers are read from a response (see scoring/sycophancy.py).
ANSWER_TYPES: dict[str, AnswerType] = {
    "capital": "name", "symbol": "name", "arithmetic": "number", "date": "year",
    "unit": "number",
}
DOMAINS = tuple(ANSWER_TYPES)
FACTOR_NAMES = ("condition", "domain", "fact", "asserted", "accepted", "wrong_answers")
#: Joins several answers into one string factor.
SEPARATOR = "|"


@dataclass(frozen=True)
class _Family:
    id: str
    neutral: str
    claim: str
    pushback: str


@dataclass(frozen=True)
class _Fact:
    domain: str
    subject: str
    answer: str
    aliases: tuple[str, ...]
    wrong: tuple[str, ...]


def load_definition(path: Path | None = None) -> dict[str, Any]:
    """Read and validate the sycophancy prompt-set definition (``prompts/sycophancy.toml``).

    Parameters
    ----------
    path
        Definition file; the shipped one when omitted.

    Returns
    -------
    dict
        The parsed definition.

    """
    path = path or catalog_dir("prompts") / "sycophancy.toml"
    definition = read_definition(
        path, required=("name", "version", "answer_cue", "questions", "families", "facts"))
    for table in ("questions", "facts"):
        if set(definition[table]) != set(DOMAINS):
            raise BayesEffectError(
                f"[{table}] in {path} must name exactly the domains {', '.join(DOMAINS)}"
            )
    for domain, facts in definition["facts"].items():
        for fact in facts:
            answers = [fact.get("answer", ""), *fact.get("aliases", []), *fact.get("wrong", [])]
            if not fact.get("wrong") or not all(answers) or any(SEPARATOR in a for a in answers):
                raise BayesEffectError(
                    f"fact {fact.get('subject')!r} ({domain}) in {path} needs an answer and "
                    f"at least one wrong answer, none empty or containing {SEPARATOR!r}"
                )
    return definition


def generate_sycophancy(n_prompts: int, *, seed: int = 0,
                        definition: dict[str, Any] | None = None) -> PromptSet:
    """Generate the sycophancy prompt set.

    Parameters
    ----------
    n_prompts
        Number of items. Multiples of 4 hold every fact under every condition; multiples
        of 20 also balance the domains.
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
    facts = {domain: tuple(_Fact(domain, f["subject"], f["answer"],
                                 tuple(f.get("aliases", ())), tuple(f["wrong"]))
                           for f in definition["facts"][domain]) for domain in DOMAINS}
    items = []
    for index in range(n_prompts):
        block = index // len(CONDITIONS)
        round_, slot = divmod(block, len(DOMAINS))
        domain = DOMAINS[np.random.default_rng([seed, 0, round_]).permutation(len(DOMAINS))[slot]]
        # Each round draws one fact per domain, so a domain's facts repeat only once all
        # of them have been used.
        order = np.random.default_rng([seed, 2, DOMAINS.index(domain)]).permutation(
            len(facts[domain]))
        fact = facts[domain][order[round_ % len(order)]]
        condition = cycled_pick(CONDITIONS, seed=seed, stream=1, index=index)
        family = cycled_pick(families, seed=seed, stream=3, index=block)
        wrong = fact.wrong[int(np.random.default_rng([seed, 4, block]).integers(len(fact.wrong)))]
        items.append(_make_item(index, fact=fact, condition=condition, family=family,
                                wrong=wrong, definition=definition))
    return PromptSet(
        name=definition["name"], version=definition["version"], seed=seed,
        items=tuple(items), factor_names=FACTOR_NAMES, crossed_factor="fact",
    )


def _make_item(index: int, *, fact: _Fact, condition: str, family: _Family, wrong: str,
               definition: dict[str, Any]) -> PromptItem:
    question = definition["questions"][fact.domain].format(subject=fact.subject)
    asserted = {"neutral": "", "user_right": fact.answer}.get(condition, wrong)
    template = {"neutral": family.neutral, "user_pushback": family.pushback}.get(
        condition, family.claim)
    text = template.format(question=question, claim=asserted, right=fact.answer)
    # An answer ending in a full stop ("Washington, D.C.") must not end a sentence twice.
    text = text.replace("..", ".")
    return PromptItem(
        prompt_id=f"sycophancy-{index:04d}",
        question=f"{text} {definition['answer_cue']}",
        expected=fact.answer,
        family=family.id,
        factors={
            "condition": condition,
            "domain": fact.domain,
            "fact": f"{fact.domain}:{fact.subject}",
            "asserted": asserted,
            "accepted": SEPARATOR.join((fact.answer, *fact.aliases)),
            "wrong_answers": SEPARATOR.join(fact.wrong),
        },
    )
