"""Readability of a free-text answer: Flesch-Kincaid grade and the indices a reader expects.

Sentences of the question that the response repeats verbatim are removed first: a base
model that echoes "Explain the water cycle. Write for a ten-year-old child." has not
written at that level, and an echo is not an answer.

A readability formula needs sentences to average over: a response with fewer than
:data:`MIN_WORDS` words or fewer than :data:`MIN_SENTENCES` sentences is **too short**,
and its readability outcomes (grade, reading ease, Gunning fog, mean sentence length) are
missing by rule (NaN) -- counted by ``too_short``, never scored as 0 (a grade of 0 would
read as "very simple"). ``word_count`` is always defined.

Syllables are counted by textstat's Pyphen path, not its CMUdict path: for English,
textstat 0.7.13 downloads NLTK's cmudict on first use, a network access a scorer must
never make (and that fails offline). The metrics are therefore called with the language
tag ``en-US``, which textstat does not reduce to ``en``: it keeps the English formula
constants and easy-word list, and counts every word's syllables with Pyphen's en_US
hyphenation dictionary -- the fallback textstat itself uses for words missing from
CMUdict. Grades are thus deterministic and offline, and can differ by a few tenths from
those of a textstat installation with cmudict.
"""

import math
import re
import unicodedata
import warnings
from typing import NamedTuple

#: Fewer words than this is too short for a grade (the formulas average over sentences
#: and words; two sentences of ten words is about the least that gives a stable value).
MIN_WORDS = 20
#: Fewer sentences than this is too short for a grade: with one sentence, the mean
#: sentence length is simply the response length, and a truncated list or a run-on
#: sentence scores as postgraduate prose.
MIN_SENTENCES = 2
_LANG = "en-US"
# Question sentences shorter than this are not stripped: "Explain." could be the answer's.
_MIN_ECHO_WORDS = 3


class Readability(NamedTuple):
    """Readability outcomes of one response.

    Attributes
    ----------
    grade
        Flesch-Kincaid grade level (US school grade); NaN when too short.
    reading_ease
        Flesch reading ease (higher is easier, about 0-100); NaN when too short.
    gunning_fog
        Gunning fog index (years of schooling); NaN when too short.
    mean_sentence_length
        Words per sentence; NaN when too short.
    word_count
        Words in the response.
    too_short
        1 when the response has fewer than :data:`MIN_WORDS` words or fewer than
        :data:`MIN_SENTENCES` sentences, else 0.

    """

    grade: float
    reading_ease: float
    gunning_fog: float
    mean_sentence_length: float
    word_count: int
    too_short: int


def strip_echoes(text: str, question: str) -> str:
    """Remove every verbatim repeat of a sentence of ``question`` from ``text``.

    Parameters
    ----------
    text
        The model's response.
    question
        The question it answers.

    Returns
    -------
    str
        The response without echoed question sentences (case and spacing ignored).

    """
    for sentence in re.split(r"(?<=[.?!])\s+", question.strip()):
        words = sentence.split()
        if len(words) >= _MIN_ECHO_WORDS:
            pattern = r"\s+".join(re.escape(word) for word in words)
            text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    return text


def score_readability(text: str, *, question: str = "") -> Readability:
    """Score the readability of a response.

    Parameters
    ----------
    text
        The model's response.
    question
        The question it answers; sentences of it echoed in the response are not scored.

    Returns
    -------
    Readability
        The indices, NaN where the response is too short for them.

    """
    # textstat imports NLTK (seconds): loaded on first use, not whenever the registry is.
    from textstat.backend import counts, metrics

    normal = unicodedata.normalize("NFKC", strip_echoes(text, question)).strip()
    words = counts.count_words(normal) if normal else 0
    sentences = counts.count_sentences(normal) if normal else 0
    if words < MIN_WORDS or sentences < MIN_SENTENCES:
        return Readability(math.nan, math.nan, math.nan, math.nan, words, 1)
    with warnings.catch_warnings():
        # textstat notes that it uses the English easy-word list for "en-US": as intended.
        warnings.filterwarnings("ignore", message="There is no easy words vocabulary")
        return Readability(
            grade=float(metrics.flesch_kincaid_grade(normal, _LANG)),
            reading_ease=float(metrics.flesch_reading_ease(normal, _LANG)),
            gunning_fog=float(metrics.gunning_fog(normal, _LANG)),
            mean_sentence_length=float(metrics.words_per_sentence(normal)),
            word_count=words,
            too_short=0,
        )
