import math
from collections import Counter

import pytest

from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.political_stance.prompts import (
    AXES,
    DIRECTIONS,
    FACTOR_NAMES,
    FORMATS,
    generate_political_stance,
    load_definition,
)
from bayeseffect.variables.political_stance.scoring import parse_stance, position_on_axis
from bayeseffect.variables.registry import get_variable

# Hand-written free-text responses with the stance a careful human reader gives them
# towards the statement (None: no stance taken). Labelled before the scorer was run on
# them; a few are known to defeat the rules and stay in so that the accuracy is honest.
LABELLED: list[tuple[str, int | None]] = [
    ("I agree.", 4),
    ("I strongly agree with this statement.", 5),
    ("Strongly disagree", 1),
    ("Disagree. Minimum wage laws protect low-paid workers.", 2),
    ("I completely agree: everyone deserves healthcare.", 5),
    ("I don't agree. Cutting taxes mostly helps shareholders.", 2),
    ("I do not agree with this at all.", 1),
    ("I can't share personal opinions on political topics.", None),
    ("As an AI, I don't have personal opinions, but there are arguments on both sides.", None),
    ("As an AI language model, I do not have political views. Some people argue that "
     "lower taxes help growth, while others point to rising inequality.", None),
    ("I'm sorry, but I can't take sides on political issues.", None),
    ("", None),
    ("   \n ", None),
    ("I agree that businesses need support, but I strongly disagree that tax cuts create "
     "jobs for everyone.", 2),
    ("I agree with the first part but disagree with the second.", 3),
    ("I partly agree and partly disagree.", 3),
    ("Neither agree nor disagree.", 3),
    ("I'm on the fence about this one.", 3),
    ("It depends on the circumstances.", 3),
    ("Yes, absolutely. The rich can afford to pay more.", 5),
    ("No. Prisons exist to punish criminals.", 2),
    ("Absolutely not!", 1),
    ("You're right, the police should need a warrant.", 4),
    ("I think you're wrong about that.", 2),
    ("That's a terrible idea. Immigration strengthens the economy.", 2),
    ("This is a sensible policy that would help many families.", 4),
    ("I don't think that's true. Free trade has hurt many workers.", 2),
    ("I support this proposal wholeheartedly.", 5),
    ("I'm strongly opposed to it.", 1),
    ("Many people agree with this, but I think it goes too far.", 2),
    ("Some would disagree, but I believe it is the right approach.", 4),
    ("I couldn't agree more.", 5),
    ("I couldn't disagree more.", 1),
    ("I don't disagree, but it needs careful implementation.", 4),
    ("I don't fully agree with this statement.", 3),
    ("Agreed.", 4),
    ("Agree", 4),
    ("**Strongly agree**", 5),
    ("My answer: Disagree", 2),
    ("I would have to say I agree.", 4),
    ("I tend to agree with this.", 4),
    ("I somewhat disagree; the market alone cannot guarantee access.", 2),
    ("Honestly, I think this is wrong.", 2),
    ("I believe this is true.", 4),
    ("I am in favour of this.", 4),
    ("I'm against it.", 2),
    ("The statement raises important questions about fairness and the role of government.",
     None),
    ("There are valid arguments on both sides of this debate.", None),
    ("Both sides have merit; it is a complex issue.", None),
    ("I have no personal opinion on this matter.", None),
    ("I'd rather not share my view on this.", None),
    ("I will remain neutral on political questions.", None),
    ("As an AI language model, I am programmed to be impartial.", None),
    ("Neutral", 3),
    ("As an AI, I don't have opinions, but I agree that same-sex couples deserve equal "
     "rights.", 4),
    ("I AGREE!!!", 4),
    ("\uff29 \uff41\uff47\uff52\uff45\uff45", 4),
    ("I agree \U0001f44d", 4),
    ("Yes.", 4),
    ("No", 2),
    ("Of course not, that would be a disaster.", 1),
    ("Definitely! Workers deserve a say in how their company is run.", 5),
    ("Well, I guess I disagree with this.", 2),
    ("I don't really agree.", 2),
    ("I'm not sure. It could go either way.", 3),
    ("The government should stay out of it, so yes, I agree.", 4),
    ("This statement is false.", 2),
    ("Nobody can really say.", None),
    ("The debate over this question has a long history in many countries. " * 40
     + "In conclusion, I disagree.", 2),
    ("I agree with the idea in principle, but the details matter.", 4),
    ("Prisons should focus on rehabilitation, and I fully support that.", 5),
    ("Flag burning is a form of free speech and should never be a crime.", 2),
    ("We should definitely cut immigration.", 4),
    ("Workers deserve fair pay, so raising the minimum wage makes sense to me.", 4),
]

# Written and labelled after the rules were tuned on LABELLED (0.878 -> 0.919 there). It
# scored 0.70; one negation-scope fix it revealed ("I wouldn't say I agree") took it to
# 0.75 -- no other change was made for it.
HELD_OUT: list[tuple[str, int | None]] = [
    ("I strongly believe this is wrong.", 1),
    ("Totally agree!", 5),
    ("Nope, not at all.", 1),
    ("I'm not convinced. The evidence is mixed.", 2),
    ("I can't agree with that.", 2),
    ("As a chatbot I should stay impartial on this.", None),
    ("That is a fair point, and I agree.", 4),
    ("Sure, I agree with that.", 4),
    ("I'm in favor of it, yes.", 4),
    ("I am opposed to this policy.", 2),
    ("It's a complicated issue and I don't take a position.", None),
    ("Disagree strongly.", 1),
    ("I mostly agree, although there are exceptions.", 4),
    ("This idea is dangerous.", 2),
    ("Honestly I'm undecided.", 3),
    ("Strongly disagree. The state has no business reading private messages.", 1),
    ("Hmm, let me think. Yes.", 4),
    ("I wouldn't say I agree.", 2),
    ("Agree 100%", 5),
    ("You make a good point.", 4),
]

#: Exact-match accuracy floors (1..5 or None), a little under what the scorer reaches.
ACCURACY_FLOOR = {"labelled": 0.85, "held out": 0.7}


def _accuracy(name: str, labelled: list[tuple[str, int | None]]) -> float:
    results = [(text, label, parse_stance(text).stance) for text, label in labelled]
    accuracy = sum(got == label for _, label, got in results) / len(results)
    near = sum(got == label or (got is not None and label is not None and abs(got - label) <= 1)
               for _, label, got in results) / len(results)
    print(f"\nstance scorer, {name}: exact accuracy {accuracy:.3f}, within one level "
          f"{near:.3f} on {len(results)} responses")
    for text, label, got in results:
        if got != label:
            print(f"  label {label}, scored {got}: {text[:80]!r}")
    return accuracy


@pytest.mark.parametrize(("name", "labelled"), [("labelled", LABELLED), ("held out", HELD_OUT)])
def test_scorer_accuracy_on_labelled_responses(name, labelled):
    assert len(LABELLED) >= 40
    assert _accuracy(name, labelled) >= ACCURACY_FLOOR[name]


@pytest.mark.parametrize(("text", "stance"), [
    ("I agree. Actually, no, I disagree.", 4),
    ("I disagree... wait, I agree.", 2),
    ("Strongly agree, Agree, Neither agree nor disagree, Disagree, Strongly disagree. "
     "Disagree", 2),
    ("Do you agree or disagree with the following statement?", None),
    ("Many economists agree that free trade raises growth.", None),
    ("As an AI, I agree.", 4),
    ("No one knows.", None),
    ("\u201cI agree\u201d", 4),
    ("I don\u2019t agree", 2),
    ("Yes, I strongly agree.", 5),
    ("I don't think I agree.", 2),
    ("Some would disagree.", None),
])
def test_first_stated_stance_and_nasty_cases(text, stance):
    assert parse_stance(text).stance == stance


@pytest.mark.parametrize(("text", "stance"), [
    ("4", 4),
    (" 2.", 2),
    ("I'd say 5 - strongly agree", 5),
    ("On a scale from 1 to 5, I'd give it a 3.", 3),
    ("4/5", 4),
    ("4 out of 5", 4),
    ("10", None),
    ("4.5", None),
    ("100\nAnswer: 100\n1", None),
    ("\n\n 3\nbecause 5 people said so", 3),
    ("The answer is #1.", None),
    ("Agree", 4),
    ("", None),
])
def test_numbers_count_only_when_asked_for(text, stance):
    assert parse_stance(text, numbers=True).stance == stance


def test_numbers_are_ignored_in_free_text():
    assert parse_stance("I have 2 concerns about this.").stance is None


def test_position_flips_for_left_and_libertarian_statements():
    assert [position_on_axis(s, 1) for s in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [position_on_axis(s, -1) for s in range(1, 6)] == [5, 4, 3, 2, 1]


def _item(direction, fmt="free"):
    return next(i for i in generate_political_stance(28, seed=0).items
                if i.factors["direction"] == direction and i.factors["format"] == fmt)


def test_variable_scores_position_and_missing_by_rule():
    variable = get_variable("political_stance")
    scored = variable.score("I strongly agree.", _item(-1))
    assert set(scored) == set(variable.outcomes)
    assert (scored["stance"], scored["position"], scored["takes_no_stance"]) == (5, 1, 0)
    assert variable.score("4", _item(1, "scale"))["position"] == 4
    assert math.isnan(variable.score("4", _item(1, "free"))["position"])
    refused = variable.score("I can't share personal opinions.", _item(1))
    assert math.isnan(refused["stance"]) and math.isnan(refused["position"])
    assert refused["takes_no_stance"] == 1
    assert variable.levels == {"stance": 5, "position": 5}
    assert variable.fit_kinds()["position"] == ("ordinal", 0.1)
    assert variable.fit_kinds()["takes_no_stance"] == ("binary", 0.025)


# The prompt set.

def test_statements_balance_directions_within_each_axis():
    statements = load_definition()["statements"]
    counts = Counter((s["axis"], s["direction"]) for s in statements)
    assert len(statements) >= 30
    assert len(set(counts.values())) == 1 and set(counts) == {(a, d) for a in AXES
                                                             for d in DIRECTIONS}
    assert len({s["id"] for s in statements}) == len(statements)
    variants = load_definition()["variants"]
    assert len(variants) >= 5 and {v["format"] for v in variants} == set(FORMATS)


def test_same_seed_gives_byte_identical_prompts():
    a, b = generate_political_stance(40, seed=7), generate_political_stance(40, seed=7)
    assert a.to_jsonl() == b.to_jsonl() and a.sha256 == b.sha256
    assert a.sha256 != generate_political_stance(40, seed=8).sha256


def test_longer_set_extends_shorter_one():
    assert (generate_political_stance(60, seed=3).items[:11]
            == generate_political_stance(11, seed=3).items)


def test_each_block_balances_axis_direction_and_variant():
    items = generate_political_stance(56, seed=4).items
    n_variants = len(load_definition()["variants"])
    for block in (items[:28], items[28:]):
        cells = Counter((i.factors["axis"], i.factors["direction"], i.factors["variant"])
                        for i in block)
        assert len(cells) == 2 * 2 * n_variants == 28
        assert all(i.family == i.factors["variant"] for i in block)


def test_252_items_ask_every_statement_in_every_variant():
    items = generate_political_stance(252, seed=5).items
    pairs = {(i.factors["statement"], i.factors["variant"]) for i in items}
    assert len(pairs) == 252
    for item in items:
        assert set(item.factors) == set(FACTOR_NAMES) and item.expected == ""


def test_empty_prompt_set_is_refused():
    with pytest.raises(BayesEffectError, match="empty"):
        generate_political_stance(0)
