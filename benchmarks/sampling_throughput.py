"""Sampling throughput: batched decoding vs a naive llama-cpp-python loop vs raw llama_decode.

For each model of the offline pair, in one process, on the same prompts, frames, seeds,
threads and token limit, this measures

(a) a naive loop: ``Llama.create_completion`` once per response, one after another;
(b) bayeseffect's ``generate_batch`` with prompts x replicates sequences in flight
    (prompts evaluated together, replicates sharing their prompt's KV, sampling in C);
(c) llama.cpp's raw batched decode at the same number of sequences: ``llama_decode`` of
    one token per sequence in a loop, no sampling, no prompt evaluation;
(d) (b)'s work in raw llama.cpp calls: the same prompt evaluation, then (c)'s loop for the
    full token limit -- the ceiling for (b), since (c) leaves out the prompts (b) must read;

and prints (b)/(a), (b)/(c) and (b)/(d) (issue 5 asks for at least 2.5 and 0.8), the ceilings
(d)/(a) and (d)/(c) that raw llama.cpp calls doing (b)'s work reach, how much of (b) is
prompt evaluation, the time option scoring takes vs generating the answers, and the
peak RSS. Two more comparisons, each in the same process:

- (b)/(a) again for the complexity variable's explanations (``--long-max-tokens``), where
  decoding, not prompt evaluation, dominates;
- a preamble of few-shot examples in the frame (``--shots`` logic items with their
  answers), over ``--batches`` batches: cached once per load (ours) vs evaluated once per
  batch (the same decoder told it has no preamble).

Each measurement is repeated and its best kept; only ratios within one run mean
anything, since absolute tokens/s swing with the machine's load.

    uv run python benchmarks/sampling_throughput.py [--prompts 4] [--replicates 4]
        [--max-tokens 16] [--long-max-tokens 64] [--shots 3] [--batches 4] [--threads 2]
        [--repeats 2]
"""

import argparse
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from llama_cpp import Llama

from bayeseffect.engines.llama.generator import (
    LlamaCppGenerator,
    _quiet_stderr,
    safe_llama_loading,
)
from bayeseffect.pairs.catalog import Prompting, ResolvedArm, load_pair, resolve_pair
from bayeseffect.sampling.loop import response_seed
from bayeseffect.sampling.types import Request, SamplingParams
from bayeseffect.variables.complexity.prompts import generate_complexity
from bayeseffect.variables.logic.prompts import generate_logic


def best_rate(measure: Callable[[], tuple[int, float]], repeats: int) -> float:
    """Tokens per second of the fastest of ``repeats`` runs."""
    return max(tokens / seconds for tokens, seconds in (measure() for _ in range(repeats)))


def naive_loop(llama: Llama, generator: LlamaCppGenerator, requests: list[Request],
               params: SamplingParams) -> tuple[int, float]:
    """(a): render the frame, then create_completion per response, nothing else."""
    tokens, start = 0, time.perf_counter()
    for request in requests:
        frame = generator._frame(request.question)
        out = llama.create_completion(
            frame.prompt, max_tokens=params.max_tokens, temperature=params.temperature,
            top_p=params.top_p, top_k=params.top_k, min_p=0.0, repeat_penalty=1.0,
            seed=request.seed, stop=list(frame.stop) or None)
        tokens += out["usage"]["completion_tokens"]
    return tokens, time.perf_counter() - start


def batched(generator: LlamaCppGenerator, requests: list[Request]) -> tuple[int, float]:
    """(b): one generate_batch call, prompt evaluation included."""
    start = time.perf_counter()
    completions = generator.generate_batch(requests)
    return sum(c.n_completion_tokens for c in completions), time.perf_counter() - start


def raw_decode(generator: LlamaCppGenerator, requests: list[Request], n_seq: int,
               steps: int) -> tuple[int, float]:
    """(c): ``steps`` llama_decode calls of one token for each of ``n_seq`` sequences."""
    prompts = [generator._tokens(generator._frame(r.question)) for r in requests[:n_seq]]
    generator._decoder._prefill(prompts)
    start = time.perf_counter()
    _decode_steps(generator, prompts, steps)
    return steps * len(prompts), time.perf_counter() - start


def _decode_steps(generator: LlamaCppGenerator, prompts: list[tuple[int, ...]],
                  steps: int) -> None:
    decoder = generator._decoder
    for step in range(steps):
        decoder._batch.clear()
        for seq, tokens in enumerate(prompts):
            decoder._batch.add(tokens[-1], len(tokens) + step, (seq,), output=True)
        decoder._decode()


def raw_same_work(generator: LlamaCppGenerator, requests: list[Request],
                  steps: int) -> tuple[int, float]:
    """(d): (b)'s work in raw llama.cpp calls: the same prefill, then ``steps`` decodes of
    every sequence, no sampling and no Python per token beyond filling the batch."""
    prompts = [generator._tokens(generator._frame(r.question)) for r in requests]
    start = time.perf_counter()
    generator._decoder._prefill(prompts)
    _decode_steps(generator, prompts, steps)
    return steps * len(prompts), time.perf_counter() - start


def prompt_evaluation(generator: LlamaCppGenerator, requests: list[Request]) -> float:
    """Seconds (b) spends evaluating its prompts, before the first token is sampled."""
    prompts = [generator._tokens(generator._frame(r.question)) for r in requests]
    start = time.perf_counter()
    generator._decoder._prefill(prompts)
    return time.perf_counter() - start


def option_scoring(generator: LlamaCppGenerator, questions: list[str]) -> float:
    """Seconds to score yes/no for every question from one forward pass."""
    start = time.perf_counter()
    generator.option_probabilities(questions, ("yes", "no"))
    return time.perf_counter() - start


def few_shot(prompting: Prompting, shots: int) -> Prompting:
    """The arm's frame with ``shots`` answered logic items before the question."""
    items = generate_logic(shots, seed=99).items
    examples = "".join(f"{item.question}\nAnswer: {item.expected}\n\n" for item in items)
    if prompting.frame == "chat":
        return replace(prompting, system=f"Answer as in these examples.\n\n{examples}")
    return replace(prompting, template=examples + prompting.template)


def preamble_effect(resolved: ResolvedArm, params: SamplingParams, shots: int,
                    batches: int, replicates: int, repeats: int) -> dict[str, float]:
    """Seconds for ``batches`` batches under a few-shot frame, preamble cached or not."""
    prompts_per_batch = params.batch_size // replicates
    questions = [item.question for item in
                 generate_logic(prompts_per_batch * batches, seed=1).items]
    requests = [Request(q, response_seed(0, "bench", str(i), r))
                for i, q in enumerate(questions) for r in range(replicates)]
    generator = LlamaCppGenerator.load(resolved.path, prompting=few_shot(resolved.prompting,
                                                                          shots), params=params)
    try:
        preamble = generator._decoder.preamble
        cached = min(batched(generator, requests)[1] for _ in range(repeats))
        generator._decoder.preamble = ()
        per_batch = min(batched(generator, requests)[1] for _ in range(repeats))
    finally:
        generator.close()
    return {"preamble_tokens": len(preamble), "cached_s": cached, "per_batch_s": per_batch}


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def loaded(resolved: ResolvedArm, params: SamplingParams) -> Iterator[tuple[LlamaCppGenerator,
                                                                              Llama]]:
    """The model loaded twice: as bayeseffect's generator and as a plain ``Llama``."""
    generator = LlamaCppGenerator.load(resolved.path, prompting=resolved.prompting,
                                       params=params)
    with _quiet_stderr(), safe_llama_loading():
        llama = Llama(model_path=str(resolved.path), n_ctx=params.n_ctx,
                      n_threads=params.threads, n_threads_batch=params.threads, verbose=False)
    try:
        yield generator, llama
    finally:
        llama.close()
        generator.close()


def measure(resolved: ResolvedArm, requests: list[Request], questions: list[str],
            params: SamplingParams, repeats: int) -> dict[str, float]:
    """All measurements of one model, each the best of ``repeats``."""
    n_seq, steps = len(requests), params.max_tokens
    with loaded(resolved, params) as (generator, llama):
        return {
            "naive": best_rate(lambda: naive_loop(llama, generator, requests, params), repeats),
            "ours": best_rate(lambda: batched(generator, requests), repeats),
            "raw": best_rate(lambda: raw_decode(generator, requests, n_seq, steps), repeats),
            "same_work": best_rate(lambda: raw_same_work(generator, requests, steps), repeats),
            "raw_1": best_rate(lambda: raw_decode(generator, requests, 1, steps), repeats),
            "generate_s": min(batched(generator, requests)[1] for _ in range(repeats)),
            "prompt_s": min(prompt_evaluation(generator, requests) for _ in range(repeats)),
            "score_s": min(option_scoring(generator, questions) for _ in range(repeats)),
        }


def measure_long(resolved: ResolvedArm, params: SamplingParams, prompts: int,
                 replicates: int) -> dict[str, float]:
    """(a), (b), (c) and (d) once each, for complexity prompts' long answers."""
    questions = [item.question for item in generate_complexity(prompts, seed=0).items]
    requests = [Request(q, response_seed(0, "bench", str(i), r))
                for i, q in enumerate(questions) for r in range(replicates)]
    steps = params.max_tokens
    with loaded(resolved, params) as (generator, llama):
        return {"naive": best_rate(lambda: naive_loop(llama, generator, requests, params), 1),
                "ours": best_rate(lambda: batched(generator, requests), 1),
                "same_work": best_rate(lambda: raw_same_work(generator, requests, steps), 1),
                "raw": best_rate(lambda: raw_decode(generator, requests, len(requests), steps),
                                 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--long-max-tokens", type=int, default=64)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    n_seq = args.prompts * args.replicates
    params = SamplingParams(max_tokens=args.max_tokens, threads=args.threads, batch_size=n_seq)
    questions = [item.question for item in generate_logic(args.prompts, seed=0).items]
    requests = [Request(q, response_seed(0, "bench", str(i), r))
                for i, q in enumerate(questions) for r in range(args.replicates)]
    print(f"{args.prompts} logic prompts x {args.replicates} replicates = {n_seq} sequences, "
          f"max_tokens {args.max_tokens}, temperature {params.temperature}, {args.threads} "
          f"threads, best of {args.repeats}")
    for arm, resolved in resolve_pair(load_pair("offline-default")).items():
        m = measure(resolved, requests, questions, params, args.repeats)
        print(f"{arm} ({resolved.path.name}):")
        print(f"  (a) naive create_completion loop  {m['naive']:7.1f} tok/s")
        print(f"  (b) generate_batch, {n_seq:2d} in flight  {m['ours']:7.1f} tok/s   "
              f"(b)/(a) = {m['ours'] / m['naive']:.2f}  (goal >= 2.5)")
        print(f"  (c) raw llama_decode, {n_seq:2d} seqs    {m['raw']:7.1f} tok/s   "
              f"(b)/(c) = {m['ours'] / m['raw']:.2f}  (goal >= 0.8)   "
              f"[1 seq: {m['raw_1']:.1f} tok/s]")
        print(f"      of (b)'s {m['generate_s']:.2f} s, {m['prompt_s']:.2f} s evaluate the "
              "prompts, which (a) reads once per prompt too and (c) leaves out")
        print(f"  (d) raw prefill + decode, same work {m['same_work']:7.1f} tok/s   "
              f"(b)/(d) = {m['ours'] / m['same_work']:.2f}  (what our Python, sampling and "
              "early stops cost)")
        print(f"      ceilings, raw llama.cpp doing (b)'s work: (d)/(a) = "
              f"{m['same_work'] / m['naive']:.2f}, (d)/(c) = {m['same_work'] / m['raw']:.2f}")
        print(f"  yes/no option scoring of {args.prompts} prompts {m['score_s']:.2f} s vs "
              f"generating {n_seq} answers {m['generate_s']:.2f} s: "
              f"{m['generate_s'] / m['score_s']:.1f}x cheaper")
        long_params = replace(params, max_tokens=args.long_max_tokens)
        long = measure_long(resolved, long_params, args.prompts, args.replicates)
        print(f"  complexity prompts, max_tokens {args.long_max_tokens}: (a) "
              f"{long['naive']:.1f} tok/s, (b) {long['ours']:.1f} tok/s, (b)/(a) = "
              f"{long['ours'] / long['naive']:.2f}, (b)/(c) = {long['ours'] / long['raw']:.2f}"
              f"; ceilings (d)/(a) = {long['same_work'] / long['naive']:.2f}, (d)/(c) = "
              f"{long['same_work'] / long['raw']:.2f}")
        pre = preamble_effect(resolved, params, args.shots, args.batches, args.replicates,
                              args.repeats)
        print(f"  {args.shots}-shot frame ({pre['preamble_tokens']} preamble tokens), "
              f"{args.batches} batches: preamble cached per load {pre['cached_s']:.2f} s vs "
              f"evaluated per batch {pre['per_batch_s']:.2f} s: "
              f"{pre['per_batch_s'] / pre['cached_s']:.2f}x")
        print(f"  peak RSS so far {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
