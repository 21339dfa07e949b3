"""Render a run report in the terminal with rich."""

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bayeseffect.pairs.check import CROSS_FAMILY_TAG
from bayeseffect.report.contents import RunReport
from bayeseffect.stats.decision import EffectSummary


def _interval(summary: EffectSummary, digits: int = 3) -> str:
    return f"[{summary.hdi_low:+.{digits}f}, {summary.hdi_high:+.{digits}f}]"


def _row(table: Table, label: str, s: EffectSummary, *, signed: bool = True) -> None:
    mean = f"{s.mean:+.3f}" if signed else f"{s.mean:.3f}"
    table.add_row(escape(label), mean, _interval(s), f"{s.p_positive:.3f}" if signed else "",
                  s.verdict if signed else "")


def print_report(report: RunReport, *, console: Console) -> None:
    """Print effects, decisions, per-level effects, cross-checks, diagnostics and warnings.

    Parameters
    ----------
    report
        The report, from :func:`~bayeseffect.report.contents.build_run_report`.
    console
        Where to print.
    """
    estimates = report.estimates
    effect = estimates.sample_ate
    prob = round(report.hdi_prob * 100)
    cross = report.cross_family
    if cross:
        console.print(Panel(escape(report.cross_family_warning), title="WARNING",
                            style="bold red"))
    outcome = report.outcome
    table = Table(title=escape(f"Total effect of instruction tuning on {report.variable}: "
                               f"E[{outcome}] instruct - base")
                  + (CROSS_FAMILY_TAG if cross else ""))
    for column, justify in (("quantity", "left"), ("mean", "right"), (f"{prob}% HDI", "right"),
                            ("P(> 0)", "right"), (f"verdict (ROPE ±{report.rope:g})", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    _row(table, "sample ATE (these prompts)", effect)
    crossed = report.design.crossed_factor
    _row(table, f"population ATE (new {crossed}s)" if crossed else "population ATE (new prompts)",
         estimates.population_ate)
    if estimates.ratio is not None:
        table.add_row("ratio of means instruct/base", f"{estimates.ratio.mean:.3f}",
                      _interval(estimates.ratio), "", "")
    for arm, mean in estimates.arm_means.items():
        _row(table, f"E[{outcome} | {arm}]", mean, signed=False)
    for level, s in estimates.effect_by.items():
        _row(table, f"  {estimates.by} = {level}", s)
    reference = estimates.contrast_reference.split("_vs_")[-1]
    for level, s in estimates.contrast_by.items():
        _row(table, f"  {estimates.by} {level} - {reference}", s)
    console.print(table)
    console.print(f"[dim]{escape(report.sample_vs_population)}.[/]")
    checks = Table(title="Frequentist cross-checks (same data)")
    for column in ("method", "estimate", f"{prob}% interval", "p-value"):
        checks.add_column(column, justify="left" if column == "method" else "right")
    for c in report.checks.crosschecks:
        interval = "" if c.low != c.low else f"[{c.low:+.3f}, {c.high:+.3f}]"
        p_value = "" if c.p_value != c.p_value else f"{c.p_value:.3g}"
        checks.add_row(c.method, f"{c.estimate:+.3f}", interval, p_value)
    console.print(checks)
    if report.checks.agreement_note:
        console.print(f"[bold yellow]{escape(report.checks.agreement_note)}[/]")
    observed = Table(title="Observed responses")
    for column in ("arm", "responses", escape(f"mean {outcome}"), "parse failures",
                   "hit max tokens"):
        observed.add_column(column, justify="right")
    for arm, rates in report.observed.items():
        observed.add_row(arm, f"{rates['responses']:.0f}",
                         f"{rates.get(outcome + '_mean', float('nan')):.3f}",
                         f"{rates.get('parse_failure_mean', float('nan')):.3f}",
                         f"{rates['truncated_rate']:.3f}")
    console.print(observed)
    design = report.design
    if design.responses_completed < design.responses_planned:
        console.print(f"[bold yellow]Incomplete run: {design.responses_completed} of "
                      f"{design.responses_planned} responses; rerun the sample command to "
                      "finish it.[/]")
    diagnostics = report.diagnostics
    if diagnostics.passed:
        console.print(f"[green]Diagnostics passed[/] ({len(diagnostics.attempts)} attempt(s)): "
                      + ", ".join(f"{g['name']} {g['value']:.4g}" for g in diagnostics.gates))
    else:
        failed = [g for g in diagnostics.gates if not g["passed"]]
        console.print(Panel(
            "The sampler did not converge; the effect above is NOT a result.\n" + "\n".join(
                f"{g['name']}: {g['value']:.4g} (limit {g['threshold']})" for g in failed),
            title="DIAGNOSTICS FAILED", style="bold red"))
    console.print(f"[dim]Estimand: {escape(report.estimand)}.[/]")
    prov = report.provenance
    console.print("[dim]" + escape(
        f"Provenance: base {prov['base_model_sha256'][:12]}, instruct "
        f"{prov['instruct_model_sha256'][:12]}, llama-cpp-python "
        f"{prov['llama_cpp_python_version']}, prompt set {prov['prompt_set']} "
        f"v{prov['prompt_set_version']} ({prov['prompt_set_sha256'][:12]}), seed {prov['seed']}, "
        f"bayeseffect {prov['bayeseffect_version']}.") + "[/]")
    if cross:
        console.print(f"[bold red]Reminder: {escape(report.cross_family_warning)}[/]")


def print_written(*, plots: Mapping[str, str | Path], summary: Path, console: Console) -> None:
    """Print where a report's figures and JSON were written."""
    console.print(escape("Plots: " + ", ".join(str(p) for p in plots.values())
                         + f"; JSON: {summary}"))
