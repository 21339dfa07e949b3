"""The steps a user runs: sample, fit, report, plan, study."""
