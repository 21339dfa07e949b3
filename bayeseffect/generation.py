"""What the sampling loop needs from a model backend, independent of any LLM library."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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


def option_spellings(option: str, *, spaced: bool) -> tuple[str, ...]:
    """Return how an answer option can begin a response, as first-token texts to sum over.

    A model asked for yes or no answers " Yes" as often as " yes" (gemma-3-270m put 0.47
    on " Yes" and 0.07 on " yes" after a logic item's "Answer:"), so an option's
    probability is that of its lower-case, capitalized and upper-case spellings together.

    Parameters
    ----------
    option
        The option as written in the prompt set (``"yes"``, ``"A"``).
    spaced
        Whether the answer follows the frame after a space (a completion frame ending in
        ``Answer:``) rather than at the start of a turn.

    Returns
    -------
    tuple of str
        Distinct spellings, with the leading space when ``spaced``.
    """
    forms = (option, option.lower(), option[:1].upper() + option[1:], option.upper())
    prefix = " " if spaced else ""
    return tuple(dict.fromkeys(prefix + form for form in forms))
