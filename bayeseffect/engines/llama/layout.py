"""The llama engine's batch layout version, importable without llama_cpp (fingerprints use it)."""

#: Version of how the llama-cpp-python backend lays out a batch's cells (the preamble
#: cached per load, then shared prefixes, prompts and replicates): a response depends on
#: it, so it is part of every run's fingerprint and every cache key. Bump it whenever the
#: layout changes.
BATCH_LAYOUT = 2
