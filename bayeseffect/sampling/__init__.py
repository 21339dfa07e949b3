"""Sampling bookkeeping, without any LLM library.

Generator types, the sampling loop, the journal, the response cache, the run directory.
"""
