"""What an outcome variable is: :class:`OutcomeVariable`, shared by every folder beside this one."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bayeseffect.variables.prompt_set import PromptItem, PromptSet

#: An outcome kind's name: a key of ``bayeseffect.stats.kinds.KINDS``, the one table of
#: kinds (a layer above this one; tests/stats/test_kinds.py checks every variable's).
Kind = str

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
