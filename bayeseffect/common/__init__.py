"""Foundations every layer may use.

Atomic files and one-line OS errors, input validation, and where the shipped catalogs live.
"""
