"""The registry of outcome variables, looked up by the name given to ``--variable``.

Adding a variable: a folder beside this file (``prompts.py``, ``scoring.py``,
``definition.py``) and one line in ``_REGISTRY`` below.
"""

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from bayeseffect.errors import BayesEffectError
from bayeseffect.variables.base import OutcomeVariable
from bayeseffect.variables.complexity.definition import COMPLEXITY
from bayeseffect.variables.logic.definition import LOGIC
from bayeseffect.variables.political_stance.definition import POLITICAL_STANCE
from bayeseffect.variables.refusal.definition import REFUSAL
from bayeseffect.variables.social_bias.definition import SOCIAL_BIAS
from bayeseffect.variables.sycophancy.definition import SYCOPHANCY
from bayeseffect.variables.sycophancy_perez.definition import SYCOPHANCY_PEREZ

_REGISTRY: Mapping[str, OutcomeVariable] = MappingProxyType({v.name: v for v in (
    LOGIC,
    SOCIAL_BIAS,
    POLITICAL_STANCE,
    SYCOPHANCY,
    SYCOPHANCY_PEREZ,
    COMPLEXITY,
    REFUSAL,
)})


def default_rope(name: str) -> float:
    """Return a registered variable's ROPE, or 0 for unregistered (e.g. simulated) ones."""
    registry = _REGISTRY
    return registry[name].rope if name in registry else 0.0


def variable_names() -> tuple[str, ...]:
    """Return the registered variable names."""
    return tuple(_REGISTRY)


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
    registry = _REGISTRY
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, list(registry), n=3, cutoff=0.4)
    hint = f"did you mean {' or '.join(close)}?" if close else ""
    raise BayesEffectError(
        f"unknown variable {name!r}; {hint + ' ' if hint else ''}"
        f"known variables: {', '.join(registry)}"
    )
