"""Print a report in the terminal with rich."""

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table


def _interval(summary: dict[str, Any], digits: int = 3) -> str:
    return f"[{summary['hdi_low']:+.{digits}f}, {summary['hdi_high']:+.{digits}f}]"


def _row(table: Table, label: str, s: dict[str, Any], *, signed: bool = True) -> None:
    mean = f"{s['mean']:+.3f}" if signed else f"{s['mean']:.3f}"
    table.add_row(escape(label), mean, _interval(s), f"{s['p_positive']:.3f}" if signed else "",
                  s["verdict"] if signed else "")


def render_report(report: dict[str, Any], *, console: Console) -> None:
    """Print effects, decisions, per-level effects, cross-checks, diagnostics and warnings.

    Parameters
    ----------
    report
        A report from :func:`bayeseffect.report.contents.build_report`.
    console
        Where to print.
    """
    effect = report["sample_ate"]
    prob = round(effect["hdi_prob"] * 100)
    cross = report["cross_family"]
    if cross:
        console.print(Panel(escape(report["cross_family_warning"]), title="WARNING",
                            style="bold red"))
    outcome = report["outcome"]
    table = Table(title=escape(f"Total effect of instruction tuning on {report['variable']}: "
                               f"E[{outcome}] instruct - base")
                  + (" (CROSS-FAMILY)" if cross else ""))
    for column, justify in (("quantity", "left"), ("mean", "right"), (f"{prob}% HDI", "right"),
                            ("P(> 0)", "right"), (f"verdict (ROPE ±{effect['rope']:g})", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    _row(table, "sample ATE (these prompts)", effect)
    crossed = report["design"].get("crossed_factor", "")
    _row(table, f"population ATE (new {crossed}s)" if crossed else "population ATE (new prompts)",
         report["population_ate"])
    if "ratio" in report:
        table.add_row("ratio of means instruct/base", f"{report['ratio']['mean']:.3f}",
                      _interval(report["ratio"]), "", "")
    for arm in ("base", "instruct"):
        _row(table, f"E[{outcome} | {arm}]", report[f"mean_{arm}"], signed=False)
    for level, s in report["effect_by"].items():
        _row(table, f"  {report['by']} = {level}", s)
    for level, s in report["contrast_by"].items():
        _row(table, f"  {report['by']} {level} - {report['contrast_reference'].split('_vs_')[-1]}",
             s)
    console.print(table)
    console.print(f"[dim]{escape(report['sample_vs_population'])}.[/]")
    checks = Table(title="Frequentist cross-checks (same data)")
    for column in ("method", "estimate", f"{prob}% interval", "p-value"):
        checks.add_column(column, justify="left" if column == "method" else "right")
    for c in report["crosschecks"]:
        interval = "" if c["low"] != c["low"] else f"[{c['low']:+.3f}, {c['high']:+.3f}]"
        p_value = "" if c["p_value"] != c["p_value"] else f"{c['p_value']:.3g}"
        checks.add_row(c["method"], f"{c['estimate']:+.3f}", interval, p_value)
    console.print(checks)
    if report.get("agreement_note"):
        console.print(f"[bold yellow]{escape(report['agreement_note'])}[/]")
    observed = Table(title="Observed responses")
    for column in ("arm", "responses", escape(f"mean {outcome}"), "parse failures",
                   "hit max tokens"):
        observed.add_column(column, justify="right")
    for arm, rates in report["observed"].items():
        observed.add_row(arm, f"{rates['responses']:.0f}",
                         f"{rates.get(outcome + '_mean', float('nan')):.3f}",
                         f"{rates.get('parse_failure_mean', float('nan')):.3f}",
                         f"{rates['truncated_rate']:.3f}")
    console.print(observed)
    design = report["design"]
    if design["responses_completed"] < design["responses_planned"]:
        console.print(f"[bold yellow]Incomplete run: {design['responses_completed']} of "
                      f"{design['responses_planned']} responses; rerun the sample command to "
                      "finish it.[/]")
    diagnostics = report["diagnostics"]
    if diagnostics["passed"]:
        console.print(f"[green]Diagnostics passed[/] ({len(diagnostics['attempts'])} attempt(s)): "
                      + ", ".join(f"{g['name']} {g['value']:.4g}" for g in diagnostics["gates"]))
    else:
        failed = [g for g in diagnostics["gates"] if not g["passed"]]
        console.print(Panel(
            "The sampler did not converge; the effect above is NOT a result.\n" + "\n".join(
                f"{g['name']}: {g['value']:.4g} (limit {g['threshold']})" for g in failed),
            title="DIAGNOSTICS FAILED", style="bold red"))
    console.print(f"[dim]Estimand: {escape(report['estimand'])}.[/]")
    prov = report["provenance"]
    console.print("[dim]" + escape(
        f"Provenance: base {prov['base_model_sha256'][:12]}, instruct "
        f"{prov['instruct_model_sha256'][:12]}, llama-cpp-python "
        f"{prov['llama_cpp_python_version']}, prompt set {prov['prompt_set']} "
        f"v{prov['prompt_set_version']} ({prov['prompt_set_sha256'][:12]}), seed {prov['seed']}, "
        f"bayeseffect {prov['bayeseffect_version']}.") + "[/]")
    if cross:
        console.print("[bold red]Reminder: cross-family pair -- this is not the effect of "
                      "instruction tuning alone.[/]")
