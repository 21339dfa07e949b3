"""Engines that generate text: llama-cpp-python in a child process, or OpenAI-compatible servers."""
