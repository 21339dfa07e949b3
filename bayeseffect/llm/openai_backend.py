"""Generation through any OpenAI-compatible server: llama-cpp-python's, llama-server, vLLM.

The base arm uses ``/v1/completions`` with the arm's completion frame applied here; the
instruct arm uses ``/v1/chat/completions`` and the server applies the model's chat
template. Requests of a batch go out concurrently through a bounded pool; transient
failures (connection resets, 429 and 5xx answers) are retried with exponential backoff;
a server that cannot be reached at all is a one-line error before any work is lost.

Only the standard library is used, so this backend adds no dependency.
"""

import hashlib
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bayeseffect.errors import BayesEffectError, UnsupportedOptionsError
from bayeseffect.generation import (
    BARE_FORMS,
    Completion,
    Request,
    SamplingParams,
    option_spellings,
    sampling_determinants,
)
from bayeseffect.model_catalog import Prompting

#: Alternatives a server is asked for at the answer slot when scoring options (OpenAI's
#: chat API allows at most 20).
TOP_LOGPROBS = 20

#: HTTP statuses worth retrying: rate limiting and server-side trouble.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ServerError(BayesEffectError):
    """The server answered in a way that retrying will not fix."""


class OpenAICompatibleGenerator:
    """One arm served by an OpenAI-compatible HTTP server.

    Parameters
    ----------
    base_url
        The server's root, e.g. ``http://127.0.0.1:8000`` (``/v1`` is appended when absent).
    model
        The model name the server knows; ``None`` takes the first one it lists.
    prompting
        How this arm is prompted (``completion`` or ``chat`` frame).
    params
        Sampling settings (``threads`` is the server's business and is not sent).
    concurrency
        Requests in flight at once.
    retries
        Attempts after the first for a transient failure.
    timeout
        Seconds to wait for one response.
    backoff
        First retry delay in seconds; doubled on each further retry.
    """

    def __init__(self, base_url: str, *, model: str | None, prompting: Prompting,
                 params: SamplingParams, concurrency: int = 4, retries: int = 4,
                 timeout: float = 120.0, backoff: float = 0.5) -> None:
        root = base_url.rstrip("/")
        self.api = root if root.endswith("/v1") else f"{root}/v1"
        self.prompting = prompting
        self.params = params
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.model = model or self.served_models()[0]
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency))

    def served_models(self) -> list[str]:
        """Return the model names the server lists (``GET /v1/models``)."""
        listing = self._call("GET", "/models", None)
        names = [str(m.get("id")) for m in listing.get("data", []) if m.get("id")]
        if not names:
            raise ServerError(f"the server at {self.api} lists no models")
        return names

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        delay = self.backoff
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(f"{self.api}{path}", data=data, method=method,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer: dict[str, Any] = json.loads(response.read().decode("utf-8"))
                    return answer
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:200]
                if exc.code not in TRANSIENT_STATUSES or attempt == self.retries:
                    raise ServerError(f"the server at {self.api} answered {exc.code} to "
                                      f"{method} {path}: {detail}") from exc
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt == self.retries:
                    reason = getattr(exc, "reason", exc)
                    raise BayesEffectError(
                        f"cannot reach the server at {self.api} ({reason}); is it running? "
                        "check --base-url / --instruct-url") from exc
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _body(self, request: Request) -> tuple[str, dict[str, Any], str]:
        # Exactly the options that enter a server run's fingerprint and cache keys.
        common: dict[str, Any] = {"model": self.model,
                                  **sampling_determinants(self.params, remote=True),
                                  "seed": request.seed}
        if self.prompting.frame == "completion":
            prompt = self.prompting.template.format(question=request.question)
            body = {**common, "prompt": prompt, "stop": list(self.prompting.stop) or None}
            return "/completions", body, prompt
        messages = [{"role": "user", "content": request.question}]
        if self.prompting.system:
            messages.insert(0, {"role": "system", "content": self.prompting.system})
        # The server renders the chat template; its input is what we can identify.
        return "/chat/completions", {**common, "messages": messages}, json.dumps(messages)

    def _one(self, request: Request) -> Completion:
        path, body, rendered = self._body(request)
        answer = self._call("POST", path, body)
        try:
            choice = answer["choices"][0]
            text = choice["text"] if "text" in choice else choice["message"]["content"]
            usage = answer.get("usage", {})
        except (KeyError, IndexError, TypeError) as exc:
            raise ServerError(f"the server at {self.api} sent an answer without choices: "
                              f"{str(answer)[:200]}") from exc
        return Completion(
            text=text or "",
            n_prompt_tokens=int(usage.get("prompt_tokens", -1)),
            n_completion_tokens=int(usage.get("completion_tokens", -1)),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            rendered_prompt_sha256=hashlib.sha256(rendered.encode("utf-8")).hexdigest(),
        )

    def option_probabilities(self, questions: Sequence[str], options: Sequence[str], *,
                             forms: Sequence[str] = BARE_FORMS) -> list[dict[str, float]]:
        """Return the probability the model puts on each option at the answer slot.

        One request per question for a single greedy token with the server's
        log-probabilities of the :data:`TOP_LOGPROBS` likeliest tokens; an option's
        probability is that of its spellings' tokens among them
        (:func:`~bayeseffect.generation.option_spellings`), 0 when none of them is.
        The frame is the arm's, as for generation, so a llama-cpp-python server gives
        what the local backend reads from the same model.

        Parameters
        ----------
        questions
            The items' questions.
        options
            Answer options, e.g. ``("yes", "no")``.
        forms
            Only ``("{}",)``: an option written as itself.

        Returns
        -------
        list of dict
            Per question, option -> probability.

        Raises
        ------
        UnsupportedOptionsError
            For other forms (``(A)``): a server tells neither where its tokenizer splits an
            option nor the probabilities of tokens it did not generate, so an option whose
            first token is shared (`` (``) cannot be scored from the first position.
        """
        if tuple(forms) != BARE_FORMS:
            raise UnsupportedOptionsError(
                f"options written as {' or '.join(f.format('X') for f in forms)} need "
                "multi-token likelihoods, which an OpenAI-compatible server does not give; "
                "sample with the llama-cpp-python backend to store option likelihoods")
        spaced = self.prompting.answer_after_space
        spellings = {option: set(option_spellings(option, spaced=spaced)) for option in options}

        def one(question: str) -> dict[str, float]:
            top = self._top_logprobs(question)
            return {option: float(sum(math.exp(lp) for token, lp in top.items()
                                      if token in texts))
                    for option, texts in spellings.items()}

        return list(self._pool.map(one, questions))

    def _top_logprobs(self, question: str) -> dict[str, float]:
        path, body, _ = self._body(Request(question, seed=0))
        body = {**body, "max_tokens": 1, "temperature": 0.0}
        if path == "/completions":
            body["logprobs"] = TOP_LOGPROBS
        else:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        answer = self._call("POST", path, body)
        try:
            logprobs = answer["choices"][0]["logprobs"]
            if path == "/completions":
                return {str(k): float(v) for k, v in logprobs["top_logprobs"][0].items()}
            return {str(t["token"]): float(t["logprob"])
                    for t in logprobs["content"][0]["top_logprobs"]}
        except (KeyError, IndexError, TypeError) as exc:
            raise ServerError(f"the server at {self.api} sent no log-probabilities for the "
                              f"answer options: {str(answer)[:200]}") from exc

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Send the batch's requests concurrently; completions come back in request order."""
        return list(self._pool.map(self._one, requests))

    def close(self) -> None:
        """Stop the request pool."""
        self._pool.shutdown(wait=True)
