"""The OpenAI-compatible client against a real HTTP server on loopback (real sockets, no
mocks): retries, ``Retry-After``, jitter, kept-alive connections and URL checks (issue
13: 10, 22). The server (tests/loopback.py) is scripted per test.
"""

import json
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from loopback import serve

from bayeseffect.engines.openai_server import (
    MAX_RETRY_AFTER,
    OpenAICompatibleGenerator,
    ServerError,
    backoff_delay,
    retry_after_seconds,
)
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import Prompting
from bayeseffect.sampling.types import Request, SamplingParams

PARAMS = SamplingParams(max_tokens=6, temperature=0.8, threads=2, batch_size=4)


@pytest.fixture
def server():
    with serve() as state:
        yield state


def _generator(server, *, frame="completion", **options):
    options.setdefault("backoff", 0.01)
    return OpenAICompatibleGenerator(server.url, model=None, prompting=Prompting(frame),
                                     params=PARAMS, **options)


def test_one_connection_is_kept_alive_for_every_request(server):
    generator = _generator(server, concurrency=1)
    try:
        out = generator.generate_batch([Request(f"Q{i}?", seed=i) for i in range(6)])
        out += generator.generate_batch([Request("Q?", seed=9)])
    finally:
        generator.close()
    assert [c.text for c in out] == [f" seed {i}" for i in (0, 1, 2, 3, 4, 5, 9)]
    # GET /v1/models and seven POSTs, all over the first connection.
    assert server.connections == 1
    assert {connection for _, connection, _, _ in server.posts} == {1}


def test_concurrent_requests_reuse_at_most_one_connection_each(server):
    generator = _generator(server, concurrency=3)
    try:
        for start in range(0, 18, 6):
            generator.generate_batch([Request("Q?", seed=s) for s in range(start, start + 6)])
    finally:
        generator.close()
    assert len(server.posts) == 18
    assert server.connections <= 3


def test_what_is_sent_is_what_identifies_the_run(server):
    generator = _generator(server)
    try:
        generator.generate_batch([Request("Q?", seed=7)])
    finally:
        generator.close()
    [(_, _, path, body)] = server.posts
    assert path == "/v1/completions"
    assert {k: body[k] for k in ("max_tokens", "temperature", "top_p", "top_k", "seed")} == {
        "max_tokens": 6, "temperature": 0.8, "top_p": 0.95, "top_k": 40, "seed": 7}
    assert "threads" not in body and "batch_size" not in body and "n_ctx" not in body


def test_429_and_5xx_are_retried_then_answered(server):
    server.script = [(429, {}), (503, {}), (500, {})]
    generator = _generator(server)
    try:
        [completion] = generator.generate_batch([Request("Q?", seed=1)])
    finally:
        generator.close()
    assert completion.text == " seed 1"
    assert len(server.posts) == 4


def test_retry_after_is_waited_for(server):
    server.script = [(429, {"Retry-After": "1"}), (503, {"Retry-After": "1"})]
    generator = _generator(server, backoff=0.01)
    try:
        [completion] = generator.generate_batch([Request("Q?", seed=1)])
    finally:
        generator.close()
    assert completion.text == " seed 1"
    times = [t for t, _, _, _ in server.posts]
    # Backoff alone would retry after ~0.01 s and ~0.02 s.
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95


def test_retry_after_in_milliseconds_is_waited_for(server):
    server.script = [(429, {"retry-after-ms": "400"})]
    generator = _generator(server, backoff=0.01)
    try:
        generator.generate_batch([Request("Q?", seed=1)])
    finally:
        generator.close()
    times = [t for t, _, _, _ in server.posts]
    assert times[1] - times[0] >= 0.38


def test_a_retry_after_too_long_to_wait_is_one_clear_error(server):
    server.script = [(429, {"Retry-After": "3600"})]
    generator = _generator(server)
    try:
        start = time.monotonic()
        with pytest.raises(ServerError, match=r"answered 429 .* retry after 3600 s"):
            generator.generate_batch([Request("Q?", seed=1)])
        assert time.monotonic() - start < 5
    finally:
        generator.close()
    assert len(server.posts) == 1


def test_a_dropped_connection_is_retried(server):
    server.script = ["drop", "drop"]
    generator = _generator(server)
    try:
        [completion] = generator.generate_batch([Request("Q?", seed=3)])
    finally:
        generator.close()
    assert completion.text == " seed 3"
    assert len(server.posts) == 3


def test_permanent_errors_are_not_retried(server):
    server.script = [(400, {}), (404, {})]
    generator = _generator(server, frame="chat")
    try:
        with pytest.raises(ServerError, match=r"answered 400 to POST /chat/completions"):
            generator.generate_batch([Request("Q?", seed=1)])
        assert len(server.posts) == 1
    finally:
        generator.close()


def test_retries_run_out_with_the_last_status(server):
    server.script = [(503, {})] * 10
    generator = _generator(server, retries=2)
    try:
        with pytest.raises(ServerError, match="answered 503"):
            generator.generate_batch([Request("Q?", seed=1)])
    finally:
        generator.close()
    assert len(server.posts) == 3


def test_an_answer_that_is_not_json_is_one_line(server):
    server.script = ["not json"]
    generator = _generator(server)
    try:
        with pytest.raises(ServerError, match="not JSON: <html>proxy error</html>"):
            generator.generate_batch([Request("Q?", seed=1)])
    finally:
        generator.close()


def test_backoff_doubles_is_capped_and_jittered():
    rng = random.Random(0)
    delays = [[backoff_delay(a, base=0.5, cap=3.0, rng=rng) for _ in range(200)]
              for a in range(5)]
    for attempt, values in enumerate(delays):
        full = min(3.0, 0.5 * 2**attempt)
        assert all(0.75 * full <= d <= full for d in values)
        assert len(set(values)) == len(values)  # spread out, not in lockstep


def test_retry_after_headers_are_read():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    read = lambda **h: retry_after_seconds(httpx.Headers(h), now=now)  # noqa: E731
    assert read(**{"Retry-After": "7"}) == 7
    assert read(**{"Retry-After": format_datetime(now + timedelta(seconds=30),
                                                  usegmt=True)}) == 30
    assert read(**{"Retry-After": format_datetime(now - timedelta(seconds=30),
                                                  usegmt=True)}) == 0
    assert read(**{"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert read(**{"Retry-After": "soon"}) is None
    assert read() is None
    assert MAX_RETRY_AFTER == 60


def test_urls_that_are_not_http_are_refused_before_any_request(tmp_path):
    # file:// used to be read as the server: this listing would have named the model.
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "models").write_text(json.dumps({"data": [{"id": "a-local-file"}]}))
    for url in (tmp_path.as_uri(), "127.0.0.1:8000", "ftp://127.0.0.1/"):
        with pytest.raises(BayesEffectError, match="must be an http:// or https:// URL"):
            OpenAICompatibleGenerator(url, model=None, prompting=Prompting("chat"),
                                      params=PARAMS)
