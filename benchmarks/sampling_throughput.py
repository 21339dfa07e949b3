"""Sampling throughput of bayeseffect's backend vs a bare llama-cpp-python loop, and fit time.

Both loops generate the same responses (same prompts, frames, seeds, threads, max tokens)
on each model of the offline pair, in one process, one after the other; the ratio is what
matters, not the absolute tokens/s (they swing with machine load).

    uv run python benchmarks/sampling_throughput.py [--prompts 8] [--replicates 3]
"""

import argparse
import time

from bayeseffect.generation import SamplingParams
from bayeseffect.llm.llama_backend import LlamaCppGenerator
from bayeseffect.model_catalog import load_pair, resolve_pair
from bayeseffect.promptsets.logic import generate_logic
from bayeseffect.sampling import response_seed


def bare_loop(generator: LlamaCppGenerator, questions, replicates, params) -> tuple[int, float]:
    """A naive loop: render, then create_completion per response, nothing else."""
    llama = generator._llama
    frames = [generator._frame(q) for q in questions]
    tokens, start = 0, time.perf_counter()
    for i, frame in enumerate(frames):
        for r in range(replicates):
            out = llama.create_completion(
                frame.prompt, max_tokens=params.max_tokens, temperature=params.temperature,
                top_p=params.top_p, top_k=params.top_k, seed=response_seed(0, "x", str(i), r),
                stop=list(frame.stop) or None)
            tokens += out["usage"]["completion_tokens"]
    return tokens, time.perf_counter() - start


def ours(generator: LlamaCppGenerator, questions, replicates) -> tuple[int, float]:
    tokens, start = 0, time.perf_counter()
    for i, question in enumerate(questions):
        for r in range(replicates):
            tokens += generator.generate(question, seed=response_seed(0, "x", str(i), r)
                                         ).n_completion_tokens
    return tokens, time.perf_counter() - start


def fit_time() -> float:
    from bayeseffect.simulate import simulate
    from bayeseffect.stats.design import design_from_dataset
    from bayeseffect.stats.fit import fit_design

    sim = simulate("binary", n_prompts=40, replicates=4, seed=0)
    start = time.perf_counter()
    fit_design(design_from_dataset(sim.dataset), seed=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    params = SamplingParams(max_tokens=16, threads=args.threads)
    questions = [item.question for item in generate_logic(args.prompts, seed=0).items]
    arms = resolve_pair(load_pair("offline-default"))
    print(f"{args.prompts} prompts x {args.replicates} replicates, max_tokens 16, "
          f"{args.threads} threads")
    for arm, resolved in arms.items():
        generator = LlamaCppGenerator.load(resolved.path, prompting=resolved.prompting,
                                           params=params)
        bare_tokens, bare_s = bare_loop(generator, questions, args.replicates, params)
        our_tokens, our_s = ours(generator, questions, args.replicates)
        generator.close()
        bare_rate, our_rate = bare_tokens / bare_s, our_tokens / our_s
        print(f"{arm:9s} bare llama-cpp-python {bare_rate:7.1f} tok/s | bayeseffect "
              f"{our_rate:7.1f} tok/s | ratio {our_rate / bare_rate:.2f}")
    seconds = fit_time()
    print(f"fit of a 40-prompt x 4-replicate binary run (compile included): {seconds:.1f} s")


if __name__ == "__main__":
    main()
