"""Outcome variables: what is measured, on which prompts, scored how, fitted with which model."""

from bayeseffect.variables.base import OutcomeVariable
from bayeseffect.variables.registry import get_variable, variable_names

__all__ = ["OutcomeVariable", "get_variable", "variable_names"]
