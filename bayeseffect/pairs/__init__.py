"""Model pairs.

The catalog in models/, our GGUF header reader, and the check that a pair is matched.
"""
