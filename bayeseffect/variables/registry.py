"""The registry of outcome variables, looked up by the name given to ``--variable``."""

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from bayeseffect.errors import BayesEffectError
from bayeseffect.promptsets.base import PromptItem, PromptSet

Kind = Literal["binary", "continuous", "count", "ordinal"]

#: Kind and ROPE (in tokens) of the verbosity outcome every run carries.
VERBOSITY: tuple[Kind, float] = ("count", 5.0)


#: Option-likelihood outcome: P(expected option) / P(any option) at the answer slot, one
#: value per prompt and arm (stored in replicate 0; the others are NaN, as a forward pass
#: without sampling has no replicates).
OPTION_OUTCOME = "option_p_correct"


@dataclass(frozen=True)
class OutcomeVariable:
    """One measurable behaviour.

    Attributes
    ----------
    name
        The ``--variable`` name.
    description
        One line for ``--help`` and reports.
    make_prompts
        ``(n_prompts, seed) -> PromptSet``: the variable's prompt design.
    score
        ``(response_text, item) -> {outcome: value}``: a pure scorer.
    outcomes
        Outcome names the scorer returns, in order; numeric except where named in
        ``text_outcomes``.
    text_outcomes
        Outcomes that are strings (a parsed answer, for instance).
    primary_outcome
        The outcome whose total effect is the headline.
    kind
        Likelihood family of the primary outcome's fit.
    rope
        Half-width of the region of practical equivalence around a zero effect, in the
        primary outcome's units: effects inside it are too small to matter.
    secondary
        Other numeric outcomes that ``bayeseffect fit --outcome NAME`` can fit, with their
        likelihood family and ROPE: ``{outcome: (kind, rope)}``. Every run can also fit
        ``n_completion_tokens`` (verbosity, a count) without listing it here.
    levels
        Ordinal outcomes only: ``{outcome: number of levels K}`` (values are 1..K).
    max_tokens
        Tokens a response gets unless ``--max-tokens`` says otherwise: a yes/no verdict
        needs few, an explanation to be graded for readability needs many.
    max_prompts
        Most prompts the prompt set holds (a fixed published set), or ``None`` when the
        generator makes any number.
    options
        Closed-form answer options (``("yes", "no")``), each item's ``expected`` one of
        them: the run then also reads, in one forward pass per batch, the probability the
        model puts on each option at the answer slot, and stores the share of the
        expected one as the continuous outcome :data:`OPTION_OUTCOME` (empty: none).
    option_forms
        How an answer may name an option, as format strings: ``("{}",)`` when options are
        written as themselves, ``("({})", "{}")`` when the prompt lists them as "(A) ...".
    """

    name: str
    description: str
    make_prompts: Callable[[int, int], PromptSet]
    score: Callable[[str, PromptItem], dict[str, int | float | str]]
    outcomes: tuple[str, ...]
    text_outcomes: tuple[str, ...]
    primary_outcome: str
    kind: Kind
    rope: float
    secondary: Mapping[str, tuple[Kind, float]] = field(default_factory=dict)
    levels: Mapping[str, int] = field(default_factory=dict)
    max_tokens: int = 16
    max_prompts: int | None = None
    options: tuple[str, ...] = ()
    option_forms: tuple[str, ...] = ("{}",)

    def fit_kinds(self) -> dict[str, tuple[Kind, float]]:
        """Every fittable outcome with its kind and ROPE, the primary outcome first."""
        options: dict[str, tuple[Kind, float]] = (
            {OPTION_OUTCOME: ("continuous", self.rope)} if self.options else {})
        return {self.primary_outcome: (self.kind, self.rope), **self.secondary, **options,
                "n_completion_tokens": VERBOSITY}


def _build_registry() -> Mapping[str, OutcomeVariable]:
    from bayeseffect.variables.complexity import COMPLEXITY
    from bayeseffect.variables.logic import LOGIC
    from bayeseffect.variables.political_stance import POLITICAL_STANCE
    from bayeseffect.variables.refusal import REFUSAL
    from bayeseffect.variables.social_bias import SOCIAL_BIAS
    from bayeseffect.variables.sycophancy import SYCOPHANCY
    from bayeseffect.variables.sycophancy_perez import SYCOPHANCY_PEREZ

    return MappingProxyType({v.name: v for v in (
        LOGIC, SOCIAL_BIAS, POLITICAL_STANCE, SYCOPHANCY, SYCOPHANCY_PEREZ, COMPLEXITY,
        REFUSAL)})


def default_rope(name: str) -> float:
    """Return a registered variable's ROPE, or 0 for unregistered (e.g. simulated) ones."""
    registry = _build_registry()
    return registry[name].rope if name in registry else 0.0


def variable_names() -> tuple[str, ...]:
    """Return the registered variable names."""
    return tuple(_build_registry())


def get_variable(name: str) -> OutcomeVariable:
    """Return the variable called ``name``; a typo gets the closest names suggested.

    Parameters
    ----------
    name
        The ``--variable`` value.

    Returns
    -------
    OutcomeVariable
        The registered variable.

    """
    registry = _build_registry()
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, list(registry), n=3, cutoff=0.4)
    hint = f"did you mean {' or '.join(close)}?" if close else ""
    raise BayesEffectError(
        f"unknown variable {name!r}; {hint + ' ' if hint else ''}"
        f"known variables: {', '.join(registry)}"
    )
