"""Parse a yes/no verdict from free text and score it against a known answer."""

import re
import unicodedata
from typing import NamedTuple

_AFFIRMATIVE = {"yes", "true", "correct"}
_NEGATIVE = {"no", "false", "incorrect"}
# Echoes of the answer cue ("yes or no", "yes/no") decide nothing and are removed first.
_ECHO = re.compile(r"\b(?:yes\s*(?:or|/)\s*no|no\s*(?:or|/)\s*yes|true\s*(?:or|/)\s*false)\b")
_NEGATED_FOLLOW = re.compile(
    r"\b(?:does\s*(?:not|n't)|doesn't|do\s*not|cannot|can\s*not|can't)\s+"
    r"(?:necessarily\s+|logically\s+)?(?:follow|conclude|be\s+certain|be\s+concluded)\b"
)
_AFFIRMED_FOLLOW = re.compile(r"\bit\s+(?:does\s+)?follows?\b")
_WORD = re.compile(r"[a-z]+")


class YesNoScore(NamedTuple):
    """A parsed verdict and its score.

    Attributes
    ----------
    answer
        ``"yes"``, ``"no"`` or ``""`` when no verdict could be parsed.
    correct
        1 when the answer equals the expected one, else 0 (a parse failure is not correct).
    parse_failure
        1 when no verdict could be parsed, else 0.

    """

    answer: str
    correct: int
    parse_failure: int


def parse_yes_no(text: str) -> str:
    """Return the first verdict stated in ``text``.

    The first decisive token wins, so "Yes. Actually, no." parses as "yes": the scorer
    records what the model committed to first, not a later hedge.

    Parameters
    ----------
    text
        The model's response.

    Returns
    -------
    str
        ``"yes"``, ``"no"``, or ``""`` when the text states no verdict.

    """
    normal = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    normal = _ECHO.sub(" ", normal)
    negated = _NEGATED_FOLLOW.search(normal)
    affirmed = _AFFIRMED_FOLLOW.search(normal)
    word = next((m for m in _WORD.finditer(normal)
                 if m.group() in _AFFIRMATIVE | _NEGATIVE), None)
    candidates = [(m.start(), verdict) for m, verdict in
                  ((negated, "no"), (affirmed, "yes"),
                   (word, "yes" if word and word.group() in _AFFIRMATIVE else "no"))
                  if m is not None]
    return min(candidates)[1] if candidates else ""


def score_yes_no(text: str, expected: str) -> YesNoScore:
    """Score a response against the known answer.

    Parameters
    ----------
    text
        The model's response.
    expected
        ``"yes"`` or ``"no"``.

    Returns
    -------
    YesNoScore
        The parsed answer, correctness and parse-failure flag.

    """
    answer = parse_yes_no(text)
    return YesNoScore(answer=answer, correct=int(answer == expected),
                      parse_failure=int(answer == ""))
