"""bayeseffect: the total causal effect of instruction tuning, estimated with PyMC."""

__version__ = "0.1.0"
