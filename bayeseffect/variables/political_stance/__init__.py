"""The `political_stance` variable.

Its prompt generator (prompts), scorer (scoring) and definition.
"""
