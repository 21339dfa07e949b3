"""Batched multi-sequence decoding on the real offline pair: determinism and bookkeeping."""

from dataclasses import replace

import numpy as np
import pytest

from bayeseffect.engines.llama.batched import common_prefix_length
from bayeseffect.engines.llama.generator import LlamaCppGenerator, safe_llama_loading
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import load_pair, resolve_pair
from bayeseffect.sampling.loop import response_seed
from bayeseffect.sampling.option_spelling import distinguishing_prefixes, option_spellings
from bayeseffect.sampling.types import Request, SamplingParams
from bayeseffect.variables.logic.prompts import generate_logic
from bayeseffect.variables.sycophancy_perez.prompts import generate_sycophancy_perez

pytestmark = pytest.mark.llm
MAX_TOKENS = 8
REPLICATES = 3
QUESTIONS = [item.question for item in generate_logic(3, seed=0).items]
OTHER_QUESTIONS = [item.question for item in generate_logic(2, seed=9).items]


def _requests(questions, replicates, arm="x"):
    return [Request(q, response_seed(0, arm, str(i), r))
            for i, q in enumerate(questions) for r in range(replicates)]


@pytest.fixture(scope="module", params=["base", "instruct"])
def arm(request):
    return request.param, resolve_pair(load_pair("offline-default"))[request.param]


def _load(arm, **changes):
    params = SamplingParams(max_tokens=MAX_TOKENS, threads=2, batch_size=9, **changes)
    return LlamaCppGenerator.load(arm[1].path, prompting=arm[1].prompting, params=params)


@pytest.fixture(scope="module")
def sampled(arm):
    generator = _load(arm, temperature=0.8)
    requests = _requests(QUESTIONS, REPLICATES, arm[0])
    first, second = generator.generate_batch(requests), generator.generate_batch(requests)
    yield generator, requests, first, second
    generator.close()


@pytest.fixture(scope="module")
def greedy(arm):
    generator = _load(arm, temperature=0.0)
    yield generator
    generator.close()


def test_the_same_batch_gives_byte_identical_completions(sampled):
    _, _, first, second = sampled
    assert first == second


def test_a_batch_gives_the_same_bytes_whatever_ran_before(arm, sampled):
    # The preamble stays cached across batches; other batches, a batch without the
    # preamble (which empties the cache), or a fresh load must not change a response.
    generator, requests, first, _ = sampled
    generator.generate_batch(_requests(OTHER_QUESTIONS, 2, arm[0]))
    generator._decoder.next_token_probabilities([(1, 2, 3, 4)], [5])
    assert generator.generate_batch(requests) == first
    fresh = _load(arm, temperature=0.8)
    try:
        assert fresh.generate_batch(requests) == first
    finally:
        fresh.close()


def test_a_completion_frame_with_instructions_caches_them_and_keeps_the_bytes(arm):
    # gemma-3-270m is a sliding-window model: dropping the cells after a cached preamble
    # must leave the same state as evaluating it fresh.
    if arm[1].prompting.frame != "completion":
        pytest.skip("the chat arm's preamble is tested by the test above")
    prompting = replace(arm[1].prompting, template="Answer each question with yes or no, "
                        "as a careful logician would.\n\n" + arm[1].prompting.template)
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.8, threads=2, batch_size=6)

    def load() -> LlamaCppGenerator:
        return LlamaCppGenerator.load(arm[1].path, prompting=prompting, params=params)

    requests = _requests(QUESTIONS, 2, arm[0])
    first, fresh = load(), load()
    try:
        assert len(first._decoder.preamble) > 10
        expected = first.generate_batch(requests)
        first.generate_batch(_requests(OTHER_QUESTIONS, 3, arm[0]))
        assert first.generate_batch(requests) == expected
        assert fresh.generate_batch(requests) == expected
    finally:
        first.close()
        fresh.close()


def test_a_preamble_that_fills_the_context_is_a_one_line_error(arm):
    if arm[1].prompting.frame != "chat":
        pytest.skip("the completion frame has no preamble")
    with pytest.raises(BayesEffectError, match="shorten the pair's template") as info:
        _load(arm, n_ctx=16)
    assert "\n" not in str(info.value)


def test_the_preamble_is_the_frame_before_the_question(arm, greedy):
    preamble = greedy._decoder.preamble
    for question in QUESTIONS + OTHER_QUESTIONS:
        assert greedy._tokens(greedy._frame(question))[:len(preamble)] == preamble
    # The chat template's system message and user turn; a completion frame has only BOS.
    assert len(preamble) > (10 if arm[1].prompting.frame == "chat" else -1)


def test_replicates_with_different_seeds_differ(sampled):
    first = sampled[2]
    by_prompt = [{c.text for c in first[i:i + REPLICATES]}
                 for i in range(0, len(first), REPLICATES)]
    assert any(len(texts) > 1 for texts in by_prompt), by_prompt


def test_finish_reasons_and_token_counts_are_consistent(sampled):
    generator, requests, first, _ = sampled
    for request, completion in zip(requests, first, strict=True):
        assert 0 <= completion.n_completion_tokens <= MAX_TOKENS
        assert completion.finish_reason in {"stop", "length"}
        if completion.finish_reason == "length":
            assert completion.n_completion_tokens == MAX_TOKENS
        frame = generator._frame(request.question)
        assert not any(stop in completion.text for stop in frame.stop)
        assert completion.n_prompt_tokens == len(generator._tokens(frame))
        assert completion.rendered_prompt_sha256 == first[requests.index(
            next(r for r in requests if r.question == request.question))].rendered_prompt_sha256


def test_a_stop_string_cuts_the_text_and_finishes_with_stop(arm, greedy):
    prompting = arm[1].prompting
    if prompting.frame == "chat":
        pytest.skip("the chat frame takes its stop strings from the template")
    # The same loaded model, framed with a stop string every English continuation hits.
    spaced = LlamaCppGenerator(greedy._model, replace(prompting, stop=(" ",)), greedy._params,
                               greedy._decoder)
    for completion in spaced.generate_batch(_requests(QUESTIONS[:1], 2)):
        assert " " not in completion.text
        assert completion.finish_reason == "stop"


def test_greedy_replicates_are_identical(greedy):
    batch = greedy.generate_batch(_requests(QUESTIONS, REPLICATES))
    for i in range(len(QUESTIONS)):
        replicates = batch[REPLICATES * i:REPLICATES * (i + 1)]
        assert all(c == replicates[0] for c in replicates)


def test_a_lone_prompt_gets_the_logits_of_a_fresh_llama_cpp_python_eval(arm, greedy):
    # What the batch's layout changes: a prompt evaluated beside others, or its last
    # token in a llama_decode of its own, goes through other matrix kernels, and on a
    # 2-core AVX2 CPU gemma-3-270m's logits then moved by up to 0.8 (yes/no probabilities
    # by 1-15%), enough to change a greedy token now and then (greedy, 16 tokens, alone vs
    # in a batch of 16: 8/8 prompts identical for gemma-3-270m, 6/8 for SmolLM2-135M). So
    # a response is reproducible for a given batch, not across batch sizes, and that is
    # not asserted; a lone prompt (its preamble cached, the rest evaluated whole) matches
    # llama-cpp-python's own evaluation exactly.
    from llama_cpp import Llama

    tokens = greedy._tokens(greedy._frame(QUESTIONS[0]))
    ids = [seq[0] for seqs in greedy._option_prefixes(("yes", "no"), ("{}",)).values()
           for seq in seqs]
    ours = greedy._decoder.next_token_probabilities([tokens], ids)[0]
    with safe_llama_loading():
        llama = Llama(model_path=str(arm[1].path), n_ctx=256, n_threads=2, n_threads_batch=2,
                      verbose=False)
    try:
        # As llama-cpp-python evaluates a prompt whose preamble its prefix cache holds.
        n = len(greedy._decoder.preamble)
        if n:
            llama.eval(list(tokens[:n]))
        llama.eval(list(tokens[n:]))
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
        logits = logits.astype(np.float64)
    finally:
        llama.close()
    log_z = logits.max() + np.log(np.exp(logits - logits.max()).sum())
    assert ours.tolist() == np.exp(logits[ids] - log_z).tolist()


def test_a_prompt_that_does_not_fit_is_a_one_line_error(greedy):
    with pytest.raises(BayesEffectError, match="exceeds the context of 1024") as info:
        greedy.generate_batch([Request(" ".join(QUESTIONS * 20), 1)])
    assert "\n" not in str(info.value)


def test_option_probabilities_come_from_one_forward_pass(greedy):
    probabilities = greedy.option_probabilities(QUESTIONS, ("yes", "no"))
    assert len(probabilities) == len(QUESTIONS)
    for row in probabilities:
        assert set(row) == {"yes", "no"}
        assert all(0.0 < p < 1.0 for p in row.values())
        assert sum(row.values()) <= 1.0
    # The same batch gives the same numbers (a different batch moves them a little).
    assert greedy.option_probabilities(QUESTIONS, ("yes", "no")) == probabilities


def test_an_option_spelled_as_the_start_of_another_is_refused(greedy):
    with pytest.raises(BayesEffectError, match="no token tells them apart"):
        greedy.option_probabilities(QUESTIONS[:1], ("yes", "yes please"))


def test_options_sharing_a_first_token_are_scored_token_by_token(arm, greedy):
    # "(A)" and "(B)" both start with "(" (" (" after "Answer:"): P("(A") is
    # P("(") * P("A" | "("), each read as llama-cpp-python reads it, token after token.
    from llama_cpp import Llama

    prefixes = greedy._option_prefixes(("A", "B"), ("({})", "{}"))
    assert {len(seq) for seqs in prefixes.values() for seq in seqs} == {1, 2}
    assert all(len({seq[0] for seq in seqs if len(seq) == 2}) == 1
               for seqs in prefixes.values())
    flat = [seq for seqs in prefixes.values() for seq in seqs]
    question = generate_sycophancy_perez(1, seed=0).items[0].question
    tokens = greedy._tokens(greedy._frame(question))
    ours = greedy._decoder.continuation_log_probabilities([tokens], flat)[0]
    with safe_llama_loading():
        llama = Llama(model_path=str(arm[1].path), n_ctx=1024, n_threads=2, n_threads_batch=2,
                      verbose=False)

    def log_softmax() -> np.ndarray:
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
        logits = logits.astype(np.float64)
        return logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))

    def after(extra: tuple[int, ...]) -> np.ndarray:
        if not extra:
            return first
        llama.n_tokens = len(tokens)
        llama.eval(list(extra))
        return log_softmax()

    try:
        llama.eval(list(tokens))
        first = log_softmax()
        expected = [sum(after(seq[:k])[token] for k, token in enumerate(seq)) for seq in flat]
    finally:
        llama.close()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    # Options as a whole: the two spellings of each summed, the letters' mass included.
    row = greedy.option_probabilities([question], ("A", "B"), forms=("({})", "{}"))[0]
    assert row["A"] == pytest.approx(float(np.exp(ours[:len(prefixes["A"])]).sum()), abs=1e-9)
    assert 0.0 < row["A"] + row["B"] <= 1.0


def test_one_letter_options_keep_their_case():
    assert option_spellings("A", spaced=True) == (" A",)
    assert option_spellings("yes", spaced=False) == ("yes", "Yes", "YES")
    assert option_spellings("B", spaced=True, forms=("({})", "{}")) == (" (B)", " B")


def test_distinguishing_prefixes_cut_at_the_deciding_token():
    cut = distinguishing_prefixes({"A": [(5, 1, 9), (1,)], "B": [(5, 2, 9), (2,), (5, 2, 7)]})
    assert cut == {"A": [(1,), (5, 1)], "B": [(2,), (5, 2)]}


@pytest.mark.parametrize(("prompts", "expected"), [
    ([(1, 2, 3), (1, 2, 4)], 2), ([(1, 2), (1, 2, 3)], 2), ([(5,), (6,)], 0), ([(1, 2)], 0),
])
def test_common_prefix_length(prompts, expected):
    assert common_prefix_length(prompts) == expected
