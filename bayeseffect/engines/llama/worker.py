"""The engine process: one arm's model loaded with llama-cpp-python, serving its parent.

Run as ``python -m bayeseffect.engines.llama.worker`` by
:class:`~bayeseffect.engines.llama.process.EngineProcess`. It speaks JSON lines: the first
line from the parent says what to load, each later one is a call (``generate_batch``,
``option_probabilities``, ``close``), and every call gets one line back, ``{"ok": ...}`` or
``{"error": ..., "type": ...}``. The native engine runs here and not in the process that
journals responses, so a segfault, an abort or an illegal instruction inside llama.cpp
ends this process only; the parent turns its death into a one-line error. No pickle:
requests and results are plain JSON.
"""

import faulthandler
import json
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

from bayeseffect.errors import BayesEffectError, UnsupportedOptionsError
from bayeseffect.pairs.catalog import Prompting
from bayeseffect.sampling.types import Request, SamplingParams


def _die_with_parent(parent_pid: int) -> None:
    # A parent killed with SIGKILL cannot stop its engine: ask Linux to do it.
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(0)


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode("utf-8") + b"\n")
    out.flush()


def _call(generator: Any, message: dict[str, Any]) -> Any:
    name = message["call"]
    if name == "generate_batch":
        requests = [Request(question, seed) for question, seed in message["requests"]]
        return [asdict(c) for c in generator.generate_batch(requests)]
    if name == "option_probabilities":
        return generator.option_probabilities(message["questions"], message["options"],
                                              forms=message["forms"])
    raise ValueError(f"unknown engine call {name!r}")


def serve(commands: BinaryIO, out: BinaryIO) -> int:
    """Load the model the first line names, then answer calls until ``close`` or EOF.

    Parameters
    ----------
    commands
        The parent's requests, one JSON object per line.
    out
        Where answers go, one JSON object per line.

    Returns
    -------
    int
        The exit status.
    """
    from bayeseffect.engines.llama.generator import LlamaCppGenerator

    first = commands.readline()
    if not first:
        return 0
    setup = json.loads(first)
    _die_with_parent(int(setup["parent_pid"]))
    prompting = setup["prompting"]
    prompting["stop"] = tuple(prompting["stop"])
    adapter = setup.get("adapter")
    try:
        generator = LlamaCppGenerator.load(
            Path(setup["path"]), prompting=Prompting(**prompting),
            params=SamplingParams(**setup["params"]), extra_buffers=setup.get("extra_buffers"),
            adapter=Path(adapter["path"]) if adapter else None,
            adapter_scale=float(adapter["scale"]) if adapter else 1.0)
    except BayesEffectError as exc:
        _send(out, {"error": str(exc), "type": "BayesEffectError"})
        return 1
    _send(out, {"ok": {"pid": os.getpid()}})
    try:
        for line in commands:
            message = json.loads(line)
            if message["call"] == "close":
                _send(out, {"ok": None})
                break
            try:
                _send(out, {"ok": _call(generator, message)})
            except UnsupportedOptionsError as exc:
                _send(out, {"error": str(exc), "type": "UnsupportedOptionsError"})
            except BayesEffectError as exc:
                _send(out, {"error": str(exc), "type": "BayesEffectError"})
    finally:
        generator.close()
    return 0


def main() -> int:
    """Serve the parent on the stdin/stdout this process was started with."""
    # Ctrl-C reaches the whole process group: the parent decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers get their own copy of stdout; fd 1 then joins the log on fd 2, so text the
    # native library prints to stdout can never corrupt the protocol.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    faulthandler.enable(file=sys.stderr)
    return serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    sys.exit(main())
