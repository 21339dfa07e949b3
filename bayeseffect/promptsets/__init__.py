"""Prompt sets: versioned, seeded generators of items with known answers."""

from bayeseffect.promptsets.base import PromptItem, PromptSet

__all__ = ["PromptItem", "PromptSet"]
