"""Generation with llama-cpp-python: each arm framed as intended, each response seeded."""

import hashlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from bayeseffect.errors import BayesEffectError
from bayeseffect.generation import Completion, Request, SamplingParams
from bayeseffect.model_catalog import Prompting


def llama_versions() -> dict[str, str]:
    """Return the llama-cpp-python version, llama.cpp's own version and its CPU features."""
    import llama_cpp

    return {
        "llama_cpp_python_version": llama_cpp.__version__,
        "llama_cpp_version": llama_cpp.llama_version().decode(),
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode().strip(" |"),
    }


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    # llama.cpp prints load logs from C straight to fd 2, past Python's sys.stderr.
    import os

    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@dataclass(frozen=True)
class _Frame:
    prompt: str
    stop: tuple[str, ...]
    add_special: bool


class LlamaCppGenerator:
    """A GGUF model loaded with llama-cpp-python, prompted the way its arm intends.

    Use :meth:`load` to create one. Every response starts from the same state: the prompt
    minus its last token is evaluated once into a fresh KV cache, and each replicate
    evaluates the last token and samples from there. So a response depends only on
    (prompt, seed, model, threads), never on what was generated before it -- which keeps
    resumed runs identical to uninterrupted ones.
    """

    def __init__(self, llama: Any, prompting: Prompting, params: SamplingParams) -> None:
        self._llama = llama
        self._prompting = prompting
        self._params = params
        self._primed: list[int] | None = None
        self._chat_formatter: Any = None
        if prompting.frame == "chat":
            self._chat_formatter = self._make_chat_formatter()

    @classmethod
    def load(cls, path: Path, *, prompting: Prompting, params: SamplingParams) -> Self:
        """Load a model file.

        Parameters
        ----------
        path
            The GGUF file.
        prompting
            How this arm is prompted.
        params
            Sampling settings (threads and context size are used at load time).

        Returns
        -------
        LlamaCppGenerator
            The loaded generator.

        """
        from llama_cpp import Llama

        try:
            with _quiet_stderr():
                llama = Llama(model_path=str(path), n_ctx=params.n_ctx, n_threads=params.threads,
                              n_threads_batch=params.threads, seed=0, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise BayesEffectError(f"llama.cpp could not load {path}: {exc}") from exc
        return cls(llama, prompting, params)

    def _make_chat_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise BayesEffectError(
                "the instruct model's GGUF has no chat template (tokenizer.chat_template); "
                "use a GGUF converted with its template or prompt it with frame = 'completion'"
            )
        model = self._llama._model
        return Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(self._llama.token_eos()),
            bos_token=model.token_get_text(self._llama.token_bos()),
            stop_token_ids=[self._llama.token_eos()],
        )

    def _frame(self, question: str) -> _Frame:
        if self._prompting.frame == "completion":
            return _Frame(self._prompting.template.format(question=question),
                          self._prompting.stop, add_special=True)
        messages = [{"role": "user", "content": question}]
        if self._prompting.system:
            messages.insert(0, {"role": "system", "content": self._prompting.system})
        rendered = self._chat_formatter(messages=messages)
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop]
        # A template that writes the BOS text itself must not get a second BOS token.
        bos_text = self._llama._model.token_get_text(self._llama.token_bos())
        return _Frame(rendered.prompt, tuple(s for s in stop if s),
                      add_special=not (bos_text and rendered.prompt.startswith(bos_text)))

    def render(self, question: str) -> str:
        """Return the exact text the model sees for ``question``."""
        return self._frame(question).prompt

    def generate(self, question: str, *, seed: int) -> Completion:
        """Generate one response.

        Parameters
        ----------
        question
            The item's question.
        seed
            Sampler seed for this response.

        Returns
        -------
        Completion
            The text and its token counts.

        """
        frame = self._frame(question)
        tokens = self._llama.tokenize(frame.prompt.encode("utf-8"), add_bos=frame.add_special,
                                      special=True)
        if len(tokens) + self._params.max_tokens > self._params.n_ctx:
            raise BayesEffectError(
                f"a prompt of {len(tokens)} tokens plus --max-tokens {self._params.max_tokens} "
                f"exceeds the context of {self._params.n_ctx}; lower --max-tokens"
            )
        if tokens != self._primed:
            with _quiet_stderr():
                self._llama.reset()
                self._llama.eval(tokens[:-1])
            self._primed = tokens
        out = self._llama.create_completion(
            tokens, max_tokens=self._params.max_tokens, temperature=self._params.temperature,
            top_p=self._params.top_p, top_k=self._params.top_k, min_p=0.0, repeat_penalty=1.0,
            seed=seed, stop=list(frame.stop) or None,
        )
        choice = out["choices"][0]
        return Completion(
            text=choice["text"],
            n_prompt_tokens=out["usage"]["prompt_tokens"],
            n_completion_tokens=out["usage"]["completion_tokens"],
            finish_reason=choice["finish_reason"] or "stop",
            rendered_prompt_sha256=hashlib.sha256(frame.prompt.encode("utf-8")).hexdigest(),
        )

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Generate one response per request, one after another."""
        return [self.generate(r.question, seed=r.seed) for r in requests]

    def close(self) -> None:
        """Free the model."""
        self._llama.close()
