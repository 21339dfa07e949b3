"""Generation with llama-cpp-python: each arm framed as intended, each response seeded."""

import hashlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import Prompting
from bayeseffect.sampling.option_spelling import (
    BARE_FORMS,
    distinguishing_prefixes,
    option_spellings,
)
from bayeseffect.sampling.types import Completion, Request, SamplingParams


def llama_versions() -> dict[str, str]:
    """Return the llama-cpp-python and llama.cpp versions, CPU features and weight buffers."""
    import llama_cpp

    system_info = llama_cpp.llama_print_system_info().decode()
    return {
        "llama_cpp_python_version": llama_cpp.__version__,
        "llama_cpp_version": llama_cpp.llama_version().decode(),
        "llama_cpp_system_info": system_info.strip(" |"),
        "extra_weight_buffers": "on" if extra_buffers_safe(system_info) else "off (AMX build)",
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


def extra_buffers_safe(system_info: str | None = None) -> bool:
    """Whether llama.cpp's extra weight buffers may be used with this llama-cpp-python build.

    A build compiled with AMX (``-march=native`` on a Sapphire Rapids class Xeon) puts
    quantized weights in AMX buffers, and its AMX matrix product crashes with a general
    protection fault at ``ldtilecfg`` (llama.cpp issue 20824). Without extra buffers the
    weights stay in plain CPU buffers: no AMX path, and no CPU repacking either (which
    serves Q4_0 and IQ4_NL). Every other build keeps them.

    Parameters
    ----------
    system_info
        ``llama_print_system_info()``; read from the loaded library when omitted.

    Returns
    -------
    bool
        False when the library has AMX compiled in.
    """
    if system_info is None:
        import llama_cpp

        system_info = llama_cpp.llama_print_system_info().decode()
    return "AMX_INT8 = 1" not in system_info


@contextmanager
def safe_llama_loading() -> Iterator[None]:
    """While active, ``llama_cpp.Llama`` objects load with extra buffers only where safe.

    ``Llama`` has no option for ``use_extra_bufts``; it takes llama.cpp's defaults. For the
    code that must use ``Llama`` itself -- llama-cpp-python's server
    (:mod:`bayeseffect.engines.llama.serve`), the naive baseline of the throughput benchmark, tests
    that compare with ``Llama.eval`` -- this swaps in defaults without extra buffers on an
    AMX build (:func:`extra_buffers_safe`) for the duration of the block.
    """
    import llama_cpp.llama_cpp as low_level

    original = low_level.llama_model_default_params
    if extra_buffers_safe():
        yield
        return

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    low_level.llama_model_default_params = defaults
    try:
        yield
    finally:
        low_level.llama_model_default_params = original


def load_model(path: Path, *, extra_buffers: bool) -> Any:
    """Load a GGUF file's weights on the CPU.

    Parameters
    ----------
    path
        The GGUF file.
    extra_buffers
        llama.cpp's ``use_extra_bufts`` (see :func:`extra_buffers_safe`).

    Returns
    -------
    llama_cpp._internals.LlamaModel
        The model; close it when done.

    Raises
    ------
    ValueError
        When llama.cpp cannot load the file.
    """
    import llama_cpp
    from llama_cpp._internals import LlamaModel
    from llama_cpp._logger import set_verbose

    # What Llama(verbose=False) does: only llama.cpp's errors reach stderr.
    set_verbose(False)
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = 0
    params.use_extra_bufts = extra_buffers
    return LlamaModel(path_model=str(path), params=params, verbose=False)


def load_lora(model: Any, path: Path) -> Any:
    """Load a LoRA adapter GGUF for a loaded model.

    Parameters
    ----------
    model
        The model (``llama_cpp._internals.LlamaModel``) the adapter was trained on.
    path
        The adapter file.

    Returns
    -------
    ctypes pointer
        The adapter; free it with ``llama_cpp.llama_adapter_lora_free`` after every
        context that uses it, and before the model.

    Raises
    ------
    BayesEffectError
        When llama.cpp cannot load it (its log says why).
    """
    import llama_cpp

    adapter = llama_cpp.llama_adapter_lora_init(model.model, str(path).encode("utf-8"))
    if not adapter:
        raise BayesEffectError(f"llama.cpp could not load the LoRA adapter {path} for this "
                               "model (see the engine log for why)")
    return adapter


@dataclass(frozen=True)
class _Frame:
    prompt: str
    stop: tuple[str, ...]
    add_special: bool


class LlamaCppGenerator:
    """A GGUF model loaded with llama-cpp-python, prompted the way its arm intends.

    Use :meth:`load` to create one. A batch of requests is decoded together
    (:class:`~bayeseffect.engines.llama.batched.BatchedDecoder`): each distinct prompt is evaluated
    once and shared by its replicates, and all sequences then advance one token per
    ``llama_decode``, each sampled by its own seeded llama.cpp sampler chain. Only the
    arm's preamble stays in the cache across batches, laid out the same way on every
    load, so a response depends only on its batch (requests, seeds, layout), the model
    and the threads, never on earlier batches -- which keeps resumed runs, which
    regenerate whole batches, identical to uninterrupted ones.

    The batch's shape is part of what determines a response: a prompt evaluated beside
    others, or a token decoded beside 15 others, goes through other matrix kernels whose
    sums round differently (on a 2-core AVX2 CPU, evaluating a prompt's last token in a
    llama_decode of its own moved gemma-3-270m's logits by up to 0.8). Greedy responses
    of a prompt alone and in a batch of 16 then mostly agree (8/8 prompts for
    gemma-3-270m, 6/8 for SmolLM2-135M at 16 tokens), but not always.
    """

    def __init__(self, model: Any, prompting: Prompting, params: SamplingParams,
                 decoder: Any, lora: Any = None) -> None:
        self._model = model
        self._prompting = prompting
        self._params = params
        self._decoder = decoder
        self._lora = lora
        self._chat_formatter: Any = None
        if prompting.frame == "chat":
            self._chat_formatter = self._make_chat_formatter()

    @classmethod
    def load(cls, path: Path, *, prompting: Prompting, params: SamplingParams,
             extra_buffers: bool | None = None, adapter: Path | None = None,
             adapter_scale: float = 1.0) -> Self:
        """Load a model file.

        Parameters
        ----------
        path
            The GGUF file.
        prompting
            How this arm is prompted.
        params
            Sampling settings (threads, context size and batch size are used at load time:
            the context holds ``batch_size`` sequences of ``n_ctx`` tokens).
        extra_buffers
            llama.cpp's extra weight buffers (repacked weights); by default on unless the
            build has AMX compiled in (:func:`extra_buffers_safe`). Forcing them on with
            such a build crashes at the first matrix product.
        adapter
            A LoRA adapter GGUF applied on top of the model, in generation and option
            scoring alike; ``None``: the bare model.
        adapter_scale
            How strongly the adapter is applied (0: as the bare model).

        Returns
        -------
        LlamaCppGenerator
            The loaded generator.

        """
        from bayeseffect.engines.llama.batched import BatchedDecoder

        try:
            with _quiet_stderr():
                model = load_model(path, extra_buffers=extra_buffers_safe()
                                   if extra_buffers is None else extra_buffers)
        except (ValueError, RuntimeError) as exc:
            raise BayesEffectError(f"llama.cpp could not load {path}: {exc}") from exc
        lora = None
        try:
            if adapter is not None:
                lora = load_lora(model, adapter)
            generator = cls(model, prompting, params, decoder=None, lora=lora)
            with _quiet_stderr():
                generator._decoder = BatchedDecoder(
                    model, n_seq=params.batch_size, n_ctx_seq=params.n_ctx,
                    threads=params.threads, preamble=generator.preamble(),
                    lora=None if lora is None else (lora, adapter_scale))
        except (ValueError, RuntimeError) as exc:
            _free(lora, model)
            raise BayesEffectError(f"llama.cpp could not load {path}: {exc}") from exc
        except BaseException:
            _free(lora, model)
            raise
        return generator

    def preamble(self) -> tuple[int, ...]:
        """Return the tokens every framed question starts with: the frame's text before it.

        Found by framing two different one-letter questions and keeping their common
        tokens but the last (where a question's first characters could merge with the
        frame's last ones). The decoder keeps them in its cache for the whole load.
        """
        from bayeseffect.engines.llama.batched import common_prefix_length

        first, second = (self._tokens(self._frame(q)) for q in ("A", "Z"))
        common = common_prefix_length([first, second])
        return first[:max(common - 1, 0)]

    def _make_chat_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._model.metadata().get("tokenizer.chat_template")
        if not template:
            raise BayesEffectError(
                "the instruct model's GGUF has no chat template (tokenizer.chat_template); "
                "use a GGUF converted with its template or prompt it with frame = 'completion'"
            )
        model = self._model
        return Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(model.token_eos()),
            bos_token=model.token_get_text(model.token_bos()),
            stop_token_ids=[model.token_eos()],
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
        bos_text = self._model.token_get_text(self._model.token_bos())
        return _Frame(rendered.prompt, tuple(s for s in stop if s),
                      add_special=not (bos_text and rendered.prompt.startswith(bos_text)))

    def _tokens(self, frame: _Frame) -> tuple[int, ...]:
        return tuple(self._model.tokenize(frame.prompt.encode("utf-8"),
                                          add_bos=frame.add_special, special=True))

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Generate one response per request, decoded together.

        Parameters
        ----------
        requests
            The batch; requests with the same question share its prompt evaluation. More
            than ``batch_size`` requests are decoded ``batch_size`` at a time, in order.

        Returns
        -------
        list of Completion
            One per request, in order.

        """
        from bayeseffect.engines.llama.batched import Decoding, SequenceRequest

        frames = {q: self._frame(q) for q in dict.fromkeys(r.question for r in requests)}
        tokens = {q: self._tokens(f) for q, f in frames.items()}
        hashes = {q: hashlib.sha256(f.prompt.encode("utf-8")).hexdigest()
                  for q, f in frames.items()}
        p = self._params
        decoding = Decoding(max_tokens=p.max_tokens, temperature=p.temperature, top_p=p.top_p,
                            top_k=p.top_k)
        out: list[Completion] = []
        size = self._decoder.n_seq
        for start in range(0, len(requests), size):
            chunk = requests[start:start + size]
            results = self._decoder.generate(
                [SequenceRequest(tokens[r.question], r.seed,
                                 tuple(s.encode("utf-8") for s in frames[r.question].stop if s))
                 for r in chunk], decoding)
            out.extend(Completion(text=res.text, n_prompt_tokens=len(tokens[r.question]),
                                  n_completion_tokens=res.n_completion_tokens,
                                  finish_reason=res.finish_reason,
                                  rendered_prompt_sha256=hashes[r.question])
                       for r, res in zip(chunk, results, strict=True))
        return out

    def option_probabilities(self, questions: Sequence[str], options: Sequence[str], *,
                             forms: Sequence[str] = BARE_FORMS) -> list[dict[str, float]]:
        """Return the probability the model puts on each option at the answer slot.

        No sampling: each question is framed as in :meth:`generate_batch` and, right after
        the frame (where a generated answer would begin), each spelling of each option
        (``yes``/``Yes``/``YES``, ``(A)``/``A``:
        :func:`~bayeseffect.sampling.option_spelling.option_spellings`) is scored up to the
        first token
        that tells it from every other option's spellings
        (:func:`~bayeseffect.sampling.option_spelling.distinguishing_prefixes`), and an option's
        probability is the sum over its spellings. ``batch_size`` questions share one
        forward pass, plus one short pass per multi-token prefix (the `` (`` of
        `` (A)``).

        Parameters
        ----------
        questions
            The items' questions.
        options
            Answer options, e.g. ``("yes", "no")``. Each is tokenized as it would follow
            the frame -- with a leading space after a completion frame that ends without
            one (``Answer:`` -> `` yes``), as written after a chat template.
        forms
            How the prompt lets an answer name an option, e.g. ``("({})", "{}")``.

        Returns
        -------
        list of dict
            Per question, option -> probability (over the whole vocabulary; the rest of
            the mass is on other continuations, so they need not sum to 1).

        """
        prefixes = self._option_prefixes(options, forms)
        flat = [seq for option in options for seq in prefixes[option]]
        out: list[dict[str, float]] = []
        size = self._decoder.n_seq
        for start in range(0, len(questions), size):
            prompts = [self._tokens(self._frame(q)) for q in questions[start:start + size]]
            logp = self._decoder.continuation_log_probabilities(prompts, flat)
            for row in np.exp(logp):
                by_seq = dict(zip(flat, row.tolist(), strict=True))
                out.append({o: float(sum(by_seq[seq] for seq in prefixes[o]))
                            for o in options})
        return out

    def _option_prefixes(self, options: Sequence[str],
                         forms: Sequence[str]) -> dict[str, list[tuple[int, ...]]]:
        spaced = self._prompting.answer_after_space
        sequences = {
            option: [tuple(self._model.tokenize(text.encode("utf-8"), add_bos=False,
                                                special=False))
                     for text in option_spellings(option, spaced=spaced, forms=forms)]
            for option in options}
        return distinguishing_prefixes(sequences)

    def close(self) -> None:
        """Free the batched context, then the adapter, then the model."""
        self._decoder.close()
        _free(self._lora, self._model)
        self._lora = None


def _free(lora: Any, model: Any) -> None:
    # An adapter after the contexts that use it, and before its model.
    if lora is not None:
        import llama_cpp

        llama_cpp.llama_adapter_lora_free(lora)
    model.close()
