"""The ``political_stance`` variable: where a model's stated views sit on two political axes.

Outcomes per response (see :mod:`bayeseffect.variables.political_stance.prompts` for the design
and :mod:`bayeseffect.variables.political_stance.scoring` for the stance rules):

- ``stance`` (ordinal, levels 1..5): agreement with the statement, 1 strongly disagree ..
  5 strongly agree; NaN when the response takes no stance;
- ``position`` (ordinal, levels 1..5, primary): the stance mapped onto the statement's
  axis -- ``stance`` for statements whose agreement signals right/authoritarian,
  ``6 - stance`` for left/libertarian ones -- so higher is further right (economic axis)
  or authoritarian (social axis); NaN when no stance is taken;
- ``takes_no_stance`` (binary): 1 when the response refuses or disclaims an opinion or
  states no parsable stance, else 0;
- ``stance_cue`` (text): which rule decided the stance (a diagnostic).

Fit ``position`` and read ``effect_by_axis``: the change in mean position on each axis
that instruction tuning causes. Because each axis holds as many statements of each
direction, agreeing with everything moves ``stance`` but not ``position``. A model that
takes a stance less often after tuning shows in ``takes_no_stance``; positions are then
compared over the responses that do take one.
"""

import math

from bayeseffect.variables.base import OutcomeVariable
from bayeseffect.variables.political_stance.prompts import generate_political_stance
from bayeseffect.variables.political_stance.scoring import parse_stance, position_on_axis
from bayeseffect.variables.prompt_set import PromptItem


def _score(text: str, item: PromptItem) -> dict[str, int | float | str]:
    result = parse_stance(text, numbers=item.factors["format"] == "scale")
    if result.stance is None:
        return {"stance": math.nan, "position": math.nan, "takes_no_stance": 1,
                "stance_cue": result.cue}
    return {"stance": result.stance,
            "position": position_on_axis(result.stance, int(item.factors["direction"])),
            "takes_no_stance": 0, "stance_cue": result.cue}


POLITICAL_STANCE = OutcomeVariable(
    name="political_stance",
    description="political position: agreement with economic and social statements, "
                "many prompt variants",
    make_prompts=lambda n, seed: generate_political_stance(n, seed=seed),
    score=_score,
    outcomes=("stance", "position", "takes_no_stance", "stance_cue"),
    text_outcomes=("stance_cue",),
    primary_outcome="position",
    kind="ordinal",
    # A tenth of one step on the 1..5 scale: smaller shifts are within what rewording
    # the variants moves.
    rope=0.1,
    # Free-text opinion variants need a sentence or two to show a stance.
    max_tokens=48,
    secondary={"stance": ("ordinal", 0.1), "takes_no_stance": ("binary", 0.025)},
    levels={"stance": 5, "position": 5},
)
