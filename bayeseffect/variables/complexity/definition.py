"""The ``complexity`` variable: the Flesch-Kincaid grade level of free-text explanations.

Readability outcomes are missing by rule (NaN) for responses too short for a grade
(fewer than 20 words or 2 sentences, see :mod:`bayeseffect.variables.complexity.scoring`);
``too_short`` counts them and can be fitted on its own, since a difference in how often
each arm is too short also selects which responses the grade is measured on. Responses
need room: sample with ``--max-tokens 128`` or more, or most are too short (and a response
cut at the token limit ends mid-sentence).
"""

from bayeseffect.variables.base import OutcomeVariable
from bayeseffect.variables.complexity.prompts import generate_complexity
from bayeseffect.variables.complexity.scoring import score_readability
from bayeseffect.variables.prompt_set import PromptItem


def _score(text: str, item: PromptItem) -> dict[str, int | float | str]:
    return dict(score_readability(text, question=item.question)._asdict())


COMPLEXITY = OutcomeVariable(
    name="complexity",
    description="lexical complexity: Flesch-Kincaid grade of explanations, by audience cue",
    make_prompts=lambda n, seed: generate_complexity(n, seed=seed),
    score=_score,
    outcomes=("grade", "reading_ease", "gunning_fog", "mean_sentence_length", "word_count",
              "too_short"),
    text_outcomes=(),
    primary_outcome="grade",
    kind="continuous",
    # Half a school grade: a reader does not notice less.
    rope=0.5,
    # Readability needs at least two sentences of 20+ words; 160 tokens leave room for them.
    max_tokens=160,
    # word_count is not listed: verbosity (n_completion_tokens) measures length with the
    # token limit as its censoring point, which a word count would ignore.
    secondary={"reading_ease": ("continuous", 5.0), "gunning_fog": ("continuous", 0.5),
               "mean_sentence_length": ("continuous", 2.0), "too_short": ("binary", 0.025)},
)
