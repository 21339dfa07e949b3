"""Scorers: pure functions from a response's text (and its item) to outcome values."""
