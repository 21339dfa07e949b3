import re

import pytest

from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.logic.prompts import CONTENTS, DEPTHS, VALIDITIES, generate_logic


def test_same_seed_gives_byte_identical_prompts():
    a = generate_logic(50, seed=7)
    b = generate_logic(50, seed=7)
    assert a.to_jsonl() == b.to_jsonl()
    assert a.sha256 == b.sha256


def test_different_seed_gives_different_prompts():
    assert generate_logic(20, seed=1).sha256 != generate_logic(20, seed=2).sha256


def test_longer_set_extends_shorter_one():
    short, long = generate_logic(10, seed=3), generate_logic(30, seed=3)
    assert long.items[:10] == short.items


def test_120_items_cross_every_factor_once():
    items = generate_logic(120, seed=0).items
    cells = {(i.factors["depth"], i.factors["validity"], i.factors["content"], i.family)
             for i in items}
    assert len(cells) == 120
    assert {i.factors["depth"] for i in items} == set(DEPTHS)
    assert {i.factors["validity"] for i in items} == set(VALIDITIES)
    assert {i.factors["content"] for i in items} == set(CONTENTS)


@pytest.mark.parametrize("index", range(0, 120, 7))
def test_items_have_depth_rules_and_answer_matching_validity(index):
    item = generate_logic(120, seed=5).items[index]
    premises, question = item.question.split("\nQuestion: ")
    n_rules = len(re.findall(r"[.!]", premises)) - 1
    assert n_rules == item.factors["depth"]
    assert item.expected == ("yes" if item.factors["validity"] == "valid" else "no")
    assert question.endswith("Answer yes or no.")


def _follows(item) -> bool:
    """Decide entailment by forward chaining over the item's own rules."""
    sentences = [s.strip() for s in item.question.split("\nQuestion: ")[0].split(".") if s.strip()]
    patterns = [r"^Every (.+) is an? (.+)$", r"^Each (.+) is an? (.+)$",
                r"^If something is an? (.+), then it is an? (.+)$",
                r"^Anything that is an? (.+) is also an? (.+)$"]
    rules, member = [], None
    for sentence in sentences:
        for pattern in patterns:
            if m := re.match(pattern, sentence):
                rules.append((m.group(1), m.group(2)))
                break
        else:
            member = re.search(r"is an? (.+)$", sentence).group(1)
    target = re.search(r"(?:is|be) an? ([^?]+)\?", item.question.split("\nQuestion: ")[1]).group(1)
    known = {member}
    changed = True
    while changed:
        changed = False
        for a, b in rules:
            if a in known and b not in known:
                known.add(b)
                changed = True
    return target in known


def test_known_answers_agree_with_forward_chaining():
    for item in generate_logic(240, seed=11).items:
        assert _follows(item) == (item.expected == "yes"), item.question


def test_empty_prompt_set_is_refused():
    with pytest.raises(BayesEffectError, match="empty"):
        generate_logic(0)
