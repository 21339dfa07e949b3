"""What generates a run's responses: the backends, and the seam to llama-cpp-python.

A :class:`Backend` is one of three: ``llama`` (each arm's GGUF file in an engine process of
its own), ``openai`` (OpenAI-compatible servers that serve the same files) or ``custom``
(a caller's generator factory, as tests give). :func:`resolve_backend` chooses it once,
before any model loads, and records how it describes itself in the manifest.

The workflow reaches llama-cpp-python only through :func:`llm_layer`, imported lazily so
that ``import bayeseffect`` and the fit/report steps never load it. Tests swap the layer
for a fake one with ``monkeypatch.setattr(engines, "llm_layer", ...)``, so it is looked up
at call time (as a module global here, ``engines.llm_layer`` elsewhere).
"""

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bayeseffect.common.validation import check_server_url
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import ARMS, ResolvedArm
from bayeseffect.sampling.types import Generator, SamplingParams

#: ``(arm, resolved_arm, params) -> Generator``: a caller's own generator (tests).
GeneratorFactory = Callable[[str, ResolvedArm, SamplingParams], Generator]
#: ``(arm, resolved_arm, params, run_dir) -> Generator``: how a backend opens an arm.
Opener = Callable[[str, ResolvedArm, SamplingParams, Path], Generator]

_URL_OPTIONS = {"base": "--base-url", "instruct": "--instruct-url"}


@dataclass(frozen=True)
class LlmLayer:
    """What sampling with llama-cpp-python needs from the LLM layer.

    Attributes
    ----------
    llama_versions
        ``() -> dict``: engine versions, CPU features and the weight-buffer setting.
    start_engine
        ``(path, *, prompting, params, arm, log[, adapter, adapter_scale]) -> Generator``:
        one arm's model (and LoRA adapter), loaded in an engine process of its own.
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


@dataclass(frozen=True)
class Backend:
    """What generates the responses, and how it describes itself in the manifest.

    Attributes
    ----------
    kind
        ``llama`` (an engine process per arm), ``openai`` (OpenAI-compatible servers) or
        ``custom`` (a caller's generator factory, e.g. a test's fake).
    versions
        Engine versions and system info, recorded in the manifest and the dataset.
    opener
        ``(arm, resolved_arm, params, run_dir) -> Generator``.
    servers
        ``{"base": URL, "instruct": URL}`` for ``openai``, else ``None``.
    """

    kind: Literal["llama", "openai", "custom"]
    versions: Mapping[str, str]
    opener: Opener
    servers: Mapping[str, str] | None = None

    @property
    def remote(self) -> bool:
        """Whether another program generates (the ``openai`` backend)."""
        return self.kind == "openai"


def _llama_backend() -> Backend:
    layer = llm_layer()

    def open_engine(arm: str, resolved: ResolvedArm, params: SamplingParams,
                    run_dir: Path) -> Generator:
        # In a process of its own: a native crash must not take the journal with it.
        # The adapter is named only when there is one: engines without adapters are
        # started exactly as before.
        lora = ({"adapter": resolved.adapter.path, "adapter_scale": resolved.adapter.scale}
                if resolved.adapter is not None else {})
        return layer.start_engine(resolved.path, prompting=resolved.prompting, params=params,
                                  arm=arm, log=run_dir / f"engine-{arm}.log", **lora)

    return Backend(kind="llama", versions=layer.llama_versions(), opener=open_engine)


def _server_backend(servers: Mapping[str, str], *, params: SamplingParams,
                    concurrency: int) -> Backend:
    """Ask each arm's server once which model it serves (failing fast when one is down)."""
    from bayeseffect.engines.openai_server import OpenAICompatibleGenerator, served_model

    models = {arm: served_model(url, params=params) for arm, url in servers.items()}

    def open_server(arm: str, resolved: ResolvedArm, p: SamplingParams,
                    run_dir: Path) -> Generator:
        return OpenAICompatibleGenerator(servers[arm], model=models[arm],
                                         prompting=resolved.prompting, params=p,
                                         concurrency=concurrency)

    described = "; ".join(f"{arm}: {servers[arm]} serving {models[arm]!r}" for arm in ARMS)
    return Backend(kind="openai", servers=dict(servers), opener=open_server,
                   versions={"llama_cpp_python_version": "remote",
                             "llama_cpp_version": "remote",
                             "llama_cpp_system_info": f"OpenAI-compatible servers ({described})"})


def _custom_backend(open_generator: GeneratorFactory) -> Backend:
    def open_custom(arm: str, resolved: ResolvedArm, params: SamplingParams,
                    run_dir: Path) -> Generator:
        return open_generator(arm, resolved, params)

    return Backend(kind="custom", opener=open_custom,
                   versions={"llama_cpp_python_version": "none", "llama_cpp_version": "none",
                             "llama_cpp_system_info": "custom generator"})


def resolve_backend(*, params: SamplingParams, servers: Mapping[str, str] | None = None,
                    concurrency: int = 4, open_generator: GeneratorFactory | None = None
                    ) -> Backend:
    """Choose what generates: servers when given, else a custom factory, else llama.cpp.

    Parameters
    ----------
    params
        Sampling settings (the servers are probed with them).
    servers, concurrency
        OpenAI-compatible servers per arm and requests in flight per server.
    open_generator
        ``(arm, resolved_arm, params) -> Generator``; ignored when ``servers`` are given.

    Returns
    -------
    Backend
        The backend, with the versions the manifest records. Asks each server which model
        it serves, or checks that llama-cpp-python is installed; starts no engine.
    """
    check_servers(servers, concurrency=concurrency)
    if servers is not None:
        return _server_backend(servers, params=params, concurrency=concurrency)
    if open_generator is not None:
        return _custom_backend(open_generator)
    return _llama_backend()


def check_servers(servers: Mapping[str, str] | None, *, concurrency: int) -> None:
    """Check the ``openai`` backend's options: both arms' URLs and the concurrency."""
    if servers is None:
        return
    if set(servers) != set(ARMS):
        raise BayesEffectError("the openai backend needs both --base-url and --instruct-url")
    for arm, url in servers.items():
        check_server_url(url, option=_URL_OPTIONS[arm])
    if concurrency < 1:
        raise BayesEffectError(f"--concurrency must be at least 1, not {concurrency}")
