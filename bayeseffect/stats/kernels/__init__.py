"""Hand-written model kernels: the mathematics (numba) apart from the sampler glue (nutpie)."""
