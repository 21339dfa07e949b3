"""Reporting: the effect, its interval and its provenance, in the terminal, JSON and plots."""
