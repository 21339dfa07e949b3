"""Prompt sets of sycophancy, sycophancy_perez, complexity and refusal: determinism, balance."""

import json
import re
import tomllib
from collections import Counter

import numpy as np
import pytest
from conftest import FakeFactory

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.variables import get_variable
from bayeseffect.variables.complexity.prompts import AUDIENCES, generate_complexity
from bayeseffect.variables.refusal.prompts import REQUESTS, generate_refusal
from bayeseffect.variables.sycophancy.prompts import (
    ANSWER_TYPES,
    CONDITIONS,
    DOMAINS,
    SEPARATOR,
    generate_sycophancy,
)
from bayeseffect.variables.sycophancy.scoring import gives_answer, score_short_answer, tokens
from bayeseffect.variables.sycophancy_perez.prompts import generate_sycophancy_perez
from bayeseffect.workflow.sample import sample_run

GENERATORS = {
    "sycophancy": (generate_sycophancy, "sycophancy.toml"),
    "sycophancy_perez": (generate_sycophancy_perez, "sycophancy_perez2022.toml"),
    "complexity": (generate_complexity, "complexity.toml"),
    "refusal": (generate_refusal, "refusal.toml"),
}


@pytest.fixture(params=list(GENERATORS))
def generator(request):
    return request.param, *GENERATORS[request.param]


def test_same_seed_gives_byte_identical_prompts(generator):
    _, generate, _ = generator
    assert generate(40, seed=7).to_jsonl() == generate(40, seed=7).to_jsonl()
    assert generate(40, seed=1).sha256 != generate(40, seed=2).sha256


def test_longer_set_extends_shorter_one(generator):
    _, generate, _ = generator
    for k in (1, 7, 13):
        assert generate(60, seed=3).items[:k] == generate(k, seed=3).items


def test_sets_are_named_versioned_and_json_serialisable(generator):
    name, generate, toml = generator
    definition = tomllib.loads((catalog_dir("prompts") / toml).read_text(encoding="utf-8"))
    prompt_set = generate(30, seed=0)
    assert prompt_set.name == name == get_variable(name).name
    assert prompt_set.version == definition["version"]
    assert definition["description"]
    for line, item in zip(prompt_set.to_jsonl().splitlines(), prompt_set.items, strict=True):
        assert set(json.loads(line)["factors"]) == set(prompt_set.factor_names)
        assert item.prompt_id == f"{name}-{prompt_set.items.index(item):04d}"
        assert item.question.strip() and item.family
    assert len({item.prompt_id for item in prompt_set.items}) == 30


def test_empty_prompt_set_is_refused(generator):
    _, generate, _ = generator
    with pytest.raises(BayesEffectError, match=r"empty|1 to"):
        generate(0)


def test_reference_levels_sort_first():
    # Estimands contrast every level with the first in sorted order.
    assert sorted(CONDITIONS)[0] == "neutral"
    assert sorted(AUDIENCES)[0] == "any"
    assert sorted(REQUESTS)[0] == "harmless"


def test_sycophancy_blocks_hold_one_fact_under_every_condition():
    items = generate_sycophancy(200, seed=4).items
    for start in range(0, 200, 4):
        block = items[start:start + 4]
        assert {i.factors["condition"] for i in block} == set(CONDITIONS)
        assert len({(i.factors["fact"], i.family, i.expected) for i in block}) == 1
        by_condition = {i.factors["condition"]: i for i in block}
        wrong = by_condition["user_wrong"].factors["asserted"]
        assert by_condition["user_pushback"].factors["asserted"] == wrong
        assert wrong in str(block[0].factors["wrong_answers"]).split(SEPARATOR)
        assert by_condition["user_right"].factors["asserted"] == block[0].expected
        assert by_condition["neutral"].factors["asserted"] == ""
        for item in block:
            assert item.factors["asserted"].rstrip(".") in item.question
            assert item.question.endswith("Answer in a few words.")
    assert "Are you sure? I think it's" in by_condition["user_pushback"].question
    domains = Counter(i.factors["domain"] for i in items[:80])
    assert domains == dict.fromkeys(DOMAINS, 16)
    assert len({i.factors["fact"] for i in items}) == 50  # no fact repeats in 50 blocks


def test_every_fact_scores_its_own_answers():
    definition = tomllib.loads((catalog_dir("prompts") / "sycophancy.toml").read_text("utf-8"))
    english = {"a", "i", "an", "as", "at", "be", "by", "do", "go", "he", "hi", "if", "in", "is",
               "it", "me", "my", "no", "of", "oh", "ok", "on", "or", "ox", "so", "to", "up",
               "us", "we", "am", "id", "um", "hm", "oy", "ma", "pa", "pm", "ai", "st", "ps",
               "cc", "mr", "ta", "un", "ow"}
    for domain, facts in definition["facts"].items():
        answer_type = ANSWER_TYPES[domain]
        question = definition["questions"][domain]
        for fact in facts:
            text = question.format(subject=fact["subject"])
            accepted = [fact["answer"], *fact.get("aliases", [])]
            for claim in fact["wrong"]:
                wrong = score_short_answer(f"It's {claim}.", expected=fact["answer"],
                                           answer_type=answer_type, accepted=accepted,
                                           wrong=fact["wrong"], question=text)
                assert (wrong.correct, wrong.parse_failure) == (0, 0), (fact, claim)
                assert gives_answer(wrong.answer, claim, answer_type=answer_type) == 1
            right = score_short_answer(f"It's {fact['answer']}.", expected=fact["answer"],
                                       answer_type=answer_type, accepted=accepted,
                                       wrong=fact["wrong"], question=text)
            assert right.correct == 1, fact
            if domain == "symbol":
                assert not {a.casefold() for a in accepted + fact["wrong"]} & english, fact
            if domain == "arithmetic":
                a, op, b = fact["subject"].split()
                value = {"+": int(a) + int(b), "-": int(a) - int(b), "\u00d7": int(a) * int(b),
                         "\u00f7": int(a) / int(b)}[op]
                assert str(int(value)) == fact["answer"] and value == int(value), fact
                numbers = set(tokens(text, numeric=True))
                assert not numbers & {fact["answer"], *fact["wrong"]}, fact
            if domain == "date":
                assert re.fullmatch(r"\d{4}", fact["answer"]), fact


def test_perez_items_alternate_the_user_matching_option():
    prompt_set = generate_sycophancy_perez(150, seed=0)
    choices = [i.expected for i in prompt_set.items]
    assert Counter(choices[:144]) == {"A": 72, "B": 72}
    assert all(choices[k] != choices[k + 1] for k in range(0, 144, 2))
    assert len({i.question for i in prompt_set.items}) == 150
    assert {i.family for i in prompt_set.items} == {"nlp_survey", "political_typology"}
    for item in prompt_set.items:
        assert item.question.endswith("\n\nAnswer with (A) or (B).")
        assert "Answer:" not in item.question
        assert item.factors == {"user_choice": item.expected}
    with pytest.raises(BayesEffectError, match="150 items"):
        generate_sycophancy_perez(151)


def test_perez_data_carries_its_license_and_attribution():
    definition = tomllib.loads(
        (catalog_dir("prompts") / "sycophancy_perez2022.toml").read_text("utf-8"))
    assert definition["license"] == "CC-BY-4.0"
    assert "Perez et al. (2022)" in definition["attribution"]
    assert len(definition["items"]) == 150


def test_complexity_blocks_hold_one_topic_under_every_audience():
    items = generate_complexity(45, seed=2).items
    for start in range(0, 45, 3):
        block = items[start:start + 3]
        assert {i.factors["audience"] for i in block} == set(AUDIENCES)
        assert len({(i.factors["topic"], i.family) for i in block}) == 1
    assert len({i.factors["topic"] for i in items}) == 15
    cued = {i.factors["audience"]: i.question for i in items[:3]}
    assert "child" in cued["child"] and "expert" in cued["expert"]
    assert "Write for" not in cued["any"]


def test_refusal_blocks_hold_one_topic_pair():
    items = generate_refusal(40, seed=5).items
    for start in range(0, 40, 2):
        pair = items[start:start + 2]
        assert {i.factors["request"] for i in pair} == set(REQUESTS)
        assert len({(i.factors["topic"], i.family) for i in pair}) == 1
        assert pair[0].question != pair[1].question
    assert len({i.factors["topic"] for i in items}) == 20


@pytest.mark.parametrize("name", list(GENERATORS))
def test_variables_write_valid_datasets_with_a_fake_model(name, tiny_pair, tmp_path):
    base, instruct = tiny_pair
    run = sample_run(name, base=base, instruct=instruct, prompts=8, replicates=2,
                     out=tmp_path / name, open_generator=FakeFactory())
    ds = load_dataset(run / "dataset.nc")
    variable = get_variable(name)
    assert ds.attrs["primary_outcome"] == variable.primary_outcome
    assert set(variable.fit_kinds()) <= set(ds.data_vars)
    kinds = variable.fit_kinds()
    completed = ds["completed"].values
    for outcome in variable.outcomes:
        if outcome in variable.text_outcomes:
            continue
        values = ds[outcome].values
        assert not np.isinf(values).any(), outcome
        # Cells without a response hold no outcome; missing-by-rule is NaN, never a number.
        assert np.isnan(values[~completed]).all(), outcome
        seen = values[np.isfinite(values)]
        kind = kinds[outcome][0] if outcome in kinds else None
        if kind == "binary":
            assert set(np.unique(seen)) <= {0.0, 1.0}, outcome
        elif kind == "ordinal":
            assert set(np.unique(seen)) <= set(range(1, variable.levels[outcome] + 1)), outcome
        elif kind == "count":
            assert (seen >= 0).all() and (seen == np.round(seen)).all(), outcome
    assert variable.primary_outcome in kinds
