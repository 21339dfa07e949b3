"""The `complexity` variable: its prompt generator (prompts), scorer (scoring) and definition."""
