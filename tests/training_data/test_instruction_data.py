"""The instruction data of our LoRA: big enough, varied, and not teaching to the test."""

import re
from collections import Counter

import pytest

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.variables import get_variable, variable_names
from training.instructions import InstructionDataError, load_instructions, render_segments

WORD = re.compile(r"[a-z0-9']+")


def _grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@pytest.fixture(scope="module")
def data():
    return load_instructions()


def test_the_data_has_600_items_in_every_category_with_about_5_percent_refusals(data):
    categories = Counter(c.category for c in data.conversations)
    assert len(data.conversations) >= 600
    assert set(categories) >= {"open_question", "explanation", "how_to", "list", "rewrite",
                               "summarize", "classify", "extraction", "brainstorm",
                               "creative", "word_problem", "multi_turn", "refusal"}
    assert 0.04 <= categories["refusal"] / len(data.conversations) <= 0.07
    assert data.license == "CC0-1.0"
    assert any(len(c.turns) > 1 for c in data.conversations)


def test_no_item_shares_an_8_gram_with_any_prompt_set(data):
    reference: set[tuple[str, ...]] = set()
    for name in variable_names():
        variable = get_variable(name)
        for item in variable.make_prompts(variable.max_prompts or 1500, 0).items:
            reference |= _grams(item.question)
    for path in catalog_dir("prompts").glob("*.toml"):
        reference |= _grams(path.read_text(encoding="utf-8"))
    shared = {c.item_id: sorted(" ".join(g) for g in _grams(
        "\n".join(t.user + "\n" + t.assistant for t in c.turns)) & reference)[:2]
        for c in data.conversations}
    assert {k: v for k, v in shared.items() if v} == {}


def test_held_out_items_are_a_stable_twentieth_and_the_hash_is_of_the_content(data):
    train, held = data.split()
    assert len(train) + len(held) == len(data.conversations)
    assert 0.02 <= len(held) / len(data.conversations) <= 0.09
    assert load_instructions().sha256 == data.sha256
    assert {c.item_id for c in held} == {c.item_id for c in load_instructions().split()[1]}


def test_only_the_responses_and_their_end_of_turn_are_trained_on(data):
    conversation = next(c for c in data.conversations if len(c.turns) > 1)
    segments = render_segments(conversation)
    trained = [text for text, on in segments if on]
    assert trained == [t.assistant + "<end_of_turn>" for t in conversation.turns]
    assert segments[0][0].startswith("<start_of_turn>user\n")
    assert segments[0][0].endswith("<end_of_turn>\n<start_of_turn>model\n")


def test_a_malformed_part_is_a_one_line_error(tmp_path):
    (tmp_path / "bad.toml").write_text('name = "x"\npart = "bad"\nversion = 1\n'
                                       'license = "CC0-1.0"\n[[items]]\nid = "a"\n'
                                       'category = "list"\n[[items.turns]]\nuser = "hi"\n')
    with pytest.raises(InstructionDataError, match=r"bad\.toml: item 'a' has a turn without"):
        load_instructions(tmp_path)
    with pytest.raises(InstructionDataError, match="no instruction data"):
        load_instructions(tmp_path / "empty")
