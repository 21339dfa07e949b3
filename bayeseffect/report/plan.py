"""Render a study plan: the designs' interval widths and costs, in the terminal."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bayeseffect.stats.plan import Assumptions, PlanRow


@dataclass(frozen=True)
class StudyPlan:
    """A planned study: each design's expected interval and cost, and the one to run.

    Attributes
    ----------
    assumptions
        The model the designs were simulated from (linear-predictor scale).
    rows
        One row per (prompts, replicates) design.
    recommended
        The cheapest design reaching ``target_width``, or ``None``.
    hdi_prob, rope
        Interval mass, and the ROPE half-width of P(decisive verdict).
    target_width
        Interval width wanted, or ``None``.
    seconds_per_response
        Sampling cost measured in ``pilot``, or ``None`` when unknown.
    pilot
        The pilot run, or ``None``.
    """

    assumptions: Assumptions
    rows: tuple[PlanRow, ...]
    recommended: PlanRow | None
    hdi_prob: float
    rope: float
    target_width: float | None
    seconds_per_response: float | None
    pilot: Path | None

    def to_dict(self) -> dict[str, Any]:
        """Return the assumptions, the rows and the recommended design, JSON-ready."""
        return {"assumptions": asdict(self.assumptions),
                "rows": [r.to_dict() for r in self.rows],
                "recommended": None if self.recommended is None else self.recommended.to_dict()}


def print_plan(plan: StudyPlan, *, console: Console) -> None:
    """Print the designs' table, the assumptions and the recommended design.

    Parameters
    ----------
    plan
        The plan.
    console
        Where to print.
    """
    target_width, chosen, seconds = plan.target_width, plan.recommended, plan.seconds_per_response
    table = Table(title=f"Study plan ({plan.assumptions.kind} outcome, "
                  f"{round(plan.hdi_prob * 100)}% intervals)")
    for column in ("prompts", "replicates", "expected width",
                   f"P(decisive, ROPE ±{plan.rope:g})", "sampling time"):
        table.add_column(column, justify="right")
    for r in plan.rows:
        time_text = "unknown" if r.cpu_seconds != r.cpu_seconds else \
            f"{r.cpu_seconds / 60:.1f} min"
        table.add_row(str(r.prompts), str(r.replicates), f"{r.expected_width:.3f}",
                      f"{r.p_decisive:.2f}", time_text,
                      style="bold green" if r is chosen else None)
    console.print(table)
    console.print("[dim]" + escape(f"Assumptions (linear-predictor scale): "
                                   f"{asdict(plan.assumptions)}; sampling cost "
                                   + (f"{seconds:.3f} s/response measured in {plan.pilot}"
                                      if seconds else
                                      "unknown (give --pilot RUN to measure it)")) + ".[/]")
    if chosen is not None:
        console.print(f"[bold green]Cheapest design reaching width {target_width}: "
                      f"{chosen.prompts} prompts x {chosen.replicates} replicates.[/]")
    if target_width is not None and chosen is None:
        console.print(f"[yellow]No design in the grid reaches width {target_width}; add "
                      "larger --prompts values.[/]")
