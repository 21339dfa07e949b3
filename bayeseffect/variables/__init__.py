"""Outcome variables: what is measured, on which prompts, scored how, fitted with which model."""

from bayeseffect.variables.registry import OutcomeVariable, get_variable, variable_names

__all__ = ["OutcomeVariable", "get_variable", "variable_names"]
