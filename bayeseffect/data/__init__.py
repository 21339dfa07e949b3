"""The dataset contract and the dataset built from a run's journal."""
