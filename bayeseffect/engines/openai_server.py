"""Generation through any OpenAI-compatible server: llama-cpp-python's, llama-server, vLLM.

The base arm uses ``/v1/completions`` with the arm's completion frame applied here; the
instruct arm uses ``/v1/chat/completions`` and the server applies the model's chat
template. Requests of a batch go out concurrently through a bounded pool of threads
sharing one ``httpx.Client`` (so connections are kept alive and reused); transient
failures (dropped connections, timeouts, 408, 429 and 5xx answers) are retried with
jittered exponential backoff, waiting at least what a ``Retry-After`` header asks; a
server that cannot be reached at all is a one-line error before any work is lost.
"""

import email.utils
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from bayeseffect.common.validation import check_server_url
from bayeseffect.errors import BayesEffectError, UnsupportedOptionsError
from bayeseffect.pairs.catalog import Prompting
from bayeseffect.sampling.option_spelling import BARE_FORMS, option_spellings
from bayeseffect.sampling.types import Completion, Request, SamplingParams, sampling_determinants

#: Alternatives a server is asked for at the answer slot when scoring options (OpenAI's
#: chat API allows at most 20).
TOP_LOGPROBS = 20

#: HTTP statuses worth retrying: rate limiting and server-side trouble.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Longest ``Retry-After`` honoured, in seconds (the OpenAI client's limit too); a server
#: asking for more is reported rather than waited for, as the run would look hung.
MAX_RETRY_AFTER = 60.0


class ServerError(BayesEffectError):
    """The server answered in a way that retrying will not fix."""


def retry_after_seconds(headers: httpx.Headers, *, now: datetime | None = None
                        ) -> float | None:
    """Return how long a server asked to wait before retrying, or ``None``.

    Reads ``retry-after-ms`` (OpenAI's, milliseconds) and ``Retry-After`` (RFC 9110:
    seconds, or an HTTP date).

    Parameters
    ----------
    headers
        The answer's headers.
    now
        The current time, for a date (the clock when omitted).

    Returns
    -------
    float or None
        Seconds, 0 or more; ``None`` when neither header is there or parses.
    """
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            value = float(ms) / 1000
            return max(0.0, value) if math.isfinite(value) else None
    except ValueError:
        pass
    text = headers.get("retry-after")
    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Return the wait before retry ``attempt`` (0 first): jittered exponential backoff.

    ``base * 2**attempt``, at most ``cap``, times a random factor in (0.75, 1]: the
    concurrent requests that one overloaded moment failed together then come back
    spread out instead of all at once again.
    """
    return min(cap, base * 2.0**attempt) * (1.0 - 0.25 * rng.random())


def served_model(base_url: str, *, params: SamplingParams, timeout: float = 120.0) -> str:
    """Return the first model name a server lists, closing the connection afterwards."""
    probe = OpenAICompatibleGenerator(base_url, model=None, prompting=Prompting("chat"),
                                      params=params, concurrency=1, timeout=timeout)
    try:
        return probe.model
    finally:
        probe.close()


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
        Sampling settings; only :data:`~bayeseffect.sampling.types.SERVER_SAMPLING_OPTIONS`
        are sent (threads, batch size and context size are the server's business).
    concurrency
        Requests in flight at once (and connections kept open).
    retries
        Attempts after the first for a transient failure.
    timeout
        Seconds to wait for one response.
    backoff
        First retry delay in seconds; doubled on each further retry (at most
        ``max_backoff``), each delay shortened by a random factor down to 0.75.
    max_backoff
        Longest delay between two attempts, in seconds, unless ``Retry-After`` asks for
        more (up to :data:`MAX_RETRY_AFTER`).

    Raises
    ------
    BayesEffectError
        Before any request, when ``base_url`` is not an http(s) URL with a host.
    """

    def __init__(self, base_url: str, *, model: str | None, prompting: Prompting,
                 params: SamplingParams, concurrency: int = 4, retries: int = 4,
                 timeout: float = 120.0, backoff: float = 0.5,
                 max_backoff: float = 30.0) -> None:
        root = check_server_url(base_url, option="the server URL").strip().rstrip("/")
        self.api = root if root.endswith("/v1") else f"{root}/v1"
        self.prompting = prompting
        self.params = params
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        workers = max(1, concurrency)
        # One client for the generator's life: its pool keeps a connection per worker
        # alive between requests instead of a TCP (and TLS) handshake for each.
        self._client = httpx.Client(
            timeout=timeout, headers={"Content-Type": "application/json"},
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers))
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers)
        try:
            self.model = model or self.served_models()[0]
        except BaseException:
            self.close()
            raise

    def served_models(self) -> list[str]:
        """Return the model names the server lists (``GET /v1/models``)."""
        listing = self._call("GET", "/models", None)
        names = [str(m.get("id")) for m in listing.get("data", []) if m.get("id")]
        if not names:
            raise ServerError(f"the server at {self.api} lists no models")
        return names

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            asked: float | None = None
            try:
                response = self._client.request(method, f"{self.api}{path}", content=data)
            except httpx.TransportError as exc:  # refused, dropped, timed out
                if last:
                    raise BayesEffectError(
                        f"cannot reach the server at {self.api} ({_one_line(exc)}); is it "
                        "running? check --base-url / --instruct-url") from exc
            else:
                if response.is_success:
                    return self._json(response, method, path)
                detail = _one_line(response.text[:200])
                if response.status_code not in TRANSIENT_STATUSES or last:
                    raise ServerError(f"the server at {self.api} answered "
                                      f"{response.status_code} to {method} {path}: {detail}")
                asked = retry_after_seconds(response.headers)
                if asked is not None and asked > MAX_RETRY_AFTER:
                    raise ServerError(
                        f"the server at {self.api} answered {response.status_code} to "
                        f"{method} {path} and asks to retry after {asked:.0f} s; try again "
                        "later or with a lower --concurrency")
            with self._rng_lock:  # random.Random is not documented as thread-safe
                delay = backoff_delay(attempt, base=self.backoff, cap=self.max_backoff,
                                      rng=self._rng)
            # Never sooner than the server asked: an earlier retry is only refused again.
            time.sleep(delay if asked is None else max(asked, delay))
        raise AssertionError("unreachable")

    def _json(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError as exc:
            raise ServerError(f"the server at {self.api} answered {method} {path} with "
                              f"something that is not JSON: {_one_line(response.text[:200])}"
                              ) from exc
        if not isinstance(answer, dict):
            raise ServerError(f"the server at {self.api} answered {method} {path} with JSON "
                              f"that is not an object: {_one_line(response.text[:200])}")
        return answer

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
        (:func:`~bayeseffect.sampling.option_spelling.option_spellings`), 0 when none of them is.
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
        """Stop the request pool and close the kept-alive connections."""
        self._pool.shutdown(wait=True)
        self._client.close()


def _one_line(value: object) -> str:
    """``value`` as text on one line, for a one-line error."""
    return " ".join(str(value).split()) or type(value).__name__
