"""llama-cpp-python's OpenAI-compatible server, safe on every CPU it runs on.

``python -m bayeseffect.engines.llama.serve --model FILE [server options]`` takes the same options
as ``python -m llama_cpp.server`` and runs that server, loading its model without
llama.cpp's extra weight buffers where the llama-cpp-python build has AMX compiled in
(where the plain server segfaults at its first request; see
:func:`bayeseffect.engines.llama.generator.extra_buffers_safe`).
"""

import runpy

from bayeseffect.engines.llama.generator import safe_llama_loading


def main() -> None:
    """Run ``llama_cpp.server`` with this process's command-line arguments."""
    with safe_llama_loading():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
