"""llama.cpp's extra weight buffers on vs off: what the AMX guard costs, measured in one run.

On a llama-cpp-python build with AMX compiled in (``-march=native`` on a Sapphire Rapids
class Xeon), llama.cpp puts quantized weights in AMX buffers and its AMX matrix product
segfaults (llama.cpp issue 20824), so bayeseffect loads models without extra buffers
there (``extra_buffers_safe``). Extra buffers also carry llama.cpp's CPU repacking of
some quantizations (Q4_0, IQ4_NL, Q4_K on AVX2 ...), so turning them off can cost speed.

For each model -- the offline pair (Q4_K_M, Q4_1) and gemma-3-270m requantized to Q4_0,
the type repacking serves most -- this measures bayeseffect's ``generate_batch`` (16
sequences: 4 prompts x 4 replicates) with extra buffers on and off, each setting in a
process of its own so that a crash is reported ("crashed (SIGSEGV)") rather than fatal,
and prints tokens/s and off/on. Only ratios within one run mean anything.

    uv run python benchmarks/weight_buffers.py [--max-tokens 64] [--threads 2] [--repeats 3]

Run it once with the locked build and once with a build without AMX (see the README's
"CPUs with AMX") to compare the two fixes on such a machine. Seen on a 2-core Sapphire
Rapids VM (2026-12-01), tokens/s, two runs each:

    locked build (AMX compiled in)      on                 off
    gemma-3-270m Q4_K_M                 crashed (SIGSEGV)  88.3-89.2
    gemma-3-270m Q4_0                   crashed (SIGSEGV)  81.7-82.1
    SmolLM2-135M Q4_1                   crashed (SIGSEGV)  100.0-111.6
    build with -mno-amx-*               on                 off      off/on
    gemma-3-270m Q4_K_M                 77.7-88.5          91.5-102.9  1.03-1.32
    gemma-3-270m Q4_0                   102.1-105.5        85.1-94.8   0.83-0.90
    SmolLM2-135M Q4_1                   103.3-103.4        93.9-99.1   0.91-0.96
"""

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bayeseffect.pairs.catalog import load_pair, resolve_pair
from bayeseffect.sampling.loop import response_seed
from bayeseffect.sampling.types import Request, SamplingParams


def _child(path: str, frame: str, extra: bool, max_tokens: int, threads: int,
           repeats: int) -> None:
    from bayeseffect.engines.llama.generator import LlamaCppGenerator
    from bayeseffect.pairs.catalog import Prompting
    from bayeseffect.variables.complexity.prompts import generate_complexity

    params = SamplingParams(max_tokens=max_tokens, temperature=0.7, threads=threads,
                            batch_size=16)
    prompting = Prompting("chat") if frame == "chat" else Prompting("completion")
    questions = [item.question for item in generate_complexity(4, seed=1).items]
    requests = [Request(q, response_seed(0, "bench", str(i), r))
                for i, q in enumerate(questions) for r in range(4)]
    generator = LlamaCppGenerator.load(Path(path), prompting=prompting, params=params,
                                       extra_buffers=extra)
    try:
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            done = generator.generate_batch(requests)
            seconds = time.perf_counter() - start
            rates.append(sum(c.n_completion_tokens for c in done) / seconds)
    finally:
        generator.close()
    print(json.dumps({"tok_s": max(rates)}))


def _measure(path: Path, frame: str, extra: bool, args: argparse.Namespace) -> str | float:
    command = [sys.executable, __file__, "--child", str(path), frame, str(int(extra)),
               "--max-tokens", str(args.max_tokens), "--threads", str(args.threads),
               "--repeats", str(args.repeats)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode < 0:
        return f"crashed ({signal.Signals(-result.returncode).name})"
    if result.returncode != 0:
        return f"failed: {result.stderr.strip().splitlines()[-1:]}"
    return float(json.loads(result.stdout.strip().splitlines()[-1])["tok_s"])


def _requantized(source: Path, folder: Path) -> Path:
    """gemma-3-270m as Q4_0 (requantized from Q4_K_M: for speed, not for quality)."""
    import llama_cpp

    target = folder / "gemma-3-270m-Q4_0.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0
    params.allow_requantize = True
    params.nthread = 2
    from bayeseffect.engines.llama.generator import _quiet_stderr

    with _quiet_stderr():
        code = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(),
                                              params)
    if code != 0:
        raise SystemExit(f"llama_model_quantize failed with code {code}")
    return target


def main() -> None:
    """Measure every model with extra buffers on and off; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("PATH", "FRAME", "EXTRA"))
    args = parser.parse_args()
    if args.child:
        path, frame, extra = args.child
        _child(path, frame, extra == "1", args.max_tokens, args.threads, args.repeats)
        return

    import llama_cpp

    from bayeseffect.engines.llama.generator import extra_buffers_safe

    info = llama_cpp.llama_print_system_info().decode()
    print(f"llama-cpp-python {llama_cpp.__version__}; AMX compiled in: "
          f"{'AMX_INT8 = 1' in info}; bayeseffect's default: extra buffers "
          f"{'on' if extra_buffers_safe(info) else 'off'}")
    arms = resolve_pair(load_pair("offline-default"))
    with tempfile.TemporaryDirectory() as folder:
        models = [("gemma-3-270m Q4_K_M", arms["base"].path, "completion"),
                  ("gemma-3-270m Q4_0", _requantized(arms["base"].path, Path(folder)),
                   "completion"),
                  ("SmolLM2-135M Q4_1", arms["instruct"].path, "chat")]
        print(f"{'model':22s} {'on tok/s':>18s} {'off tok/s':>10s} {'off/on':>7s}")
        for name, path, frame in models:
            on = _measure(path, frame, True, args)
            off = _measure(path, frame, False, args)
            ratio = f"{off / on:7.2f}" if isinstance(on, float) and isinstance(off, float) \
                else "      -"
            on_text = f"{on:18.1f}" if isinstance(on, float) else f"{on:>18s}"
            off_text = f"{off:10.1f}" if isinstance(off, float) else f"{off:>10s}"
            print(f"{name:22s} {on_text} {off_text} {ratio}")


if __name__ == "__main__":
    main()
