"""Sample a run: resolve it (:mod:`bayeseffect.workflow.spec`), then carry it out.

Data flows one way: prompts -> responses (journal) -> dataset.nc -> posterior.nc ->
report. Fitting and reporting (``workflow.fit``, ``workflow.report``) read only files,
so they never need an LLM.
"""

import contextlib
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bayeseffect.data.dataset import build_dataset, save_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import ARMS
from bayeseffect.sampling.journal import read_journal, scan_journal
from bayeseffect.sampling.loop import SamplingSummary, open_cache, sample_responses, warn
from bayeseffect.sampling.option_scores import read_option_scores, score_options, scores_path
from bayeseffect.sampling.run_dir import (
    DATASET,
    JOURNAL,
    PROMPTS,
    RunClaim,
    claim_run_dir,
    read_manifest,
)
from bayeseffect.sampling.types import Generator, SamplingParams
from bayeseffect.workflow.engines import GeneratorFactory
from bayeseffect.workflow.spec import DEFAULT_RUNS_ROOT, RunSpec, default_threads, resolve_run

__all__ = ["DEFAULT_RUNS_ROOT", "dataset_attrs", "default_threads", "execute_run",
           "sample_run"]


def dataset_attrs(manifest: dict[str, Any]) -> dict[str, str | int | float]:
    """Flatten a run manifest into the dataset's provenance attrs (netCDF-safe values)."""
    det = manifest["determinants"]
    check = manifest["pair_check"]
    attrs: dict[str, str | int | float] = {
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
    # Only an arm with a LoRA adapter has these: other runs keep the attrs they had.
    for arm, adapter in manifest.get("adapters", {}).items():
        attrs[f"{arm}_adapter_path"] = adapter["path"]
        attrs[f"{arm}_adapter_sha256"] = adapter["sha256"]
        attrs[f"{arm}_adapter_scale"] = float(adapter["scale"])
    if check.get("matched_by"):
        attrs["matched_by"] = check["matched_by"]
    return attrs


def sample_run(
    variable: str,
    *,
    pair: str | None = None,
    base: Path | None = None,
    instruct: Path | None = None,
    instruct_lora: Path | None = None,
    lora_scale: float | None = None,
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
    open_generator: GeneratorFactory | None = None,
) -> Path:
    """Generate and score every response of a run; resume it when it already exists.

    Everything is validated before any model is loaded (:func:`~bayeseffect.workflow.spec.
    resolve_run`): the options, the variable, the prompt set, both model files, the pair
    check, the backend and the run directory.

    Parameters
    ----------
    variable
        Registered variable name (``logic``).
    pair
        Catalog pair name; the offline default pair when neither it nor files are given.
    base, instruct
        Local GGUF files, instead of ``pair``.
    instruct_lora, lora_scale
        A LoRA adapter GGUF that, applied to ``base`` at ``lora_scale`` (1 when omitted),
        is the treatment arm, instead of ``instruct``.
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
    spec = resolve_run(variable, pair=pair, base=base, instruct=instruct,
                       instruct_lora=instruct_lora, lora_scale=lora_scale, prompts=prompts,
                       replicates=replicates, seed=seed, params=params, out=out,
                       runs_root=runs_root, servers=servers, concurrency=concurrency,
                       cache=cache, open_generator=open_generator)
    return execute_run(spec, console=console)


def execute_run(spec: RunSpec, *, console: Console | None = None) -> Path:
    """Carry out a resolved run: claim its directory, sample both arms, save the dataset.

    The directory is claimed (created, locked, its manifest and ``prompts.jsonl``
    written), each arm's missing responses are generated and journaled, its answer
    options scored right after it on its still-loaded model, and ``dataset.nc`` rebuilt
    from the journal -- also when sampling stops (Ctrl-C, a crash), so it always holds
    every response saved so far.

    Parameters
    ----------
    spec
        The run, from :func:`~bayeseffect.workflow.spec.resolve_run`.
    console
        Where progress and messages go; ``None`` is silent.

    Returns
    -------
    Path
        The run directory, holding ``dataset.nc``.
    """
    run_dir = spec.run_dir
    with claim_run_dir(run_dir, spec.manifest(), prompts_sha256=spec.prompt_set.sha256,
                       prompts_jsonl=spec.prompt_set.to_jsonl()) as claim:
        manifest = read_manifest(run_dir)
        if console is not None:
            _announce(spec, claim, console=console)
        scan = scan_journal(run_dir / JOURNAL)
        if scan.bad_lines:
            warn(console, scan.describe_bad_lines(run_dir / JOURNAL))
        response_cache = open_cache(spec.cache, console=console) \
            if spec.uses_cache and spec.cache is not None else None
        try:
            summary: SamplingSummary | None = sample_responses(
                spec.prompt_set, arms=ARMS, replicates=spec.replicates, seed=spec.seed,
                batch_size=spec.params.batch_size, cache=response_cache,
                cache_context=spec.cache_context(), open_generator=spec.open_generator,
                journal_path=run_dir / JOURNAL, console=console,
                after_arm=lambda arm, loaded: _score_arm(spec, arm, loaded, console=console),
            )
        except BaseException:
            # Even after an interrupt, the dataset reflects every response journaled so far;
            # but the error that stopped sampling is the one to report (often the same full
            # disk), not a second one from saving the dataset.
            with contextlib.suppress(BayesEffectError):
                _save_run_dataset(spec, manifest)
            raise
        finally:
            if response_cache is not None:
                response_cache.close()
        _save_run_dataset(spec, manifest)
    if console is not None and summary is not None and summary.generated:
        console.print(f"Generated {summary.generated} responses "
                      + (f"({summary.from_cache} from the response cache) "
                         if summary.from_cache else "")
                      + f"({summary.completion_tokens / max(summary.seconds, 1e-9):.1f} tok/s); "
                      f"dataset saved to {escape(str(run_dir / DATASET))}")
    return run_dir


def _announce(spec: RunSpec, claim: RunClaim, *, console: Console) -> None:
    """Say what starts (or resumes), after the cross-family warning when it applies."""
    check = spec.pair.check
    if check.cross_family:
        console.print(f"[bold red]{escape(check.warning)}[/]")
    elif check.note:
        console.print(escape(check.note))
    console.print(f"{'Resuming' if claim.resumed else 'Starting'} run "
                  f"{escape(str(spec.run_dir))} "
                  f"({len(spec.prompt_set.items)} prompts x {spec.replicates} replicates x 2 arms)")
    if claim.restored_prompts:
        console.print(f"Restored the missing {escape(str(spec.run_dir / PROMPTS))}")


def _score_arm(spec: RunSpec, arm: str, loaded: Generator | None, *,
               console: Console | None) -> None:
    """Score an arm's answer options by likelihood (once: a saved score file is kept).

    Called right after the arm's responses, on its still-loaded model.
    """
    var = spec.variable
    if not spec.scores_options or scores_path(spec.run_dir, arm).exists():
        return
    if console is not None:
        how = ("one request per prompt, the server's top log-probabilities"
               if spec.backend.remote else "one forward pass per batch")
        console.print(f"Scoring {arm}'s options {escape('/'.join(var.options))} "
                      f"by likelihood ({how})")

    def unsupported(skipped: str, why: str) -> None:
        if console is not None:
            console.print(f"[yellow]{escape(skipped)}: no option likelihoods: "
                          f"{escape(why)}[/]")

    score_options(spec.prompt_set, options=var.options, forms=var.option_forms,
                  arms=(arm,), run_dir=spec.run_dir, open_generator=spec.open_generator,
                  loaded=loaded, on_unsupported=unsupported)


def _save_run_dataset(spec: RunSpec, manifest: dict[str, Any]) -> None:
    """Rebuild ``dataset.nc`` from the journal (and option scores) and save it."""
    records = read_journal(spec.run_dir / JOURNAL)
    ds = build_dataset(spec.prompt_set, records, variable=spec.variable,
                       replicates=spec.replicates, attrs=dataset_attrs(manifest),
                       option_scores=read_option_scores(spec.run_dir, ARMS))
    save_dataset(ds, spec.run_dir / DATASET)
