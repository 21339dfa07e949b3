"""Fit time of bayeseffect (nutpie, compile included) vs PyMC's own NUTS on the same model.

1,000 prompts x 2 arms x 5 replicates of a binary outcome in 20 template families, as in
../shared/guide/statistics.md. Prints wall times, their ratio, the gates and the effect of
each, and nutpie on PyMC's own compiled graph (what bayeseffect did before its binomial
kernel) for one attempt with the same settings; with bambi installed (the `bench`
dependency group) a bambi formulation is timed too. The kernel's machine code is
compiled once per machine and cached by numba; the first import after an install
compiles it (about 13 s here, outside the timed fit), later ones load it.
The goal (issue 3): ours under 30 s on 2 cores, compile included, gates passing.

    uv run --group bench python benchmarks/fit_speed.py [--prompts 1000] [--replicates 5]
"""

import argparse
import time

import nutpie
import pymc as pm

from bayeseffect.stats.decision import summarize_draws
from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.diagnostics import check_gates
from bayeseffect.stats.estimands import compute_effects
from bayeseffect.stats.fit import fit_design
from bayeseffect.stats.hierarchy import free_parameter_names
from bayeseffect.stats.kinds import KINDS
from bayeseffect.stats.models import build_model
from bayeseffect.stats.simulate import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=5)
    args = parser.parse_args()
    sim = simulate("binary", n_prompts=args.prompts, replicates=args.replicates, n_families=20,
                   beta=0.4, seed=0)
    design = design_from_dataset(sim.dataset)
    print(f"{args.prompts} prompts x 2 arms x {args.replicates} replicates; true sample ATE "
          f"{sim.sample_ate:.4f}")

    start = time.perf_counter()
    ours = fit_design(design, seed=0)
    ours_s = time.perf_counter() - start
    effect = summarize_draws(ours.effects["sample_ate"])
    print(f"bayeseffect (nutpie)  {ours_s:6.1f} s  attempts {len(ours.attempts)}  gates "
          f"{'pass' if ours.diagnostics.passed else 'FAIL'}  effect {effect.mean:.4f} "
          f"[{effect.hdi_low:.4f}, {effect.hdi_high:.4f}]")

    # The same first attempt on nutpie's own compilation of the PyMC model (no kernel).
    first = ours.attempts[0]
    start = time.perf_counter()
    spec = build_model(design, centered=first.centered)
    graph = nutpie.sample(nutpie.compile_pymc_model(spec.model, freeze_model=True),
                          draws=first.settings.draws, tune=first.settings.tune,
                          chains=first.settings.chains, cores=2, seed=0, progress_bar=False,
                          target_accept=first.settings.target_accept, save_warmup=False)
    graph_s = time.perf_counter() - start
    graph_gates = check_gates(graph, var_names=free_parameter_names(spec.model),
                              effect=compute_effects(graph["posterior"].to_dataset(),
                                                     design)["sample_ate"])
    print(f"nutpie on PyMC's graph {graph_s:5.1f} s  (one attempt, gates not timed: "
          f"{'pass' if graph_gates.passed else 'FAIL'})  ratio to ours: {graph_s / ours_s:.2f}x")

    start = time.perf_counter()
    with spec.model:
        trace = pm.sample(draws=1000, tune=1000, chains=4, cores=2, nuts_sampler="pymc",
                          random_seed=0, progressbar=False,
                          target_accept=KINDS["binary"].target_accept,
                          compute_convergence_checks=False)
    pymc_s = time.perf_counter() - start
    effects = compute_effects(trace["posterior"].to_dataset(), design)
    gates = check_gates(trace, var_names=free_parameter_names(spec.model),
                        effect=effects["sample_ate"])
    pymc_effect = summarize_draws(effects["sample_ate"])
    print(f"PyMC NUTS             {pymc_s:6.1f} s  gates {'pass' if gates.passed else 'FAIL'}  "
          f"effect {pymc_effect.mean:.4f} [{pymc_effect.hdi_low:.4f}, {pymc_effect.hdi_high:.4f}]")
    print(f"speed ratio PyMC NUTS / bayeseffect: {pymc_s / ours_s:.2f}x")

    try:
        import bambi as bmb
    except ImportError:
        print("bambi not installed: skipped (uv run --group bench ...)")
        return
    frame = sim.dataset[["outcome"]].to_dataframe().reset_index()
    frame["family"] = frame["prompt"].map(dict(zip(sim.dataset["prompt"].values,
                                                   sim.dataset["family"].values, strict=True)))
    frame["treated"] = (frame["arm"] == "instruct").astype(int)
    start = time.perf_counter()
    model = bmb.Model("outcome ~ treated + (1 + treated | family) + (1 + treated | prompt)",
                      frame, family="bernoulli")
    model.fit(draws=1000, tune=1000, chains=4, cores=2, progressbar=False,
              target_accept=KINDS["binary"].target_accept)
    bambi_s = time.perf_counter() - start
    print(f"bambi (per response)  {bambi_s:6.1f} s  ratio bambi / bayeseffect: "
          f"{bambi_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
