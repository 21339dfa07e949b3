"""Sample a run: both arms on a variable's prompt set, journaled, then the dataset.

Data flows one way: prompts -> responses (journal) -> dataset.nc -> posterior.nc ->
report. Fitting and reporting (``workflow.fit``, ``workflow.report``) read only files,
so they never need an LLM.
"""

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bayeseffect import __version__
from bayeseffect.common.validation import (
    check_finite,
    check_nonnegative,
    check_seed,
)
from bayeseffect.data.dataset import build_dataset, save_dataset
from bayeseffect.engines.llama.layout import BATCH_LAYOUT
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import (
    ARMS,
    DEFAULT_PAIR,
    PairSpec,
    ResolvedArm,
    check_gguf_file,
    load_pair,
    local_pair,
    resolve_pair,
)
from bayeseffect.pairs.check import PairCheck, check_pair, read_model_info
from bayeseffect.sampling.journal import read_journal, scan_journal
from bayeseffect.sampling.loop import SamplingSummary, open_cache, sample_responses, warn
from bayeseffect.sampling.option_scores import read_option_scores, score_options, scores_path
from bayeseffect.sampling.run_dir import (
    DATASET,
    JOURNAL,
    PROMPTS,
    claim_run_dir,
    fingerprint,
    read_manifest,
)
from bayeseffect.sampling.types import Generator, SamplingParams, sampling_determinants
from bayeseffect.variables import get_variable
from bayeseffect.variables.prompt_set import PromptSet

DEFAULT_RUNS_ROOT = Path("runs")


def default_threads() -> int:
    """Threads used when none are asked for: every core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def choose_pair(*, pair: str | None, base: Path | None, instruct: Path | None) -> PairSpec:
    """Pick the model pair from ``--pair`` or ``--base/--instruct``, else the default pair."""
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
class LlmLayer:
    """What sampling with llama-cpp-python needs from the LLM layer (imported lazily).

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


def _llm_layer() -> LlmLayer:
    import importlib.util

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


def _server_generators(servers: dict[str, str], *, params: SamplingParams, concurrency: int
                       ) -> tuple[Callable[[str, ResolvedArm, SamplingParams], Generator],
                                  dict[str, str]]:
    """Open each arm's server once (failing fast when one is down) and describe them."""
    from bayeseffect.engines.openai_server import OpenAICompatibleGenerator, served_model

    if set(servers) != set(ARMS):
        raise BayesEffectError("the openai backend needs both --base-url and --instruct-url")
    if concurrency < 1:
        raise BayesEffectError(f"--concurrency must be at least 1, not {concurrency}")
    models = {arm: served_model(url, params=params) for arm, url in servers.items()}

    def open_server(arm: str, resolved: ResolvedArm, p: SamplingParams) -> Generator:
        return OpenAICompatibleGenerator(servers[arm], model=models[arm],
                                         prompting=resolved.prompting, params=p,
                                         concurrency=concurrency)

    described = "; ".join(f"{arm}: {servers[arm]} serving {models[arm]!r}" for arm in ARMS)
    return open_server, {"llama_cpp_python_version": "remote", "llama_cpp_version": "remote",
                         "llama_cpp_system_info": f"OpenAI-compatible servers ({described})"}


def _manifest(variable: str, prompt_set: PromptSet, *, spec: PairSpec,
              arms: dict[str, ResolvedArm], check: PairCheck, replicates: int, seed: int,
              params: SamplingParams, versions: dict[str, str],
              servers: dict[str, str] | None = None) -> dict[str, Any]:
    determinants = {
        "variable": variable,
        "prompt_set": {"name": prompt_set.name, "version": prompt_set.version,
                       "seed": prompt_set.seed, "sha256": prompt_set.sha256,
                       "n_prompts": len(prompt_set.items)},
        "replicates": replicates,
        "seed": seed,
        "sampling": sampling_determinants(params, remote=servers is not None),
        "models": {arm: {"sha256": a.sha256, "prompting": asdict(a.prompting)}
                   for arm, a in arms.items()},
        "llama_cpp_python_version": versions["llama_cpp_python_version"],
    }
    if servers is not None:
        # Another engine answers: its responses must never mix with local ones.
        determinants["backend"] = {"kind": "openai", "servers": dict(sorted(servers.items())),
                                   "described": versions["llama_cpp_system_info"]}
    else:
        determinants["batch_layout"] = BATCH_LAYOUT
        if "extra_weight_buffers" in versions:
            # Repacked weights go through other matrix kernels, which round differently.
            determinants["extra_weight_buffers"] = versions["extra_weight_buffers"]
    return {
        "fingerprint": fingerprint(determinants),
        "determinants": determinants,
        "pair": spec.name,
        "model_paths": {arm: str(a.path) for arm, a in arms.items()},
        "pair_check": check.to_dict(),
        "versions": {**versions, "bayeseffect_version": __version__},
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def dataset_attrs(manifest: dict[str, Any]) -> dict[str, str | int]:
    """Flatten a run manifest into the dataset's provenance attrs (netCDF-safe values)."""
    det = manifest["determinants"]
    check = manifest["pair_check"]
    attrs: dict[str, str | int] = {
        "pair_name": manifest["pair"],
        "cross_family": int(check["cross_family"]),
        "cross_family_reasons": "; ".join(check["reasons"]),
        "llama_cpp_python_version": manifest["versions"]["llama_cpp_python_version"],
        "llama_cpp_version": manifest["versions"]["llama_cpp_version"],
        "llama_cpp_system_info": manifest["versions"]["llama_cpp_system_info"],
        "prompt_set": det["prompt_set"]["name"],
        "prompt_set_version": det["prompt_set"]["version"],
        "prompt_set_sha256": det["prompt_set"]["sha256"],
        "prompt_set_seed": det["prompt_set"]["seed"],
        "sampling_params": json.dumps(det["sampling"], sort_keys=True),
        "seed": det["seed"],
        "bayeseffect_version": manifest["versions"]["bayeseffect_version"],
        "run_fingerprint": manifest["fingerprint"],
        "created_utc": manifest["created_utc"],
    }
    if "extra_weight_buffers" in manifest["versions"]:
        attrs["llama_cpp_extra_weight_buffers"] = manifest["versions"]["extra_weight_buffers"]
    for arm in ARMS:
        attrs[f"{arm}_model_path"] = manifest["model_paths"][arm]
        attrs[f"{arm}_model_sha256"] = det["models"][arm]["sha256"]
        attrs[f"{arm}_model_name"] = check[arm]["name"]
        attrs[f"{arm}_prompting"] = json.dumps(det["models"][arm]["prompting"], sort_keys=True)
    return attrs


def sample_run(
    variable: str,
    *,
    pair: str | None = None,
    base: Path | None = None,
    instruct: Path | None = None,
    prompts: int = 40,
    replicates: int = 4,
    seed: int = 0,
    params: SamplingParams | None = None,
    out: Path | None = None,
    runs_root: Path = DEFAULT_RUNS_ROOT,
    console: Console | None = None,
    servers: dict[str, str] | None = None,
    concurrency: int = 4,
    cache: Path | None = None,
    open_generator: Callable[[str, ResolvedArm, SamplingParams], Generator] | None = None,
) -> Path:
    """Generate and score every response of a run; resume it when it already exists.

    Everything is validated before any model is loaded: the variable, the prompt set,
    both model files, the pair check and the run directory.

    Parameters
    ----------
    variable
        Registered variable name (``logic``).
    pair
        Catalog pair name; the offline default pair when neither it nor files are given.
    base, instruct
        Local GGUF files, instead of ``pair``.
    prompts
        Number of prompts generated.
    replicates
        Responses per (arm, prompt).
    seed
        Seed of the prompt set and of every response.
    params
        Sampling settings.
    out
        Run directory; by default ``runs/<variable>-<fingerprint>``, so the same command
        finds and resumes the same run.
    runs_root
        Parent folder of default run directories.
    console
        Where progress and messages go; ``None`` is silent.
    servers
        ``{"base": URL, "instruct": URL}``: generate through OpenAI-compatible servers
        (the ``openai`` backend) that serve the pair's files, instead of loading them here.
        The files are still hashed and checked locally for provenance.
    concurrency
        Requests in flight per server (``openai`` backend).
    cache
        The response cache file (see :mod:`bayeseffect.sampling.response_cache`); ``None`` uses
        none. Never used with a custom ``open_generator``, whose identity is unknown.
    open_generator
        ``(arm, resolved_arm, params) -> Generator``; when omitted, llama-cpp-python in an
        engine process per arm (:class:`~bayeseffect.engines.llama.process.EngineProcess`).

    Returns
    -------
    Path
        The run directory, holding ``dataset.nc``.

    """
    params = params or SamplingParams(threads=default_threads())
    _check_design(replicates=replicates, params=params, seed=seed)
    var = get_variable(variable)
    prompt_set = var.make_prompts(prompts, seed)
    if not prompt_set.items:
        raise BayesEffectError("the prompt set is empty; ask for at least 1 prompt")
    spec = choose_pair(pair=pair, base=base, instruct=instruct)
    arms = resolve_pair(spec)
    check = check_pair(read_model_info(arms["base"].path), read_model_info(arms["instruct"].path))
    if arms["instruct"].prompting.frame == "chat" and not check.instruct.chat_template:
        raise BayesEffectError(
            f"the instruct model {arms['instruct'].path.name} has no chat template in its GGUF; "
            "use a GGUF that carries tokenizer.chat_template, or a catalog entry with "
            "frame = 'completion' for the instruct arm"
        )
    custom = open_generator is not None and servers is None
    if servers is not None:
        open_generator, versions = _server_generators(servers, params=params,
                                                      concurrency=concurrency)
    elif open_generator is None:
        backend = _llm_layer()
        versions = backend.llama_versions()

        def open_generator(arm: str, resolved: ResolvedArm, p: SamplingParams) -> Generator:
            # In a process of its own: a native crash must not take the journal with it.
            return backend.start_engine(resolved.path, prompting=resolved.prompting, params=p,
                                        arm=arm, log=run_dir / f"engine-{arm}.log")
    else:
        versions = {"llama_cpp_python_version": "none", "llama_cpp_version": "none",
                    "llama_cpp_system_info": "custom generator"}
    manifest = _manifest(var.name, prompt_set, spec=spec, arms=arms, check=check,
                         replicates=replicates, seed=seed, params=params, versions=versions,
                         servers=servers)
    run_dir = out or runs_root / f"{var.name}-{manifest['fingerprint'][:10]}"
    with claim_run_dir(run_dir, manifest, prompts_sha256=prompt_set.sha256,
                       prompts_jsonl=prompt_set.to_jsonl()) as claim:
        manifest = read_manifest(run_dir)
        if console is not None:
            if check.cross_family:
                console.print(f"[bold red]{escape(check.warning)}[/]")
            console.print(f"{'Resuming' if claim.resumed else 'Starting'} run "
                          f"{escape(str(run_dir))} "
                          f"({len(prompt_set.items)} prompts x {replicates} replicates x 2 arms)")
            if claim.restored_prompts:
                console.print(f"Restored the missing {escape(str(run_dir / PROMPTS))}")
        scan = scan_journal(run_dir / JOURNAL)
        if scan.bad_lines:
            warn(console, scan.describe_bad_lines(run_dir / JOURNAL))
        factory = open_generator
        response_cache = None if cache is None or custom else open_cache(cache, console=console)
        context = {arm: {"model_sha256": a.sha256, "prompting": asdict(a.prompting),
                         "versions": versions,
                         "params": sampling_determinants(params, remote=servers is not None),
                         "batch_layout": None if servers is not None else BATCH_LAYOUT}
                   for arm, a in arms.items()}
        try:
            def score_arm(arm: str, loaded: Generator | None) -> None:
                # Right after the arm's responses, on its still-loaded model.
                if not var.options or custom or scores_path(run_dir, arm).exists():
                    return
                if console is not None:
                    how = ("one request per prompt, the server's top log-probabilities"
                           if servers is not None else "one forward pass per batch")
                    console.print(f"Scoring {arm}'s options {escape('/'.join(var.options))} "
                                  f"by likelihood ({how})")
                def unsupported(skipped: str, why: str) -> None:
                    if console is not None:
                        console.print(f"[yellow]{escape(skipped)}: no option likelihoods: "
                                      f"{escape(why)}[/]")

                score_options(prompt_set, options=var.options, forms=var.option_forms,
                              arms=(arm,), run_dir=run_dir,
                              open_generator=lambda a: factory(a, arms[a], params), loaded=loaded,
                              on_unsupported=unsupported)

            summary: SamplingSummary | None = sample_responses(
                prompt_set, arms=ARMS, replicates=replicates, seed=seed,
                batch_size=params.batch_size, cache=response_cache, cache_context=context,
                open_generator=lambda arm: factory(arm, arms[arm], params),
                journal_path=run_dir / JOURNAL, console=console, after_arm=score_arm,
            )
        except BaseException:
            # Even after an interrupt, the dataset reflects every response journaled so far;
            # but the error that stopped sampling is the one to report (often the same full
            # disk), not a second one from saving the dataset.
            with contextlib.suppress(BayesEffectError):
                _save_run_dataset(run_dir, prompt_set, var=var, replicates=replicates,
                                  manifest=manifest)
            raise
        finally:
            if response_cache is not None:
                response_cache.close()
        _save_run_dataset(run_dir, prompt_set, var=var, replicates=replicates, manifest=manifest)
    if console is not None and summary is not None and summary.generated:
        console.print(f"Generated {summary.generated} responses "
                      + (f"({summary.from_cache} from the response cache) "
                         if summary.from_cache else "")
                      + f"({summary.completion_tokens / max(summary.seconds, 1e-9):.1f} tok/s); "
                      f"dataset saved to {escape(str(run_dir / DATASET))}")
    return run_dir


def _save_run_dataset(run_dir: Path, prompt_set: PromptSet, *, var: Any, replicates: int,
                      manifest: dict[str, Any]) -> None:
    """Rebuild ``dataset.nc`` from the journal (and option scores) and save it."""
    records = read_journal(run_dir / JOURNAL)
    ds = build_dataset(prompt_set, records, variable=var, replicates=replicates,
                       attrs=dataset_attrs(manifest),
                       option_scores=read_option_scores(run_dir, ARMS))
    save_dataset(ds, run_dir / DATASET)


def _check_design(*, replicates: int, params: SamplingParams, seed: int) -> None:
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
