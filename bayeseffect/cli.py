"""The command line: a thin click layer over :mod:`bayeseffect.workflow.sample`."""

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from bayeseffect import __version__
from bayeseffect.common.validation import check_server_url
from bayeseffect.errors import BayesEffectError, EngineCrashedError
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.stats.kinds import KINDS

EXIT_USAGE = 2
EXIT_DIAGNOSTICS = 3
EXIT_ENGINE_CRASHED = 4
EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """Turns bad input (ours or click's) into one line on stderr and exit code 2."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{where}", err=True)
            sys.exit(EXIT_USAGE)
        except click.Abort:
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EngineCrashedError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_ENGINE_CRASHED)
        except BayesEffectError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            if ctx.invoked_subcommand in ("fit", "report", "plan"):
                # Nothing of theirs is half-written: files are replaced only when complete.
                click.echo("\ninterrupted: earlier results are kept as they were", err=True)
            else:
                click.echo("\ninterrupted: every finished response is saved; run the same "
                           "command again to resume", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
                                           "max_content_width": 100})
@click.version_option(__version__, prog_name="bayeseffect")
def main() -> None:
    r"""Measure the total causal effect of instruction tuning on model behaviour.

    The same prompts go to a base model (control) and its instruction-tuned sibling
    (treatment), each prompted as intended; responses are scored, and a hierarchical
    Bayesian model estimates the effect with a credible interval.

    \b
    Quick start (offline default pair, about 3 minutes on 2 cores):
      bayeseffect sample --variable logic
    which samples, fits and reports. Step by step:
      bayeseffect sample --variable logic --no-fit
      bayeseffect fit runs/logic-XXXXXXXXXX
      bayeseffect report runs/logic-XXXXXXXXXX

    Exit codes: 0 ok, 2 bad input, 3 the fit failed its convergence gates, 4 the native
    engine crashed (finished responses are saved; the same command resumes), 130
    interrupted.
    """


def _console() -> Console:
    return Console(stderr=False, highlight=False)


@main.command()
@click.option("--variable", "-v", required=True, metavar="NAME",
              help="Outcome variable to measure (see `bayeseffect catalog`), e.g. logic; "
                   "`all` samples every variable's prompt set and reports one table.")
@click.option("--pair", metavar="NAME", help="Model pair from models/ (default: offline-default).")
@click.option("--base", type=click.Path(path_type=Path), metavar="GGUF",
              help="Base model file (control arm); use with --instruct.")
@click.option("--instruct", type=click.Path(path_type=Path), metavar="GGUF",
              help="Instruction-tuned model file (treatment arm); use with --base.")
@click.option("--instruct-lora", type=click.Path(path_type=Path), metavar="GGUF",
              help="LoRA adapter GGUF: the treatment arm is --base plus this adapter, prompted "
                   "in Gemma's chat turns (instead of --instruct).")
@click.option("--lora-scale", type=float, default=None, metavar="SCALE",
              help="How strongly --instruct-lora is applied (0: the bare base)  [default: 1]")
@click.option("--prompts", "-n", default=40, show_default=True,
              help="Prompts generated (120 gives the logic set's fully crossed design).")
@click.option("--replicates", "-r", default=4, show_default=True,
              help="Sampled responses per prompt and arm.")
@click.option("--max-tokens", type=int, default=None,
              help="Most tokens generated per response  [default: the variable's own: 16 for "
                   "yes/no and multiple choice, 160 for complexity]")
@click.option("--temperature", default=0.7, show_default=True,
              help="Sampling temperature (0 is greedy: replicates become identical).")
@click.option("--seed", default=0, show_default=True,
              help="Seed of the prompt set, every response and the fit.")
@click.option("--threads", type=int, default=None,
              help="CPU threads for llama.cpp  [default: cores, at most 4]")
@click.option("--backend", type=click.Choice(["llama", "openai"]), default="llama",
              show_default=True,
              help="llama: load the GGUF files here with llama-cpp-python; openai: send requests "
                   "to OpenAI-compatible servers (llama-cpp-python's, llama-server, vLLM) that "
                   "serve the same files (still hashed here for provenance).")
@click.option("--base-url", metavar="URL", help="openai backend: the base model's server.")
@click.option("--instruct-url", metavar="URL", help="openai backend: the instruct model's server.")
@click.option("--concurrency", default=4, show_default=True,
              help="openai backend: requests in flight per server.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Reuse responses generated before by any run with the same model file, "
                   "options, question, seed and batch (~/.cache/bayeseffect/responses.sqlite).")
@click.option("--batch-size", default=16, show_default=True,
              help="Responses decoded together (replicates of consecutive prompts); part of "
                   "the configuration, as batching can change the last bits of the logits.")
@click.option("--out", "-o", type=click.Path(path_type=Path), metavar="DIR",
              help="Run directory [default: runs/<variable>-<config hash>, so rerunning the "
                   "same command resumes it].")
@click.option("--fit/--no-fit", default=True, show_default=True,
              help="Fit and report right after sampling.")
def sample(variable: str, pair: str | None, base: Path | None, instruct: Path | None,
           instruct_lora: Path | None, lora_scale: float | None, prompts: int,
           replicates: int, max_tokens: int | None, temperature: float, seed: int,
           threads: int | None, backend: str, base_url: str | None, instruct_url: str | None,
           concurrency: int, cache: bool, batch_size: int, out: Path | None,
           fit: bool) -> None:
    """Sample both arms on a variable's prompt set, then fit and report.

    Every response is saved the moment it finishes; after Ctrl-C or a crash the same
    command resumes where it stopped. A run directory made with other settings is
    never mixed with this one.
    """
    from bayeseffect.variables import get_variable
    from bayeseffect.workflow.sample import sample_run
    from bayeseffect.workflow.spec import default_threads

    # 0 is not "no limit" nor "the default": it would silently become another limit.
    if max_tokens is not None and max_tokens < 1:
        raise BayesEffectError(f"--max-tokens must be at least 1, not {max_tokens}")
    console = _console()
    # Without --max-tokens each variable keeps its own limit (set below, or per variable
    # by sample_all); the dataclass default is only a placeholder until then.
    params = SamplingParams(temperature=temperature,
                            threads=threads if threads is not None else default_threads(),
                            batch_size=batch_size)
    if max_tokens is not None:
        params = replace(params, max_tokens=max_tokens)
    from bayeseffect.sampling.response_cache import default_cache_path

    cache_path = default_cache_path() if cache else None
    servers = None
    if backend == "openai":
        if not base_url or not instruct_url:
            raise BayesEffectError("--backend openai needs --base-url and --instruct-url")
        # Before any model file is hashed: a URL without a scheme would fail only after
        # every retry, and file:// would read local files as answers.
        servers = {"base": check_server_url(base_url, option="--base-url"),
                   "instruct": check_server_url(instruct_url, option="--instruct-url")}
    elif base_url or instruct_url:
        raise BayesEffectError("--base-url/--instruct-url only apply with --backend openai")
    if variable == "all":
        from bayeseffect.workflow.study import sample_all

        if out is not None:
            raise BayesEffectError("--out names one run; with --variable all every variable "
                                   "gets its own run under runs/")
        _, rows, _ = sample_all(pair=pair, base=base, instruct=instruct,
                                instruct_lora=instruct_lora, lora_scale=lora_scale,
                                prompts=prompts,
                                replicates=replicates, seed=seed, params=params,
                                own_max_tokens=max_tokens is None, fit=fit, console=console,
                                servers=servers, concurrency=concurrency, cache=cache_path)
        if any(not r.passed for r in rows):
            sys.exit(EXIT_DIAGNOSTICS)
        return
    if max_tokens is None:
        params = replace(params, max_tokens=get_variable(variable).max_tokens)
    run_dir = sample_run(variable, pair=pair, base=base, instruct=instruct,
                         instruct_lora=instruct_lora, lora_scale=lora_scale, prompts=prompts,
                         replicates=replicates, seed=seed, params=params, out=out,
                         console=console, servers=servers, concurrency=concurrency,
                         cache=cache_path)
    if fit:
        _fit_and_report(run_dir, seed=seed, console=console)
    else:
        console.print(f"Next: bayeseffect fit {escape(str(run_dir))}")


def _fit_and_report(run_dir: Path, *, seed: int, console: Console, outcome: str | None = None,
                    draws: int | None = None, tune: int = 500, chains: int = 4,
                    hdi_prob: float = 0.94, parameterization: str = "auto") -> None:
    from bayeseffect.workflow.fit import fit_run
    from bayeseffect.workflow.report import report_run

    summary = fit_run(run_dir, outcome=outcome, draws=draws, tune=tune, chains=chains,
                      seed=seed, parameterization=parameterization, console=console)
    report_run(run_dir, outcome=outcome, hdi_prob=hdi_prob, console=console)
    if not summary["passed"]:
        sys.exit(EXIT_DIAGNOSTICS)


_OUTCOME_HELP = ("Outcome to fit: the variable's primary outcome by default; others listed "
                 "in the dataset's outcome_kinds, e.g. n_completion_tokens (verbosity) on "
                 "every run.")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--outcome", metavar="NAME", default=None, help=_OUTCOME_HELP)
@click.option("--draws", type=int, default=None,
              help="Kept draws per chain [default: 2000 for binary outcomes, whose slowest "
                   "parameter needs them for R-hat <= 1.01; 1000 for the others].")
@click.option("--tune", default=500, show_default=True,
              help="Warm-up draws per chain (nutpie adapts quickly; retries double it).")
@click.option("--chains", default=4, show_default=True, help="Chains.")
@click.option("--seed", default=0, show_default=True, help="Sampler seed.")
@click.option("--parameterization", type=click.Choice(["auto", "centered", "noncentered"]),
              default="auto", show_default=True,
              help="Group offsets: auto picks centered when cells hold many responses.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Print the report after fitting.")
def fit(run_dir: Path, outcome: str | None, draws: int | None, tune: int, chains: int, seed: int,
        parameterization: str, report: bool) -> None:
    """Fit the hierarchical model to RUN_DIR's dataset and save the posterior.

    Convergence gates (R-hat <= 1.01, bulk and tail ESS >= 400, no divergences,
    E-BFMI >= 0.3, MCSE <= 0.1 posterior SD) are checked, and the gate that failed
    chooses the retry (at most four attempts): divergences or low E-BFMI get smaller
    steps (target acceptance 0.95, then 0.99), then the other parameterization; a high
    R-hat gets twice the warm-up and draws; too few effective draws alone get more
    chains, pooled with those already run. A final failure exits with 3; Ctrl-C stops
    the fit (exit 130) and keeps the previous posterior.
    """
    console = _console()
    if report:
        _fit_and_report(run_dir, seed=seed, console=console, outcome=outcome, draws=draws,
                        tune=tune, chains=chains, parameterization=parameterization)
        return
    from bayeseffect.workflow.fit import fit_run

    summary = fit_run(run_dir, outcome=outcome, draws=draws, tune=tune, chains=chains, seed=seed,
                      parameterization=parameterization, console=console)
    if not summary["passed"]:
        sys.exit(EXIT_DIAGNOSTICS)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--outcome", metavar="NAME", default=None,
              help="Fitted outcome to report [default: the primary outcome].")
@click.option("--hdi-prob", default=0.94, show_default=True, help="Credible interval mass.")
@click.option("--rope", type=float, default=None,
              help="Half-width of the region of practical equivalence around 0, in outcome "
                   "units  [default: the variable's own, e.g. 0.025 for logic]")
@click.option("--by", "by", default=None, metavar="FACTOR",
              help="Report the effect within each level of a prompt factor (e.g. depth, "
                   "validity, content, family) and the contrasts between levels  [default: "
                   "the prompt set's leading factor: depth for logic, condition for "
                   "sycophancy, dimension for social_bias, axis for political_stance]")
def report(run_dir: Path, outcome: str | None, hdi_prob: float, rope: float | None,
           by: str | None) -> None:
    """Print RUN_DIR's effects and write report/summary.json and the ArviZ plots.

    The report gives the sample ATE (these prompts) and the population ATE (new prompts
    from the same design), each with its HDI, P(effect > 0) and a ROPE verdict (effect,
    practically zero, undecided), the effect by factor level, frequentist cross-checks
    (paired t, cluster bootstrap, clustered McNemar) and the convergence gates.
    """
    from bayeseffect.workflow.report import report_run

    result = report_run(run_dir, outcome=outcome, hdi_prob=hdi_prob, rope=rope, by=by,
                        console=_console())
    if not result["diagnostics"]["passed"]:
        sys.exit(EXIT_DIAGNOSTICS)


def _int_list(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError as exc:
        raise BayesEffectError(f"expected comma-separated integers, not {value!r}") from exc


@main.command()
@click.option("--pilot", type=click.Path(path_type=Path), metavar="RUN",
              help="A fitted pilot run: supplies effect, variance components and the "
                   "measured sampling cost.")
@click.option("--effect", type=float, default=None,
              help="Assumed mean effect on the linear-predictor scale: logit (binary), log "
                   "(count), SDs (continuous), cumulative logit (ordinal); overrides the "
                   "pilot's.")
@click.option("--kind", type=click.Choice(list(KINDS)),
              default="binary", show_default=True,
              help="Outcome kind assumed without --pilot (a pilot brings its own).")
@click.option("--prompts", default="50,100,200,400,800", show_default=True,
              help="Candidate prompt counts.")
@click.option("--replicates", default="1,2,4,8", show_default=True,
              help="Candidate replicates per prompt and arm.")
@click.option("--target-width", type=float, default=None,
              help="Interval width wanted; the cheapest design reaching it is marked.")
@click.option("--hdi-prob", default=0.94, show_default=True, help="Interval mass.")
@click.option("--rope", default=0.025, show_default=True,
              help="ROPE half-width for the probability of a decisive verdict.")
@click.option("--seed", default=0, show_default=True, help="Simulation seed.")
def plan(pilot: Path | None, effect: float | None, kind: str, prompts: str, replicates: str,
         target_width: float | None, hdi_prob: float, rope: float, seed: int) -> None:
    """Plan a study: interval width, P(decisive verdict) and CPU time per design.

    Simulates many studies per (prompts, replicates) design from the hierarchical model,
    with the effect and variance components of a pilot run (or assumptions), and prices
    each design with the pilot's measured seconds per response on this machine.
    """
    from bayeseffect.workflow.plan import plan_run

    plan_run(pilot=pilot, effect=effect, kind=kind, prompts=_int_list(prompts),
             replicates=_int_list(replicates), target_width=target_width, hdi_prob=hdi_prob,
             rope=rope, seed=seed, console=_console())


@main.command()
def catalog() -> None:
    """List the outcome variables and the model pairs in models/."""
    from bayeseffect.pairs.catalog import list_pairs
    from bayeseffect.variables.registry import get_variable, variable_names

    console = _console()
    console.print("[bold]Variables[/]")
    for name in variable_names():
        console.print(f"  {escape(name):18s} {escape(get_variable(name).description)}")
    console.print("[bold]Model pairs[/]")
    for name, spec in list_pairs().items():
        console.print(f"  {escape(name):18s} {escape(spec.description)}")
