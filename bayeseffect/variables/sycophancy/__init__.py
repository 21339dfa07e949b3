"""The `sycophancy` variable: its prompt generator (prompts), scorer (scoring) and definition."""
