"""The llama-cpp-python engine.

Batched decoding, the generator, the engine process and its worker, the guarded server.
"""
