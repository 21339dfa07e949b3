"""Priors as objects: a distribution name and its parameters, overridable per model."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prior:
    """A prior distribution, created lazily inside a model.

    Attributes
    ----------
    distribution
        Name of a PyMC distribution (``"Normal"``, ``"HalfNormal"``, ``"Gamma"``...).
    params
        Its parameters.

    Examples
    --------
    >>> Prior("Normal", {"mu": 0.0, "sigma": 1.5})
    Prior(distribution='Normal', params={'mu': 0.0, 'sigma': 1.5})
    """

    distribution: str
    params: dict[str, Any] = field(default_factory=dict)

    def create(self, name: str, *, dims: str | tuple[str, ...] | None = None) -> Any:
        """Add the random variable ``name`` with this prior to the model in context."""
        # Imported here: the kinds table holds priors and must import without PyMC.
        import pymc as pm

        return getattr(pm, self.distribution)(name, **self.params, dims=dims)


@dataclass(frozen=True)
class HierarchyPriors:
    """Priors of the shared hierarchical linear predictor (see :mod:`.hierarchy`).

    Attributes
    ----------
    intercept
        Base-arm intercept ``alpha`` (logit, log or standardized scale).
    effect
        Mean arm effect ``beta``.
    group_sd
        Every group-level SD (prompt and family intercepts and slopes).
    """

    intercept: Prior = Prior("Normal", {"mu": 0.0, "sigma": 1.5})
    effect: Prior = Prior("Normal", {"mu": 0.0, "sigma": 1.0})
    group_sd: Prior = Prior("HalfNormal", {"sigma": 1.0})
