"""Print a report in the terminal with rich."""

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table


def _interval(summary: dict[str, float], digits: int = 3) -> str:
    return f"[{summary['hdi_low']:+.{digits}f}, {summary['hdi_high']:+.{digits}f}]"


def render_report(report: dict[str, Any], *, console: Console) -> None:
    """Print the headline effect, per-family effects, diagnostics and warnings.

    Parameters
    ----------
    report
        A report from :func:`bayeseffect.report.summary.build_report`.
    console
        Where to print.

    """
    effect = report["total_effect"]
    prob = round(effect["hdi_prob"] * 100)
    if report["cross_family"]:
        console.print(Panel(report["cross_family_warning"], title="WARNING", style="bold red"))
    table = Table(title=f"Total effect of instruction tuning on {report['variable']} "
                        f"(P({report['outcome']}), instruct - base)")
    table.add_column("quantity")
    table.add_column("mean", justify="right")
    table.add_column(f"{prob}% HDI", justify="right")
    table.add_column("P(> 0)", justify="right")
    label = "total effect" + (" (CROSS-FAMILY)" if report["cross_family"] else "")
    table.add_row(label, f"{effect['mean']:+.3f}", _interval(effect), f"{effect['p_positive']:.3f}")
    for arm in ("base", "instruct"):
        s = report[f"p_{arm}"]
        table.add_row(f"P({report['outcome']} | {arm})", f"{s['mean']:.3f}", _interval(s), "")
    for family, s in report["family_effects"].items():
        table.add_row(f"  family {family}", f"{s['mean']:+.3f}", _interval(s),
                      f"{s['p_positive']:.3f}")
    console.print(table)
    observed = Table(title="Observed responses")
    for column in ("arm", "responses", f"{report['outcome']} rate", "parse failures",
                   "hit max tokens"):
        observed.add_column(column, justify="right")
    for arm, rates in report["observed"].items():
        observed.add_row(arm, f"{rates['responses']:.0f}",
                         f"{rates.get(report['outcome'] + '_rate', float('nan')):.3f}",
                         f"{rates.get('parse_failure_rate', float('nan')):.3f}",
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
    console.print(f"[dim]Estimand: {report['estimand']}.[/]")
    prov = report["provenance"]
    console.print(
        f"[dim]Provenance: base {prov['base_model_sha256'][:12]}, instruct "
        f"{prov['instruct_model_sha256'][:12]}, llama-cpp-python "
        f"{prov['llama_cpp_python_version']}, prompt set {prov['prompt_set']} "
        f"v{prov['prompt_set_version']} ({prov['prompt_set_sha256'][:12]}), seed {prov['seed']}, "
        f"bayeseffect {prov['bayeseffect_version']}.[/]")
    if report["cross_family"]:
        console.print("[bold red]Reminder: cross-family pair -- this is not the effect of "
                      "instruction tuning alone.[/]")
