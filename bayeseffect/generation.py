"""What the sampling loop needs from a model backend, independent of any LLM library."""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from bayeseffect.errors import BayesEffectError

#: Version of how the llama-cpp-python backend lays out a batch's cells (the preamble
#: cached per load, then shared prefixes, prompts and replicates): a response depends on
#: it, so it is part of every run's fingerprint and every cache key. Bump it whenever the
#: layout changes.
BATCH_LAYOUT = 2


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings shared by both arms.

    Attributes
    ----------
    max_tokens
        Largest number of tokens generated per response.
    temperature
        Softmax temperature; 0 is greedy (then replicates are identical).
    top_p
        Nucleus sampling mass.
    top_k
        Candidates kept before sampling.
    n_ctx
        Context window the model is loaded with.
    threads
        CPU threads; part of the configuration because llama.cpp's results can change
        with the thread count.
    batch_size
        Responses decoded together (the replicates of consecutive prompts). Part of the
        configuration: batched matrix products can round differently from single ones.

    """

    max_tokens: int = 16
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    n_ctx: int = 1024
    threads: int = 2
    batch_size: int = 16


#: The sampling options an OpenAI-compatible server receives (besides the request's
#: seed). ``threads``, ``batch_size`` and ``n_ctx`` configure the local llama.cpp engine
#: only, so they neither change a server's answers nor belong to its runs' fingerprints
#: and cache keys.
SERVER_SAMPLING_OPTIONS = ("max_tokens", "temperature", "top_p", "top_k")


def sampling_determinants(params: SamplingParams, *, remote: bool) -> dict[str, Any]:
    """Return the sampling options that determine a response, by name.

    Parameters
    ----------
    params
        The sampling settings.
    remote
        Whether an OpenAI-compatible server answers (then only
        :data:`SERVER_SAMPLING_OPTIONS` reach the model).

    Returns
    -------
    dict
        Every field of ``params`` for the local engine; the sent ones for a server.
    """
    options = asdict(params)
    return {k: options[k] for k in SERVER_SAMPLING_OPTIONS} if remote else options


@dataclass(frozen=True)
class Completion:
    """One generated response.

    Attributes
    ----------
    text
        The generated text.
    n_prompt_tokens
        Tokens in the rendered prompt.
    n_completion_tokens
        Tokens generated.
    finish_reason
        ``stop`` or ``length``.
    rendered_prompt_sha256
        Hash of the exact text the model saw.

    """

    text: str
    n_prompt_tokens: int
    n_completion_tokens: int
    finish_reason: str
    rendered_prompt_sha256: str


@dataclass(frozen=True)
class Request:
    """One response to generate.

    Attributes
    ----------
    question
        The item's question (the generator frames it as its arm intends).
    seed
        Sampler seed of this response.
    """

    question: str
    seed: int


class Generator(Protocol):
    """A loaded model that answers questions framed as its arm intends."""

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Generate one response per request, in order.

        Each response depends only on its request and on the batch's composition, never
        on earlier batches.
        """
        ...

    def close(self) -> None:
        """Release the model."""
        ...


#: How an option is written when the prompt names it as itself (``yes``, ``A``).
BARE_FORMS: tuple[str, ...] = ("{}",)


def option_spellings(option: str, *, spaced: bool,
                     forms: Sequence[str] = BARE_FORMS) -> tuple[str, ...]:
    """Return the texts with which an answer can pick ``option``, to sum over.

    A model asked for yes or no answers " Yes" as often as " yes" (gemma-3-270m put 0.47
    on " Yes" and 0.07 on " yes" after a logic item's "Answer:"), so an option's
    probability is that of its lower-case, capitalized and upper-case spellings together.
    A one-letter label (``A``) keeps its case: " a" is an article, not option A.

    Parameters
    ----------
    option
        The option as written in the prompt set (``"yes"``, ``"A"``).
    spaced
        Whether the answer follows the frame after a space (a completion frame ending in
        ``Answer:``) rather than at the start of a turn.
    forms
        Format strings for the ways the prompt lets an answer name the option:
        ``("({})", "{}")`` when it lists options as "(A) ..." (an answer may be "(A)" or
        "A").

    Returns
    -------
    tuple of str
        Distinct spellings, with the leading space when ``spaced``.
    """
    cases = ((option,) if len(option) == 1 else
             (option, option.lower(), option[:1].upper() + option[1:], option.upper()))
    prefix = " " if spaced else ""
    return tuple(dict.fromkeys(prefix + form.format(case) for form in forms for case in cases))


def distinguishing_prefixes(sequences: Mapping[str, Sequence[tuple[int, ...]]]
                            ) -> dict[str, list[tuple[int, ...]]]:
    """Cut each option's token sequences to the shortest prefix no other option shares.

    An option's probability is then the total of its prefixes' probabilities: the events
    are disjoint (no kept prefix of one option begins another option's sequences), and
    what follows the deciding token (the ")" of "(A)", which a tokenizer may merge with
    the next character) does not matter.

    Parameters
    ----------
    sequences
        Option -> the token sequences of its spellings.

    Returns
    -------
    dict
        Option -> distinct prefixes, none of them beginning another of the same option.

    Raises
    ------
    BayesEffectError
        When a spelling has no tokens, or one option's whole spelling begins another
        option's (then no token decides between them).
    """
    out: dict[str, list[tuple[int, ...]]] = {}
    for option, own in sequences.items():
        others = [seq for name, seqs in sequences.items() if name != option for seq in seqs]
        cut: list[tuple[int, ...]] = []
        for seq in own:
            if not seq:
                raise BayesEffectError(f"a spelling of the answer option {option!r} has no "
                                       "tokens")
            k = next((k for k in range(1, len(seq) + 1)
                      if not any(other[:k] == seq[:k] for other in others)), None)
            if k is None:
                raise BayesEffectError(
                    f"the answer option {option!r} is spelled as the start of another "
                    f"option, so no token tells them apart; rename the options")
            cut.append(seq[:k])
        kept = sorted(set(cut), key=lambda s: (len(s), s))
        out[option] = [s for i, s in enumerate(kept)
                       if not any(s[:len(t)] == t for t in kept[:i])]
    return out
