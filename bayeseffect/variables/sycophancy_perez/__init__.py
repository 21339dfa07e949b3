"""The `sycophancy_perez` variable.

Its prompt generator (prompts), scorer (scoring) and definition.
"""
