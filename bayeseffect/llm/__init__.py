"""The LLM layer: running GGUF models through llama-cpp-python. Nothing above sampling imports it."""
