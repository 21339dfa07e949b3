"""Many sequences decoded together through llama.cpp's batch API.

One llama.cpp context holds ``n_seq`` sequences, each with its own ``n_ctx_seq`` cells of
KV cache. A call decodes a batch of tokenized prompts: each distinct prompt is evaluated
once (all distinct prompts in the same ``llama_decode`` calls), its KV copied to every
other sequence with the same prompt, and then every live sequence advances one token per
``llama_decode``. Sampling runs in C: each sequence has its own llama.cpp sampler chain
seeded with its own seed, so it never depends on which other sequences share the batch
beyond the floating-point effects of the batch's shape.
"""

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp

from bayeseffect.errors import BayesEffectError


@dataclass(frozen=True)
class SequenceRequest:
    """One sequence to generate.

    Attributes
    ----------
    tokens
        The tokenized prompt (with BOS if the frame wants one).
    seed
        Seed of this sequence's sampler.
    stops
        Stop strings, UTF-8 encoded; the text ends before the first one found.

    """

    tokens: tuple[int, ...]
    seed: int
    stops: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SequenceResult:
    """One generated sequence.

    Attributes
    ----------
    text
        The generated text, cut before a stop string.
    n_completion_tokens
        Tokens sampled, the end-of-generation token excluded.
    finish_reason
        ``stop`` (end-of-generation token or stop string) or ``length``.

    """

    text: str
    n_completion_tokens: int
    finish_reason: str


@dataclass(frozen=True)
class Decoding:
    """How tokens are chosen.

    Attributes
    ----------
    max_tokens
        Tokens sampled at most per sequence.
    temperature
        Softmax temperature; 0 means greedy.
    top_p
        Nucleus mass.
    top_k
        Candidates kept before top-p.

    """

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int


class _Batch:
    """A ``llama_batch`` filled from Python, one token at a time."""

    def __init__(self, n_tokens: int, n_seq_max: int) -> None:
        self.capacity = n_tokens
        self.raw = llama_cpp.llama_batch_init(n_tokens, 0, n_seq_max)

    def clear(self) -> None:
        self.raw.n_tokens = 0

    def add(self, token: int, pos: int, seq_id: int, *, output: bool) -> int:
        """Append a token; return its index in the batch (where its logits will be)."""
        i = self.raw.n_tokens
        self.raw.token[i] = token
        self.raw.pos[i] = pos
        self.raw.n_seq_id[i] = 1
        self.raw.seq_id[i][0] = seq_id
        self.raw.logits[i] = output
        self.raw.n_tokens = i + 1
        return i

    def __len__(self) -> int:
        return int(self.raw.n_tokens)

    def free(self) -> None:
        llama_cpp.llama_batch_free(self.raw)


class BatchedDecoder:
    """A llama.cpp context for ``n_seq`` sequences of ``n_ctx_seq`` tokens each.

    Parameters
    ----------
    model
        The loaded model (``llama_cpp._internals.LlamaModel``); the context is freed with
        it at the latest.
    n_seq
        Sequences decoded together at most.
    n_ctx_seq
        Context cells per sequence (prompt plus generated tokens).
    threads
        CPU threads for both prompt evaluation and generation.
    n_batch
        Tokens per ``llama_decode`` call while evaluating prompts.

    """

    def __init__(self, model: Any, *, n_seq: int, n_ctx_seq: int, threads: int,
                 n_batch: int = 512, unified: bool = True, flash_attn: int = -1) -> None:
        from llama_cpp._internals import LlamaContext

        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_seq * n_ctx_seq
        params.n_seq_max = n_seq
        params.n_batch = params.n_ubatch = n_batch
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        params.kv_unified = unified
        params.flash_attn_type = flash_attn
        self._context = LlamaContext(model=model, params=params, verbose=False)
        self._ctx = self._context.ctx
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(model.model)
        self.n_seq = n_seq
        self.n_ctx_seq = int(llama_cpp.llama_n_ctx_seq(self._ctx))
        self._batch = _Batch(max(n_batch, n_seq), n_seq)
        self._piece = ctypes.create_string_buffer(256)

    def _decode(self) -> None:
        code = llama_cpp.llama_decode(self._ctx, self._batch.raw)
        if code != 0:
            raise BayesEffectError(f"llama_decode failed with code {code} "
                                   f"({len(self._batch)} tokens in the batch)")

    def _token_bytes(self, token: int) -> bytes:
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece, len(self._piece),
                                           0, False)
        if n < 0:
            self._piece = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece,
                                               len(self._piece), 0, False)
        return self._piece.raw[:n]

    def _sampler(self, seed: int, decoding: Decoding) -> Any:
        chain = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params())
        if decoding.temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
            return chain
        # The order of llama.cpp's and llama-cpp-python's default chains.
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_k(
            decoding.top_k))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(
            decoding.top_p, 1))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(
            decoding.temperature))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(seed))
        return chain

    def _check_fits(self, requests: Sequence[SequenceRequest], decoding: Decoding) -> None:
        for request in requests:
            if len(request.tokens) + decoding.max_tokens > self.n_ctx_seq:
                raise BayesEffectError(
                    f"a prompt of {len(request.tokens)} tokens plus --max-tokens "
                    f"{decoding.max_tokens} exceeds the context of {self.n_ctx_seq} per "
                    "sequence; lower --max-tokens"
                )
            if not request.tokens:
                raise BayesEffectError("an empty prompt cannot be decoded")

    def _prefill(self, requests: Sequence[SequenceRequest]) -> list[int]:
        """Evaluate each distinct prompt once and copy it to its replicates.

        Returns the batch index, in the last ``llama_decode``, of the logits after each
        request's prompt.
        """
        llama_cpp.llama_memory_clear(self._memory, False)
        leaders: dict[tuple[int, ...], int] = {}
        for seq, request in enumerate(requests):
            leaders.setdefault(request.tokens, seq)
        # Everything but the last tokens, distinct prompts side by side in full batches...
        self._batch.clear()
        for tokens, seq in leaders.items():
            for pos, token in enumerate(tokens[:-1]):
                if len(self._batch) == self._batch.capacity:
                    self._decode()
                    self._batch.clear()
                self._batch.add(token, pos, seq, output=False)
        if len(self._batch):
            self._decode()
        # ...then one batch of last tokens, whose logits are the first sampling step.
        self._batch.clear()
        index = {seq: self._batch.add(tokens[-1], len(tokens) - 1, seq, output=True)
                 for tokens, seq in leaders.items()}
        self._decode()
        for seq, request in enumerate(requests):
            leader = leaders[request.tokens]
            if leader != seq:
                llama_cpp.llama_memory_seq_cp(self._memory, leader, seq, -1, -1)
        return [index[leaders[r.tokens]] for r in requests]

    def generate(self, requests: Sequence[SequenceRequest],
                 decoding: Decoding) -> list[SequenceResult]:
        """Generate one sequence per request, all decoded together.

        Parameters
        ----------
        requests
            At most ``n_seq`` prompts with their seeds and stop strings.
        decoding
            Sampling settings shared by all sequences.

        Returns
        -------
        list of SequenceResult
            One per request, in order.

        """
        if len(requests) > self.n_seq:
            raise BayesEffectError(f"{len(requests)} sequences in one batch, but the context "
                                   f"holds {self.n_seq}")
        if not requests:
            return []
        self._check_fits(requests, decoding)
        samplers = [self._sampler(r.seed, decoding) for r in requests]
        try:
            return self._run(requests, decoding, samplers)
        finally:
            for sampler in samplers:
                llama_cpp.llama_sampler_free(sampler)

    def _run(self, requests: Sequence[SequenceRequest], decoding: Decoding,
             samplers: list[Any]) -> list[SequenceResult]:
        n = len(requests)
        logits_at = self._prefill(requests)
        texts = [b""] * n
        counts = [0] * n
        finish: list[str | None] = [None] * n
        cut: list[int | None] = [None] * n
        live = list(range(n))
        while live:
            still = []
            for seq in live:
                token = llama_cpp.llama_sampler_sample(samplers[seq], self._ctx, logits_at[seq])
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    finish[seq] = "stop"
                    continue
                counts[seq] += 1
                texts[seq] += self._token_bytes(token)
                hits = [texts[seq].find(s) for s in requests[seq].stops if s in texts[seq]]
                if hits:
                    finish[seq], cut[seq] = "stop", min(hits)
                elif counts[seq] >= decoding.max_tokens:
                    finish[seq] = "length"
                else:
                    still.append((seq, token))
            if not still:
                break
            self._batch.clear()
            for seq, token in still:
                logits_at[seq] = self._batch.add(
                    token, len(requests[seq].tokens) + counts[seq] - 1, seq, output=True)
            self._decode()
            live = [seq for seq, _ in still]
        return [SequenceResult(
            text=texts[i][:cut[i]].decode("utf-8", errors="ignore"),
            n_completion_tokens=counts[i], finish_reason=finish[i] or "length")
            for i in range(n)]

    def close(self) -> None:
        """Free the batch and the context."""
        self._batch.free()
        self._context.close()
