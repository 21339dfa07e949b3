import math

import pytest

from bayeseffect.variables.complexity.definition import COMPLEXITY
from bayeseffect.variables.complexity.prompts import generate_complexity
from bayeseffect.variables.complexity.scoring import MIN_SENTENCES, MIN_WORDS, score_readability

CHILD = ("Plants make their own food. They use light from the sun. They also need water and "
         "air. The food helps them grow big and strong.")
EXPERT = ("Photosynthetic carbon fixation proceeds via ribulose-1,5-bisphosphate carboxylase, "
          "whose oxygenase activity necessitates photorespiratory metabolism. Consequently, "
          "C4 and crassulacean acid metabolism evolved as concentrating mechanisms that "
          "substantially elevate intercellular carbon dioxide partial pressure.")
READABILITY = ("grade", "reading_ease", "gunning_fog", "mean_sentence_length")


def test_simple_text_scores_a_lower_grade_than_technical_text():
    child, expert = score_readability(CHILD), score_readability(EXPERT)
    assert child.too_short == expert.too_short == 0
    assert child.grade < 5 < 14 < expert.grade
    assert child.reading_ease > 70 > 10 > expert.reading_ease
    assert child.gunning_fog < expert.gunning_fog
    assert child.mean_sentence_length == pytest.approx(child.word_count / 4)


@pytest.mark.parametrize("text", [
    "",
    "   \n\t ",
    "Plants make food from light.",  # one sentence, few words
    "word " * 40,  # many words, one sentence
    "Yes. No. Maybe.",  # sentences, few words
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u3053\u308c\u306f\u4e8c\u3064\u3002",
])
def test_too_short_responses_are_missing_by_rule_not_zero(text):
    result = score_readability(text)
    assert result.too_short == 1
    assert all(math.isnan(getattr(result, name)) for name in READABILITY)
    assert result.word_count >= 0


def test_threshold_is_words_and_sentences():
    assert (MIN_WORDS, MIN_SENTENCES) == (20, 2)
    nineteen = "One two three four five six seven eight nine ten. " + "a b c d e f g h i."
    assert score_readability(nineteen).too_short == 1
    twenty = "One two three four five six seven eight nine ten. " + "a b c d e f g h i j."
    assert score_readability(twenty).too_short == 0


def test_unicode_contradictions_and_long_text_are_scored():
    accented = "Caf\u00e9 cr\u00e8me is na\u00efve. " * 3 + "The r\u00e9sum\u00e9 is long. " * 3
    assert math.isfinite(score_readability(accented).grade)
    contradiction = CHILD + " Actually, no: " + EXPERT
    assert score_readability(CHILD).grade < score_readability(contradiction).grade
    long = score_readability((CHILD + " ") * 500)
    assert long.word_count == 500 * score_readability(CHILD).word_count
    assert long.grade == pytest.approx(score_readability(CHILD).grade, abs=0.5)


def test_echoed_question_sentences_are_not_scored():
    question = ("Explain how vaccines train the immune system. Write for a ten-year-old child. "
                "Answer in one short paragraph.")
    echo = question.replace(". ", ".\n").upper() + "\n" + question
    assert score_readability(echo).too_short == 0
    assert score_readability(echo, question=question).too_short == 1
    assert score_readability(echo, question=question).word_count == 0
    answered = score_readability(question + " " + CHILD, question=question)
    assert answered.grade == pytest.approx(score_readability(CHILD).grade)


def test_variable_outcomes():
    scores = COMPLEXITY.score(CHILD, generate_complexity(1, seed=0).items[0])
    assert tuple(scores) == COMPLEXITY.outcomes
    assert scores["too_short"] == 0 and scores["word_count"] == 25
    assert COMPLEXITY.fit_kinds()["grade"] == ("continuous", 0.5)
