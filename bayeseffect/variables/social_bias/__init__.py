"""The `social_bias` variable: its prompt generator (prompts), scorer (scoring) and definition."""
