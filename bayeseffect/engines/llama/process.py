"""One arm's llama.cpp engine in a child process, so that a native crash is an error message.

A segfault, abort or illegal instruction inside llama.cpp kills the process it happens
in. The engine therefore runs in a process of its own
(:mod:`bayeseffect.engines.llama.worker`) while this one journals every response the moment
it arrives: when the engine dies, every finished response is already saved, and the
death becomes an :class:`EngineCrashedError` -- one line naming the model file, the
signal and what to try -- instead of a silent exit.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, Self

from bayeseffect.errors import BayesEffectError, EngineCrashedError, UnsupportedOptionsError
from bayeseffect.pairs.catalog import Prompting
from bayeseffect.sampling.option_spelling import BARE_FORMS
from bayeseffect.sampling.types import Completion, Request, SamplingParams

#: What to try, by the signal that ended the engine.
_ADVICE = {
    "SIGILL": "this llama-cpp-python was built for another CPU (a wheel cached on another "
              "machine?): rebuild it here with `uv cache clean llama-cpp-python && uv sync "
              "--reinstall-package llama-cpp-python`",
    "SIGKILL": "it was killed from outside, most often by the out-of-memory killer: lower "
               "--batch-size or free memory",
    "SIGABRT": "llama.cpp stopped on a failed check",
}
_DEFAULT_ADVICE = ("if it recurs, try --threads 1, or rebuild llama-cpp-python for this "
                   "machine with `uv sync --reinstall-package llama-cpp-python`")


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _last_log_line(log: Path) -> str:
    # The native engine's last message worth quoting (a failed GGML_ASSERT, an error).
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        text = line.strip()
        if text.startswith("Fatal Python error"):
            continue  # faulthandler's heading: the signal, which the message names already
        if text and ("error" in text.lower() or "assert" in text.lower()):
            return text[:160]
    return ""


class EngineProcess:
    """A :class:`~bayeseffect.sampling.types.Generator` whose model runs in a child process.

    Use :meth:`start`. Calls block until the engine answers; when it dies instead, they
    raise :class:`EngineCrashedError`.

    Parameters
    ----------
    process
        The running engine, past its handshake.
    path
        Its model file (named in errors).
    arm
        The arm it serves (named in errors).
    log
        The engine's stderr: llama.cpp's messages and, after a crash, faulthandler's
        Python stack.
    """

    def __init__(self, process: subprocess.Popen[bytes], *, path: Path, arm: str,
                 log: Path) -> None:
        self._process = process
        self._path = path
        self._arm = arm
        self.log = log
        self.pid = process.pid
        self._busy = False
        self._crashed = False
        self._owns_log = False

    @classmethod
    def start(cls, path: Path, *, prompting: Prompting, params: SamplingParams, arm: str,
              log: Path | None = None, extra_buffers: bool | None = None,
              adapter: Path | None = None, adapter_scale: float = 1.0) -> Self:
        """Start an engine process and load ``path`` in it.

        Parameters
        ----------
        path
            The GGUF file.
        prompting
            How the arm is prompted.
        params
            Sampling settings.
        arm
            The arm's name, for messages.
        extra_buffers
            llama.cpp's extra weight buffers; by default where safe
            (:func:`~bayeseffect.engines.llama.generator.extra_buffers_safe`).
        log
            Where the engine's stderr is appended; a temporary file when omitted.
        adapter, adapter_scale
            A LoRA adapter GGUF applied on top of the model, and its scale; ``None``: the
            bare model.

        Returns
        -------
        EngineProcess
            The loaded engine.

        Raises
        ------
        BayesEffectError
            When the model cannot be loaded.
        EngineCrashedError
            When the engine dies while loading it.
        """
        owns_log = log is None
        if log is None:
            handle, name = tempfile.mkstemp(prefix="bayeseffect-engine-", suffix=".log")
            os.close(handle)
            log = Path(name)
        with log.open("ab") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "bayeseffect.engines.llama.worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        engine = cls(process, path=path, arm=arm, log=log)
        engine._owns_log = owns_log
        setup = {"path": str(path), "prompting": asdict(prompting), "params": asdict(params),
                 "parent_pid": os.getpid(), "extra_buffers": extra_buffers}
        if adapter is not None:
            setup["adapter"] = {"path": str(adapter), "scale": adapter_scale}
        try:
            engine._exchange(setup, activity="loading")
        except BaseException:
            engine.close()
            raise
        return engine

    def _exchange(self, message: dict[str, Any], *, activity: str) -> Any:
        stdin, stdout = self._pipes()
        self._busy = True
        try:
            stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            stdin.flush()
            line = stdout.readline()
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        self._busy = False
        if not line:
            raise self._crash(activity)
        answer = json.loads(line)
        if "error" in answer:
            kind = (UnsupportedOptionsError if answer.get("type") == "UnsupportedOptionsError"
                    else BayesEffectError)
            raise kind(answer["error"])
        return answer["ok"]

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None or self._process.poll() is not None:
            raise self._crash("being called after it stopped")
        return stdin, stdout

    def _crash(self, activity: str) -> EngineCrashedError:
        self._crashed = True
        try:
            returncode = self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            returncode = self._process.wait()
        how = _describe_exit(returncode)
        quoted = _last_log_line(self.log)
        advice = _ADVICE.get(how, _DEFAULT_ADVICE)
        return EngineCrashedError(
            f"the llama.cpp engine died ({how}) while {activity} {self._arm}'s model "
            f"{self._path}; every finished response is saved and the same command resumes; "
            f"{advice}" + (f"; it said: {quoted}" if quoted else "") + f" (log: {self.log})",
            signal_name=how)

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Generate one response per request in the engine (see ``LlamaCppGenerator``)."""
        answer = self._exchange(
            {"call": "generate_batch", "requests": [[r.question, r.seed] for r in requests]},
            activity="sampling")
        return [Completion(**c) for c in answer]

    def option_probabilities(self, questions: Sequence[str], options: Sequence[str], *,
                             forms: Sequence[str] = BARE_FORMS) -> list[dict[str, float]]:
        """Score answer options in the engine (see ``LlamaCppGenerator``)."""
        answer: list[dict[str, float]] = self._exchange(
            {"call": "option_probabilities", "questions": list(questions),
             "options": list(options), "forms": list(forms)},
            activity="scoring options with")
        return answer

    def close(self) -> None:
        """Ask the engine to free its model and exit; kill it if it does not. Idempotent.

        An engine interrupted in the middle of a call (Ctrl-C) is killed at once: its
        answer is not wanted, and a batch can take seconds to finish.
        """
        process = self._process
        if process.poll() is None and self._busy:
            process.kill()
            process.wait()
        if process.poll() is None:
            try:
                if process.stdin is not None:
                    process.stdin.write(b'{"call": "close"}\n')
                    process.stdin.flush()
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        # A log is kept for what it can explain: a crash, or a message llama.cpp printed.
        if not self._crashed and (self._owns_log or _is_empty(self.log)):
            self.log.unlink(missing_ok=True)


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
