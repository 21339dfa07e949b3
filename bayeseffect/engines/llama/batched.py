"""Many sequences decoded together through llama.cpp's batch API.

One llama.cpp context holds up to ``n_seq`` sequences in a unified KV cache. A call takes
a batch of tokenized prompts and

1. keeps the *preamble* -- the tokens every prompt of the arm starts with (BOS, a chat
   template's system message, a frame's instructions or few-shot examples) -- in the
   cache for the whole model load: it is evaluated once, in a ``llama_decode`` of its
   own, as cells every sequence shares, and each call drops only the cells after it;
2. evaluates the tokens the batch's distinct prompts share beyond the preamble once, as
   cells shared by all of their sequences;
3. evaluates the rest of each distinct prompt, all prompts side by side in the same
   ``llama_decode`` calls, with logits only after each prompt's last token;
4. copies each prompt's sequence to its replicates (in a unified cache this adds sequence
   ids to the cells: nothing is recomputed or moved);
5. advances every live sequence by one token per ``llama_decode``, each sampled in C by its
   own llama.cpp sampler chain, seeded with its request's seed.

A call's cells are laid out the same way whatever ran before -- the preamble's cells
first, evaluated the same way, then the call's own from the first cell after them -- so
the same requests with the same threads give the same bytes. A batch whose prompts do
not all start with the preamble starts from an empty cache instead (and the preamble is
evaluated again, alone, before the next batch that has it).
"""

import ctypes
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp._internals import LlamaContext

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
        Tokens sampled, an end-of-generation token excluded (as ``create_completion``
        counts them).
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
        Softmax temperature; 0 or less means greedy.
    top_p
        Nucleus mass.
    top_k
        Candidates kept before top-p.

    """

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int


def common_prefix_length(prompts: Sequence[Sequence[int]]) -> int:
    """Return how many leading tokens all ``prompts`` share (0 for fewer than two)."""
    if len(prompts) < 2:
        return 0
    n = min(len(p) for p in prompts)
    first = prompts[0]
    for i in range(n):
        if any(p[i] != first[i] for p in prompts[1:]):
            return i
    return n


def _leaders(prompts: Sequence[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """Each distinct prompt -> the first sequence that holds it (the one evaluated)."""
    leaders: dict[tuple[int, ...], int] = {}
    for seq, tokens in enumerate(prompts):
        leaders.setdefault(tokens, seq)
    return leaders


class _Batch:
    """A ``llama_batch`` filled from Python."""

    def __init__(self, n_tokens: int, n_seq_max: int) -> None:
        self.capacity = n_tokens
        self.raw = llama_cpp.llama_batch_init(n_tokens, 0, n_seq_max)

    def clear(self) -> None:
        self.raw.n_tokens = 0

    def add(self, token: int, pos: int, seq_ids: Sequence[int], *, output: bool) -> int:
        """Append a token; return its index in the batch (where its logits will be)."""
        i = len(self)
        self.raw.token[i] = token
        self.raw.pos[i] = pos
        self.raw.n_seq_id[i] = len(seq_ids)
        for k, seq in enumerate(seq_ids):
            self.raw.seq_id[i][k] = seq
        self.raw.logits[i] = output
        self.raw.n_tokens = i + 1
        return i

    def __len__(self) -> int:
        return int(self.raw.n_tokens)

    def free(self) -> None:
        llama_cpp.llama_batch_free(self.raw)


class BatchedDecoder:
    """A llama.cpp context that decodes up to ``n_seq`` sequences together.

    Parameters
    ----------
    model
        The loaded model (``llama_cpp._internals.LlamaModel``); the context is freed before
        it at the latest.
    n_seq
        Sequences decoded together at most.
    n_ctx_seq
        Context cells each sequence may use (prompt plus generated tokens); the cache
        holds ``n_seq * n_ctx_seq`` cells.
    threads
        CPU threads for prompt evaluation and generation alike.
    n_batch
        Tokens per ``llama_decode`` call while evaluating prompts.
    flash_attn
        Use llama.cpp's flash attention (a different summation order).
    preamble
        Tokens the prompts start with, kept in the cache across calls (empty: none).
    lora
        ``(adapter, scale)``: a LoRA adapter loaded for ``model``
        (:func:`~bayeseffect.engines.llama.generator.load_lora`), applied at ``scale`` by
        every decode of this context -- generation and option scoring alike. The caller
        frees it after :meth:`close`.

    """

    def __init__(self, model: Any, *, n_seq: int, n_ctx_seq: int, threads: int,
                 n_batch: int = 512, flash_attn: bool = False,
                 preamble: tuple[int, ...] = (), lora: tuple[Any, float] | None = None
                 ) -> None:
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_seq * n_ctx_seq
        params.n_seq_max = n_seq
        params.n_batch = params.n_ubatch = max(n_batch, n_seq)
        # Only one logits row per sequence is ever read (after a prompt or a new token).
        params.n_outputs_max = n_seq
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        # One cache for all sequences: a prompt's replicates and a shared preamble point at
        # the same cells, so copying a sequence moves no data. The layout, and so the
        # arithmetic, is the same on every call with the same requests.
        params.kv_unified = True
        # Off by default as in llama-cpp-python's Llama: a lone prompt then gets exactly the
        # logits create_completion computes from a fresh cache.
        params.flash_attn_type = (llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn
                                  else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)
        self._context = LlamaContext(model=model, params=params, verbose=False)
        self._ctx = self._context.ctx
        if lora is not None:
            adapter, scale = lora
            code = llama_cpp.llama_set_adapters_lora(
                self._ctx, (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter), 1,
                (ctypes.c_float * 1)(scale))
            if code != 0:
                self._context.close()
                raise BayesEffectError(f"llama.cpp could not apply the LoRA adapter to the "
                                       f"context (code {code})")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(model.model)
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self.n_seq = n_seq
        self.n_ctx_seq = n_ctx_seq
        self._batch = _Batch(params.n_batch, n_seq)
        self._piece = ctypes.create_string_buffer(64)
        if len(preamble) >= n_ctx_seq:
            raise BayesEffectError(f"the frame's text before the question ({len(preamble)} "
                                   f"tokens) fills the context of {n_ctx_seq} tokens; shorten "
                                   "the pair's template or system message")
        self.preamble = preamble
        self._preamble_cached = False

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

    @staticmethod
    def _sampler(seed: int, decoding: Decoding) -> Any:
        chain = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params())
        if decoding.temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
            return chain
        # The order of llama.cpp's and llama-cpp-python's default chains.
        for sampler in (llama_cpp.llama_sampler_init_top_k(decoding.top_k),
                        llama_cpp.llama_sampler_init_top_p(decoding.top_p, 1),
                        llama_cpp.llama_sampler_init_temp(decoding.temperature),
                        llama_cpp.llama_sampler_init_dist(seed)):
            llama_cpp.llama_sampler_chain_add(chain, sampler)
        return chain

    def _check(self, prompts: Sequence[tuple[int, ...]], new_tokens: int) -> None:
        if len(prompts) > self.n_seq:
            raise BayesEffectError(f"{len(prompts)} sequences in one batch, but the context "
                                   f"was loaded for {self.n_seq}")
        for tokens in prompts:
            if not tokens:
                raise BayesEffectError("an empty prompt cannot be decoded")
            if len(tokens) + new_tokens > self.n_ctx_seq:
                raise BayesEffectError(
                    f"a prompt of {len(tokens)} tokens plus --max-tokens {new_tokens} "
                    f"exceeds the context of {self.n_ctx_seq}; lower --max-tokens"
                )

    def _evaluate(self, entries: Sequence[tuple[int, int, Sequence[int]]],
                  n_outputs: int) -> dict[int, int]:
        """Decode ``(token, position, sequences)`` entries in batch-sized chunks.

        The last ``n_outputs`` entries (at most ``n_seq``) get logits; returns, for each,
        its first sequence -> the index of its logits in the last ``llama_decode``.
        """
        # Chunks are cut from the end, so the last one is full and holds every output.
        size = self._batch.capacity
        cuts = [0, *range(len(entries) % size or size, len(entries) + 1, size)]
        index: dict[int, int] = {}
        for start, stop in itertools.pairwise(cuts):
            self._batch.clear()
            for j, (token, pos, seqs) in enumerate(entries[start:stop], start=start):
                output = j >= len(entries) - n_outputs
                i = self._batch.add(token, pos, seqs, output=output)
                if output:
                    index[seqs[0]] = i
            self._decode()
        return index

    def _start(self, prompts: Sequence[tuple[int, ...]]) -> int:
        """Empty the cache but for the preamble when every prompt has it; return its length."""
        n = len(self.preamble)
        if n and all(len(t) > n and t[:n] == self.preamble for t in prompts):
            if self._preamble_cached:
                llama_cpp.llama_memory_seq_rm(self._memory, -1, n, -1)
            else:
                llama_cpp.llama_memory_clear(self._memory, False)
                every = list(range(self.n_seq))
                self._evaluate([(token, pos, every) for pos, token in enumerate(self.preamble)],
                               0)
                self._preamble_cached = True
            return n
        llama_cpp.llama_memory_clear(self._memory, False)
        self._preamble_cached = False
        return 0

    def _prefill(self, prompts: Sequence[tuple[int, ...]]) -> list[int]:
        """Evaluate the prompts into sequences ``0..len(prompts)-1`` of the cache.

        Returns, per prompt, the index of its logits in the last ``llama_decode``.
        """
        kept = self._start(prompts)
        leaders = _leaders(prompts)
        distinct = list(leaders)
        # Each prompt keeps at least its last token, the one that yields logits.
        shared = max(kept, min(common_prefix_length(distinct),
                               min(len(t) for t in distinct) - 1))
        entries: list[tuple[int, int, Sequence[int]]] = [
            (distinct[0][pos], pos, list(leaders.values())) for pos in range(kept, shared)]
        for tokens, seq in leaders.items():
            entries.extend((tokens[pos], pos, (seq,)) for pos in range(shared, len(tokens) - 1))
        # The last tokens go at the very end, so they all land in the final llama_decode
        # (there are at most n_seq of them), whose logits are read before the next one.
        entries.extend((tokens[-1], len(tokens) - 1, (seq,)) for tokens, seq in leaders.items())
        index = self._evaluate(entries, len(leaders))
        for seq, tokens in enumerate(prompts):
            if leaders[tokens] != seq:
                llama_cpp.llama_memory_seq_cp(self._memory, leaders[tokens], seq, -1, -1)
        return [index[leaders[tokens]] for tokens in prompts]

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
        if not requests:
            return []
        self._check([r.tokens for r in requests], decoding.max_tokens)
        samplers = [self._sampler(r.seed, decoding) for r in requests]
        try:
            return self._run(requests, decoding, samplers)
        finally:
            for sampler in samplers:
                llama_cpp.llama_sampler_free(sampler)

    def _run(self, requests: Sequence[SequenceRequest], decoding: Decoding,
             samplers: list[Any]) -> list[SequenceResult]:
        logits_at = self._prefill([r.tokens for r in requests])
        n = len(requests)
        texts = [b""] * n
        counts = [0] * n
        finish = ["length"] * n
        cut: list[int | None] = [None] * n
        live = list(range(n))
        while live:
            advancing: list[tuple[int, int]] = []
            for seq in live:
                token = llama_cpp.llama_sampler_sample(samplers[seq], self._ctx, logits_at[seq])
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    finish[seq] = "stop"
                    continue
                counts[seq] += 1
                texts[seq] += self._token_bytes(token)
                # Like create_completion: a stop string wins over the length limit.
                hits = [texts[seq].find(s) for s in requests[seq].stops if s in texts[seq]]
                if hits:
                    finish[seq], cut[seq] = "stop", min(hits)
                elif counts[seq] < decoding.max_tokens:
                    advancing.append((seq, token))
            if not advancing:
                break
            self._batch.clear()
            for seq, token in advancing:
                pos = len(requests[seq].tokens) + counts[seq] - 1
                logits_at[seq] = self._batch.add(token, pos, (seq,), output=True)
            self._decode()
            live = [seq for seq, _ in advancing]
        return [SequenceResult(text=texts[i][:cut[i]].decode("utf-8", errors="ignore"),
                               n_completion_tokens=counts[i], finish_reason=finish[i])
                for i in range(n)]

    def next_token_probabilities(self, prompts: Sequence[tuple[int, ...]],
                                 token_ids: Sequence[int]) -> npt.NDArray[np.float64]:
        """Return P(next token) after each prompt for the given tokens, without sampling.

        Parameters
        ----------
        prompts
            At most ``n_seq`` tokenized prompts, evaluated together in one forward pass.
        token_ids
            The tokens whose probabilities are wanted.

        Returns
        -------
        numpy.ndarray
            ``(len(prompts), len(token_ids))``: softmax over the whole vocabulary of the
            logits after each prompt's last token.

        """
        return np.exp(self.continuation_log_probabilities(prompts, [(t,) for t in token_ids]))

    def continuation_log_probabilities(self, prompts: Sequence[tuple[int, ...]],
                                       continuations: Sequence[tuple[int, ...]]
                                       ) -> npt.NDArray[np.float64]:
        """Return log P(continuation | prompt) for every prompt and continuation.

        The prompts are evaluated together once. The next-token distribution after each
        prompt scores every continuation's first token; for each longer prefix the
        continuations share (`` (`` of `` (A``), that prefix is appended to every prompt's
        sequence in one ``llama_decode`` and removed again, so each prefix costs one
        forward pass of a few tokens per prompt, however many continuations extend it.

        Parameters
        ----------
        prompts
            At most ``n_seq`` tokenized prompts.
        continuations
            Non-empty token sequences, each scored after every prompt.

        Returns
        -------
        numpy.ndarray
            ``(len(prompts), len(continuations))`` natural-log probabilities, each the sum
            of its tokens' log-softmax over the whole vocabulary.

        """
        if not prompts:
            return np.zeros((0, len(continuations)))
        if not all(continuations):
            raise BayesEffectError("an empty continuation has no probability to read")
        longest = max((len(c) for c in continuations), default=0)
        self._check(prompts, longest)
        wanted: dict[tuple[int, ...], set[int]] = {}
        for continuation in continuations:
            for k, token in enumerate(continuation):
                wanted.setdefault(continuation[:k], set()).add(token)
        leaders = _leaders(prompts)
        if len(leaders) * max(longest - 1, 1) > self._batch.capacity:
            raise BayesEffectError(f"answer options of {longest} tokens do not fit in a batch "
                                   f"of {self._batch.capacity} tokens; shorten them")
        logits_at = dict(enumerate(self._prefill(prompts)))
        # log P(token | prompt, prefix) by (prefix, leader sequence, token).
        table: dict[tuple[tuple[int, ...], int, int], float] = {}
        for prefix in sorted(wanted, key=lambda p: (len(p), p)):
            if prefix:
                self._batch.clear()
                for tokens, seq in leaders.items():
                    llama_cpp.llama_memory_seq_rm(self._memory, seq, len(tokens), -1)
                    for j, token in enumerate(prefix):
                        last = j == len(prefix) - 1
                        i = self._batch.add(token, len(tokens) + j, (seq,), output=last)
                        if last:
                            logits_at[seq] = i
                self._decode()
            for seq in leaders.values():
                row = self._log_softmax(logits_at[seq])
                for token in wanted[prefix]:
                    table[prefix, seq, token] = float(row[token])
        out = np.empty((len(prompts), len(continuations)))
        for p, tokens in enumerate(prompts):
            seq = leaders[tokens]
            for c, continuation in enumerate(continuations):
                out[p, c] = sum(table[continuation[:k], seq, token]
                                for k, token in enumerate(continuation))
        return out

    def _log_softmax(self, row: int) -> npt.NDArray[np.float64]:
        pointer = llama_cpp.llama_get_logits_ith(self._ctx, row)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).astype(np.float64)
        top = logits.max()
        return logits - (top + np.log(np.exp(logits - top).sum()))

    def close(self) -> None:
        """Free the batch and the context."""
        self._batch.free()
        self._context.close()
