"""What the sampling loop needs from a model backend, independent of any LLM library."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol


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
