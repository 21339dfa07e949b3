"""The statistics layer: reads datasets from disk, never imports the LLM layer."""
