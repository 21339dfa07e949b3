"""The seam between the workflow and llama-cpp-python: what sampling needs from the engine.

The workflow reaches llama-cpp-python only through :func:`llm_layer`, imported lazily so
that ``import bayeseffect`` and the fit/report steps never load it. Tests swap the layer
for a fake one with ``monkeypatch.setattr(engines, "llm_layer", ...)``; callers therefore
look it up as ``engines.llm_layer()``, never ``from ... import llm_layer``.
"""

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.types import Generator


@dataclass(frozen=True)
class LlmLayer:
    """What sampling with llama-cpp-python needs from the LLM layer.

    Attributes
    ----------
    llama_versions
        ``() -> dict``: engine versions, CPU features and the weight-buffer setting.
    start_engine
        ``(path, *, prompting, params, arm, log) -> Generator``: one arm's model, loaded
        in an engine process of its own.
    """

    llama_versions: Callable[[], dict[str, str]]
    start_engine: Callable[..., Generator]


def llm_layer() -> LlmLayer:
    """Return the llama-cpp-python layer, with the install hint when it is missing.

    Returns
    -------
    LlmLayer
        The real engine's versions and process starter.

    Raises
    ------
    BayesEffectError
        When llama-cpp-python is not installed.
    """
    # The engine imports llama_cpp in its own process: say here, with the install hint.
    if importlib.util.find_spec("llama_cpp") is None:
        raise BayesEffectError(
            "sampling needs llama-cpp-python, which is not installed; run `uv sync` in a "
            "checkout or `pip install 'bayeseffect[llm]'`"
        )
    from bayeseffect.engines.llama import generator as llama_backend
    from bayeseffect.engines.llama.process import EngineProcess

    return LlmLayer(llama_versions=llama_backend.llama_versions,
                    start_engine=EngineProcess.start)
