import pytest

from bayeseffect.variables.logic.scoring import parse_yes_no, score_yes_no


@pytest.mark.parametrize(("text", "answer"), [
    ("Yes.", "yes"),
    (" no", "no"),
    ("YES, it does.", "yes"),
    ("True", "yes"),
    ("false", "no"),
    ("It does not follow.", "no"),
    ("It doesn't necessarily follow that Rex is a mammal.", "no"),
    ("It follows that Rex is a mammal.", "yes"),
    ("Answer yes or no. No.", "no"),
    ("Yes. Actually, no.", "yes"),
    ("No, it doesn\u2019t follow.", "no"),
    ("\uff39\uff25\uff33", "yes"),
    ("The answer is: No", "no"),
    ("", ""),
    ("   \n\t", ""),
    ("I think so", ""),
    ("Noah is a dog.", ""),
    ("yes/no", ""),
    ("Rex " * 5000 + "so yes", "yes"),
])
def test_parse_yes_no(text, answer):
    assert parse_yes_no(text) == answer


def test_unparseable_is_a_parse_failure_and_not_correct():
    result = score_yes_no("A mammal is a classification", "yes")
    assert result == (  "", 0, 1)


def test_correct_and_incorrect():
    assert score_yes_no("Yes", "yes").correct == 1
    assert score_yes_no("No", "yes").correct == 0
    assert score_yes_no("No", "yes").parse_failure == 0
