"""The ``logic`` variable: whether the yes/no verdict on a deductive chain is correct."""

from bayeseffect.variables.base import OutcomeVariable
from bayeseffect.variables.logic.prompts import generate_logic
from bayeseffect.variables.logic.scoring import score_yes_no
from bayeseffect.variables.prompt_set import PromptItem


def _score(text: str, item: PromptItem) -> dict[str, int | float | str]:
    result = score_yes_no(text, item.expected)
    return {"answer": result.answer, "correct": result.correct,
            "parse_failure": result.parse_failure}


LOGIC = OutcomeVariable(
    name="logic",
    description="deductive reasoning: correct yes/no verdicts on chains of 1-5 steps",
    make_prompts=lambda n, seed: generate_logic(n, seed=seed),
    score=_score,
    outcomes=("answer", "correct", "parse_failure"),
    text_outcomes=("answer",),
    primary_outcome="correct",
    kind="binary",
    # Two and a half percentage points of accuracy: smaller changes are within what a
    # reworded prompt set moves.
    rope=0.025,
    options=("yes", "no"),
)
