"""Print the path of the shipped gemma-3-270m base GGUF (run with the project's environment)."""

from bayeseffect.pairs.catalog import load_pair, resolve_pair

print(resolve_pair(load_pair("offline-default"))["base"].path)
