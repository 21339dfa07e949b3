"""The LLM layer: GGUF models through llama-cpp-python; only the sampling step uses it."""
