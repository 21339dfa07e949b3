"""A LoRA adapter on the real gemma-3-270m base: generation and option scoring both apply it."""

import llama_cpp
import numpy as np
import pytest
from lora_gguf import write_lora_gguf

from bayeseffect.engines.llama.generator import LlamaCppGenerator, safe_llama_loading
from bayeseffect.engines.llama.process import EngineProcess
from bayeseffect.pairs.catalog import GEMMA_TURNS
from bayeseffect.sampling.loop import response_seed
from bayeseffect.sampling.types import Request, SamplingParams

pytestmark = pytest.mark.llm
# Short questions and few tokens: each test loads the model at most twice, on a busy CPU.
QUESTIONS = ["Is ice cold? Answer yes or no.", "Do fish fly? Answer yes or no."]
REQUESTS = [Request(q, response_seed(0, "instruct", str(i), r))
            for i, q in enumerate(QUESTIONS) for r in range(2)]
PARAMS = SamplingParams(max_tokens=6, temperature=0.8, threads=2, batch_size=4, n_ctx=128)


@pytest.fixture(scope="module")
def base(offline_pair_files):
    return offline_pair_files[0]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    # Rank 4 on the query and value projections of every block: enough to move the
    # logits visibly without turning the model into noise.
    return write_lora_gguf(tmp_path_factory.mktemp("lora") / "random-lora.gguf", rank=4,
                           std=0.02, targets=("attn_q", "attn_v"))


def _load(base, adapter=None, scale=1.0, params=PARAMS):
    return LlamaCppGenerator.load(base, prompting=GEMMA_TURNS, params=params, adapter=adapter,
                                  adapter_scale=scale)


def _outputs(generator):
    """Sampled responses, option probabilities and next-token log-probabilities."""
    tokens = generator._tokens(generator._frame(QUESTIONS[0]))
    ids = list(range(0, 262144, 131))
    logp = generator._decoder.continuation_log_probabilities([tokens], [(t,) for t in ids])[0]
    return (generator.generate_batch(REQUESTS),
            generator.option_probabilities(QUESTIONS, ("yes", "no")), logp)


@pytest.fixture(scope="module")
def bare(base):
    generator = _load(base)
    try:
        yield _outputs(generator)
    finally:
        generator.close()


@pytest.fixture(scope="module")
def with_lora(base, adapter):
    generator = _load(base, adapter, 1.0)
    try:
        yield _outputs(generator)
    finally:
        generator.close()


def test_scale_zero_is_the_bare_base_and_a_nonzero_scale_changes_both_paths(base, adapter,
                                                                           bare, with_lora):
    zero = _load(base, adapter, 0.0)
    try:
        responses, options, logp = _outputs(zero)
    finally:
        zero.close()
    assert responses == bare[0] and options == bare[1]
    np.testing.assert_array_equal(logp, bare[2])
    responses, options, logp = with_lora
    # Generation, option scoring and the raw next-token distribution all move.
    assert [c.text for c in responses] != [c.text for c in bare[0]]
    assert all(abs(o["yes"] - b["yes"]) > 1e-4 for o, b in zip(options, bare[1], strict=True))
    assert np.abs(logp - bare[2]).max() > 0.1


def test_the_adapter_matches_llama_cpp_pythons_own_lora_loading(base, adapter):
    # Llama(lora_path=..., lora_scale=...) loads and sets the adapter its own way; a lone
    # prompt evaluated as it evaluates one (preamble, then the rest) gives the same bits.
    from llama_cpp import Llama

    scale = 0.7
    generator = _load(base, adapter, scale)
    try:
        tokens = generator._tokens(generator._frame(QUESTIONS[0]))
        ids = list(range(0, 262144, 61))
        ours = generator._decoder.next_token_probabilities([tokens], ids)[0]
        n = len(generator._decoder.preamble)
    finally:
        generator.close()
    with safe_llama_loading():
        llama = Llama(model_path=str(base), lora_path=str(adapter), lora_scale=scale,
                      n_ctx=256, n_threads=2, n_threads_batch=2, verbose=False)
    try:
        llama.eval(list(tokens[:n]))
        llama.eval(list(tokens[n:]))
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
        logits = logits.astype(np.float64)
    finally:
        llama.close()
    log_z = logits.max() + np.log(np.exp(logits - logits.max()).sum())
    assert ours.tolist() == np.exp(logits[ids] - log_z).tolist()


def test_the_scale_multiplies_the_adapters_product(base, with_lora, tmp_path):
    # llama.cpp adds scale * alpha / r * B(Ax) to each adapted weight's product: doubling
    # every lora_b and halving the scale changes no bit (both are exact in floating point).
    doubled = write_lora_gguf(tmp_path / "doubled.gguf", rank=4, std=0.02,
                              targets=("attn_q", "attn_v"), b_factor=2.0)
    generator = _load(base, doubled, 0.5)
    try:
        responses, options, logp = _outputs(generator)
    finally:
        generator.close()
    assert responses == with_lora[0] and options == with_lora[1]
    np.testing.assert_array_equal(logp, with_lora[2])


def test_the_turn_frame_uses_gemmas_turn_tokens_and_end_of_turn_ends_a_response(base):
    generator = _load(base)
    try:
        tokens = generator._tokens(generator._frame("Hi"))
        vocab = llama_cpp.llama_model_get_vocab(generator._model.model)
        # <start_of_turn> 105 and <end_of_turn> 106 as Gemma's special tokens, not text;
        # llama.cpp counts 106 as end of generation, so a response ends there ("stop").
        assert tokens[:3] == (2, 105, 2364) and tokens.count(106) == 1
        assert tokens[-3:] == (105, 4368, 107)
        assert llama_cpp.llama_vocab_is_eog(vocab, 106)
    finally:
        generator.close()


def test_the_engine_process_applies_the_adapter(base, adapter, bare, with_lora):
    # The JSON setup message carries the adapter: the child's responses and option
    # probabilities are the in-process ones, which differ from the bare base's.
    engine = EngineProcess.start(base, prompting=GEMMA_TURNS, params=PARAMS, arm="instruct",
                                 adapter=adapter, adapter_scale=1.0)
    try:
        assert engine.generate_batch(REQUESTS) == with_lora[0] != bare[0]
        assert engine.option_probabilities(QUESTIONS, ("yes", "no")) == with_lora[1]
    finally:
        engine.close()


def test_a_broken_adapter_is_a_one_line_error(base, tmp_path):
    from bayeseffect.errors import BayesEffectError

    # Shapes no gemma-3-270m weight has: llama.cpp refuses it when loading.
    wrong = write_lora_gguf(tmp_path / "wrong.gguf", weights={"blk.0.attn_q.weight": (64, 64)})
    with pytest.raises(BayesEffectError, match="could not load the LoRA adapter") as info:
        _load(base, wrong)
    assert "\n" not in str(info.value)
