"""Resolve a run once, before anything runs: a frozen, validated :class:`RunSpec`.

Sampling is two steps: :func:`resolve_run` checks and settles everything a run depends on
(the options, the variable and its prompt set, both model files and their hashes, the
pair check, the backend, the run directory), loading no model and writing nothing; then
:func:`bayeseffect.workflow.sample.execute_run` carries the spec out. A mistake therefore
fails in seconds, before a model is loaded. ``--variable all`` resolves the pair and the
backend once (:func:`resolve_models`, :func:`~bayeseffect.workflow.engines.resolve_backend`)
and every variable's spec shares them, so the model files are hashed once, not once per
variable.
"""

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bayeseffect import __version__
from bayeseffect.common.validation import check_finite, check_nonnegative, check_seed
from bayeseffect.engines.llama.layout import BATCH_LAYOUT
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import (
    DEFAULT_PAIR,
    PairSpec,
    ResolvedArm,
    check_gguf_file,
    load_pair,
    local_pair,
    lora_pair,
    resolve_pair,
)
from bayeseffect.pairs.check import PairCheck, check_adapter, check_pair, model_info
from bayeseffect.pairs.gguf_header import read_gguf_header
from bayeseffect.sampling.run_dir import check_run_dir, fingerprint
from bayeseffect.sampling.types import Generator, SamplingParams, sampling_determinants
from bayeseffect.variables import get_variable
from bayeseffect.variables.base import OutcomeVariable
from bayeseffect.variables.prompt_set import PromptSet
from bayeseffect.workflow.engines import Backend, GeneratorFactory, check_servers, resolve_backend

DEFAULT_RUNS_ROOT = Path("runs")


def default_threads() -> int:
    """Threads used when none are asked for: every core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def choose_pair(*, pair: str | None, base: Path | None, instruct: Path | None,
                instruct_lora: Path | None = None, lora_scale: float | None = None
                ) -> PairSpec:
    """Pick the model pair from ``--pair``, ``--base/--instruct`` or ``--base/--instruct-lora``.

    Without any of them, the default pair. ``--instruct-lora`` makes the treatment arm
    the base file plus that LoRA adapter, at ``lora_scale`` (1 when omitted).
    """
    if lora_scale is not None and instruct_lora is None:
        raise BayesEffectError("--lora-scale applies only with --instruct-lora")
    if instruct_lora is not None:
        if instruct is not None:
            raise BayesEffectError("give either --instruct or --instruct-lora, not both "
                                   "(--instruct-lora's treatment arm is the base file plus "
                                   "the adapter)")
        if pair is not None:
            raise BayesEffectError("give either --pair or --base/--instruct-lora, not both "
                                   "(a catalog entry names its adapter in [instruct.adapter])")
        if base is None:
            raise BayesEffectError("--instruct-lora needs --base, the GGUF file the adapter "
                                   "is applied to")
        scale = 1.0 if lora_scale is None else lora_scale
        check_finite(scale, option="--lora-scale")
        check_gguf_file("base", base)
        check_gguf_file("instruct", instruct_lora, what="LoRA adapter")
        return lora_pair(base, instruct_lora, scale=scale)
    if pair is not None and (base is not None or instruct is not None):
        raise BayesEffectError("give either --pair or --base/--instruct, not both")
    if (base is None) != (instruct is None):
        raise BayesEffectError("--base and --instruct go together; give both GGUF files")
    if base is not None and instruct is not None:
        for arm, path in (("base", base), ("instruct", instruct)):
            check_gguf_file(arm, path)
        return local_pair(base, instruct)
    return load_pair(pair or DEFAULT_PAIR)


@dataclass(frozen=True)
class ResolvedPair:
    """Both arms' files located, hashed and checked: what every run of a pair shares.

    Attributes
    ----------
    spec
        The catalog entry (or the local pair made from ``--base/--instruct``).
    arms
        ``{"base": ..., "instruct": ...}``: each arm's file, sha256 and prompting.
    check
        What the GGUF headers say about the pair (cross-family or matched).
    """

    spec: PairSpec
    arms: Mapping[str, ResolvedArm]
    check: PairCheck


def resolve_models(*, pair: str | None = None, base: Path | None = None,
                   instruct: Path | None = None, instruct_lora: Path | None = None,
                   lora_scale: float | None = None) -> ResolvedPair:
    """Locate, hash and check the model pair (reads both files whole; loads no model).

    Parameters
    ----------
    pair
        Catalog pair name; the offline default pair when neither it nor files are given.
    base, instruct
        Local GGUF files, instead of ``pair``.
    instruct_lora, lora_scale
        A LoRA adapter GGUF that, applied to ``base`` at ``lora_scale`` (1 when omitted),
        is the treatment arm, instead of ``instruct``.

    Returns
    -------
    ResolvedPair
        The pair, its files' hashes and the pair check.

    Raises
    ------
    BayesEffectError
        When a file is missing or not GGUF, a pinned hash differs, an adapter is not a
        LoRA for its arm's model, or the instruct arm is to be chat-prompted but its GGUF
        has no chat template.
    """
    spec = choose_pair(pair=pair, base=base, instruct=instruct, instruct_lora=instruct_lora,
                       lora_scale=lora_scale)
    arms = resolve_pair(spec)
    headers = {arm: read_gguf_header(a.path) for arm, a in arms.items()}
    adapters = {arm: check_adapter(a.adapter.path, headers[arm], sha256=a.adapter.sha256,
                                   scale=a.adapter.scale, arm=arm)
                for arm, a in arms.items() if a.adapter is not None}
    check = check_pair(model_info(headers["base"]), model_info(headers["instruct"]),
                       same_file=arms["base"].sha256 == arms["instruct"].sha256,
                       adapters=adapters)
    if arms["instruct"].prompting.frame == "chat" and not check.instruct.chat_template:
        raise BayesEffectError(
            f"the instruct model {arms['instruct'].path.name} has no chat template in its GGUF; "
            "use a GGUF that carries tokenizer.chat_template, or a catalog entry with "
            "frame = 'completion' for the instruct arm"
        )
    return ResolvedPair(spec=spec, arms=arms, check=check)


def check_options(*, replicates: int, params: SamplingParams, seed: int,
                  servers: Mapping[str, str] | None = None, concurrency: int = 4) -> None:
    """Check the run's options, reading nothing (the first step of :func:`resolve_run`).

    Raises
    ------
    BayesEffectError
        On the first option out of range, naming it.
    """
    check_seed(seed)
    if replicates < 1:
        raise BayesEffectError(f"--replicates must be at least 1, not {replicates}")
    if params.max_tokens < 1:
        raise BayesEffectError(f"--max-tokens must be at least 1, not {params.max_tokens}")
    check_nonnegative(params.temperature, option="--temperature")
    check_finite(params.top_p, option="top_p")
    if not 0 < params.top_p <= 1:
        raise BayesEffectError(f"top_p must be more than 0 and at most 1, not {params.top_p}")
    if params.threads < 1:
        raise BayesEffectError(f"--threads must be at least 1, not {params.threads}")
    if params.batch_size < 1:
        raise BayesEffectError(f"--batch-size must be at least 1, not {params.batch_size}")
    check_servers(servers, concurrency=concurrency)


@dataclass(frozen=True)
class RunSpec:
    """One run, resolved and validated: everything :func:`execute_run` needs.

    Attributes
    ----------
    variable
        The outcome variable measured.
    prompt_set
        Its prompt set, generated from ``seed``.
    replicates, seed, params
        Responses per (arm, prompt), the seed of every response, the sampling settings.
    pair
        Both arms' files, hashes and the pair check.
    backend
        What generates.
    cache
        The response cache file, or ``None``.
    run_dir
        The run directory (checked: missing, empty, or a run of this configuration).
    determinants
        Everything the responses depend on; their hash is the run's fingerprint.
    fingerprint
        sha256 of ``determinants``: the run's identity.
    """

    variable: OutcomeVariable
    prompt_set: PromptSet
    replicates: int
    seed: int
    params: SamplingParams
    pair: ResolvedPair
    backend: Backend
    cache: Path | None
    run_dir: Path
    determinants: Mapping[str, Any]
    fingerprint: str

    @property
    def uses_cache(self) -> bool:
        """Whether responses go through the cache (never a custom generator's: unknown)."""
        return self.cache is not None and self.backend.kind != "custom"

    @property
    def scores_options(self) -> bool:
        """Whether the variable's answer options are scored by likelihood."""
        return bool(self.variable.options) and self.backend.kind != "custom"

    def open_generator(self, arm: str) -> Generator:
        """Open ``arm``'s generator (for the llama backend: start its engine process)."""
        return self.backend.opener(arm, self.pair.arms[arm], self.params, self.run_dir)

    def manifest(self) -> dict[str, Any]:
        """Build the run's ``run.json``: determinants, paths, pair check, versions, time."""
        manifest: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "determinants": self.determinants,
            "pair": self.pair.spec.name,
            "model_paths": {arm: str(a.path) for arm, a in self.pair.arms.items()},
            "pair_check": self.pair.check.to_dict(),
            "versions": {**self.backend.versions, "bayeseffect_version": __version__},
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        adapters = {arm: {"path": str(a.adapter.path), **a.adapter.determinants()}
                    for arm, a in self.pair.arms.items() if a.adapter is not None}
        if adapters:
            # Only with an adapter: a run without one keeps the manifest it always had.
            manifest["adapters"] = adapters
        return manifest

    def cache_context(self) -> dict[str, dict[str, Any]]:
        """Per arm, what a cached response must share with this run to be reused.

        An arm with a LoRA adapter adds the adapter's hash and scale, so a response of the
        bare file is never reused for the file plus an adapter (nor across adapters or
        scales); an arm without one has the context it always had.
        """
        remote = self.backend.remote
        contexts: dict[str, dict[str, Any]] = {}
        for arm, a in self.pair.arms.items():
            contexts[arm] = {"model_sha256": a.sha256, "prompting": asdict(a.prompting),
                             "versions": dict(self.backend.versions),
                             "params": sampling_determinants(self.params, remote=remote),
                             "batch_layout": None if remote else BATCH_LAYOUT}
            if a.adapter is not None:
                contexts[arm]["adapter"] = a.adapter.determinants()
        return contexts


def _model_determinants(arm: ResolvedArm) -> dict[str, Any]:
    model: dict[str, Any] = {"sha256": arm.sha256, "prompting": asdict(arm.prompting)}
    if arm.adapter is not None:
        # Only with an adapter, so that every run without one keeps its fingerprint.
        model["adapter"] = arm.adapter.determinants()
    return model


def _determinants(var: OutcomeVariable, prompt_set: PromptSet, *, pair: ResolvedPair,
                  backend: Backend, replicates: int, seed: int,
                  params: SamplingParams) -> dict[str, Any]:
    determinants: dict[str, Any] = {
        "variable": var.name,
        "prompt_set": {"name": prompt_set.name, "version": prompt_set.version,
                       "seed": prompt_set.seed, "sha256": prompt_set.sha256,
                       "n_prompts": len(prompt_set.items)},
        "replicates": replicates,
        "seed": seed,
        "sampling": sampling_determinants(params, remote=backend.remote),
        "models": {arm: _model_determinants(a) for arm, a in pair.arms.items()},
        "llama_cpp_python_version": backend.versions["llama_cpp_python_version"],
    }
    if backend.servers is not None:
        # Another engine answers: its responses must never mix with local ones.
        determinants["backend"] = {"kind": "openai",
                                   "servers": dict(sorted(backend.servers.items())),
                                   "described": backend.versions["llama_cpp_system_info"]}
    else:
        determinants["batch_layout"] = BATCH_LAYOUT
        if "extra_weight_buffers" in backend.versions:
            # Repacked weights go through other matrix kernels, which round differently.
            determinants["extra_weight_buffers"] = backend.versions["extra_weight_buffers"]
    return determinants


def _check_backend_applies_adapters(remote: bool, models: ResolvedPair) -> None:
    """Refuse adapters on servers: each answers with what it loaded, unaware of ours."""
    if remote and any(a.adapter is not None for a in models.arms.values()):
        raise BayesEffectError("the openai backend cannot apply a LoRA adapter (each server "
                               "answers with the model it loaded); sample an adapter arm "
                               "with --backend llama")


def resolve_run(
    variable: str,
    *,
    pair: str | None = None,
    base: Path | None = None,
    instruct: Path | None = None,
    instruct_lora: Path | None = None,
    lora_scale: float | None = None,
    models: ResolvedPair | None = None,
    prompts: int = 40,
    replicates: int = 4,
    seed: int = 0,
    params: SamplingParams | None = None,
    out: Path | None = None,
    runs_root: Path = DEFAULT_RUNS_ROOT,
    servers: Mapping[str, str] | None = None,
    concurrency: int = 4,
    cache: Path | None = None,
    open_generator: GeneratorFactory | None = None,
    backend: Backend | None = None,
) -> RunSpec:
    """Check and settle everything a run depends on, loading no model and writing nothing.

    In order, cheapest first: the options, the variable and its prompt set (and its size
    cap), both model files (present, GGUF, hashed, pinned hash, chat template) and the
    pair check, the backend (servers answer, or llama-cpp-python is installed), and the
    run directory (missing, empty, or a run of this very configuration).

    Parameters
    ----------
    variable
        Registered variable name (``logic``).
    pair
        Catalog pair name; the offline default pair when neither it nor files are given.
    base, instruct
        Local GGUF files, instead of ``pair``.
    instruct_lora, lora_scale
        A LoRA adapter applied to ``base`` as the treatment arm, instead of ``instruct``.
    prompts
        Number of prompts generated (at most the variable's cap, for a fixed set).
    replicates
        Responses per (arm, prompt).
    seed
        Seed of the prompt set and of every response.
    params
        Sampling settings; every core (at most 4) and the defaults when omitted.
    out
        Run directory; ``runs_root / <variable>-<fingerprint[:10]>`` when omitted.
    runs_root
        Parent folder of default run directories.
    servers, concurrency, open_generator
        The backend, as for :func:`bayeseffect.workflow.sample.sample_run`.
    cache
        The response cache file, or ``None``.
    models
        The pair already resolved (:func:`resolve_models`), instead of ``pair`` or
        ``base``/``instruct``: runs of one pair share it, and its files are not hashed again.
    backend
        The backend already resolved (:func:`resolve_backend`), instead of ``servers``,
        ``concurrency`` and ``open_generator``.

    Returns
    -------
    RunSpec
        The frozen run, ready for :func:`bayeseffect.workflow.sample.execute_run`.

    Raises
    ------
    BayesEffectError
        On the first thing that would make the run fail or mix with another.
    """
    params = params or SamplingParams(threads=default_threads())
    check_options(replicates=replicates, params=params, seed=seed, servers=servers,
                  concurrency=concurrency)
    var = get_variable(variable)
    prompt_set = var.make_prompts(prompts, seed)
    if not prompt_set.items:
        raise BayesEffectError("the prompt set is empty; ask for at least 1 prompt")
    if models is None:
        models = resolve_models(pair=pair, base=base, instruct=instruct,
                                instruct_lora=instruct_lora, lora_scale=lora_scale)
    elif (pair is not None or base is not None or instruct is not None
          or instruct_lora is not None):
        raise BayesEffectError("give either a resolved pair or --pair/--base/--instruct")
    # Before any server is asked what it serves: the answer would not matter.
    _check_backend_applies_adapters(servers is not None or (backend is not None
                                                            and backend.remote), models)
    if backend is None:
        backend = resolve_backend(params=params, servers=servers, concurrency=concurrency,
                                  open_generator=open_generator)
    determinants = _determinants(var, prompt_set, pair=models, backend=backend,
                                 replicates=replicates, seed=seed, params=params)
    identity = fingerprint(determinants)
    run_dir = out or runs_root / f"{var.name}-{identity[:10]}"
    # Read-only: a file, a foreign folder or another configuration's run fails now; the
    # claim checks again under the run's lock.
    check_run_dir(run_dir, {"fingerprint": identity, "determinants": determinants})
    return RunSpec(variable=var, prompt_set=prompt_set, replicates=replicates, seed=seed,
                   params=params, pair=models, backend=backend, cache=cache, run_dir=run_dir,
                   determinants=determinants, fingerprint=identity)
