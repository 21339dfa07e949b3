"""The OpenAI-compatible backend against real servers on loopback (no mocks).

llama-cpp-python's own server serves the offline pair for the end-to-end test; a tiny
standard-library HTTP server exercises the retry and error paths.
"""

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from bayeseffect.data.dataset import load_dataset
from bayeseffect.engines.llama.generator import LlamaCppGenerator
from bayeseffect.engines.openai_server import OpenAICompatibleGenerator, ServerError
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import Prompting, load_pair, resolve_pair
from bayeseffect.sampling.option_scores import score_options, scores_path
from bayeseffect.sampling.types import Request, SamplingParams
from bayeseffect.variables.logic.prompts import generate_logic
from bayeseffect.variables.sycophancy_perez.prompts import generate_sycophancy_perez
from bayeseffect.workflow.sample import sample_run

PARAMS = SamplingParams(max_tokens=6, temperature=0.8, threads=2, batch_size=4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen, log, *, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-500:]}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server at {url} did not start in {seconds} s")


@pytest.fixture(scope="module")
def servers(offline_pair_files, tmp_path_factory):
    processes, urls = [], {}
    logs = tmp_path_factory.mktemp("servers")
    try:
        for arm, path in zip(("base", "instruct"), offline_pair_files, strict=True):
            port = _free_port()
            log = logs / f"{arm}.log"
            # A file, not a pipe: llama.cpp's load log would fill a pipe and stall the server.
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bayeseffect.engines.llama.serve", "--model", str(path),
                     "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024",
                     "--n_threads", "1", "--model_alias", f"{arm}-model"],
                    stdout=sink, stderr=subprocess.STDOUT)
            processes.append(process)
            urls[arm] = f"http://127.0.0.1:{port}"
            _wait_until_up(urls[arm], process, log)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.llm
def test_a_run_through_real_servers_follows_the_contract(servers, tmp_path):
    run_dir = sample_run("logic", prompts=2, replicates=2, seed=4, params=PARAMS,
                         out=tmp_path / "run", servers=servers, concurrency=2)
    ds = load_dataset(run_dir / "dataset.nc")
    assert bool(ds["completed"].all())
    assert (ds["n_completion_tokens"] <= 6).all()
    assert "base-model" in ds.attrs["llama_cpp_system_info"]
    assert ds.attrs["llama_cpp_version"] == "remote"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["determinants"]["backend"]["servers"] == servers
    # Option likelihoods come from the servers' log-probabilities, once per prompt and arm.
    share = ds["option_p_correct"].values
    assert ((share[..., 0] >= 0) & (share[..., 0] <= 1)).all()
    assert np.isnan(share[..., 1:]).all()


@pytest.mark.llm
def test_server_option_probabilities_equal_the_local_backends(servers):
    questions = [item.question for item in generate_logic(3, seed=1).items]
    for arm, resolved in resolve_pair(load_pair("offline-default")).items():
        remote = OpenAICompatibleGenerator(servers[arm], model=None,
                                           prompting=resolved.prompting, params=PARAMS)
        local = LlamaCppGenerator.load(resolved.path, prompting=resolved.prompting,
                                       params=PARAMS)
        try:
            served = remote.option_probabilities(questions, ("yes", "no"))
            computed = local.option_probabilities(questions, ("yes", "no"))
        finally:
            remote.close()
            local.close()
        for a, b in zip(served, computed, strict=True):
            assert a.keys() == b.keys() == {"yes", "no"}
            # The same model and frame. Not equal: these small quantized models move a
            # probability by up to 0.06 with how the prompt's tokens are batched (the
            # server reuses the previous request's cached prefix; the local backend
            # evaluates prompts together), and spellings outside the server's top 20
            # (" NO") count as 0 there. Alone on both sides they agreed to 1e-7.
            for option in a:
                assert abs(a[option] - b[option]) < 0.08, (arm, a, b)
            assert sum(a.values()) > 0.05, (arm, a)


@pytest.mark.llm
def test_options_a_server_cannot_score_are_skipped_with_the_reason(servers, tmp_path):
    # "(A)" and "(B)" share their first token; a server's top log-probabilities at the
    # first position cannot tell them apart, so the arm is skipped, not scored wrongly.
    prompt_set = generate_sycophancy_perez(2, seed=0)
    resolved = resolve_pair(load_pair("offline-default"))["base"]
    remote = OpenAICompatibleGenerator(servers["base"], model=None,
                                       prompting=resolved.prompting, params=PARAMS)
    reasons: list[tuple[str, str]] = []
    scored = score_options(prompt_set, options=("A", "B"), forms=("({})", "{}"),
                           arms=("base",), run_dir=tmp_path,
                           open_generator=lambda arm: remote,
                           on_unsupported=lambda arm, why: reasons.append((arm, why)))
    assert scored == []
    assert not scores_path(tmp_path, "base").exists()
    assert [arm for arm, _ in reasons] == ["base"]
    assert "llama-cpp-python backend" in reasons[0][1] and "\n" not in reasons[0][1]


@pytest.mark.llm
def test_the_server_arm_frames_and_seeds_requests(servers):
    chat = OpenAICompatibleGenerator(servers["instruct"], model=None,
                                     prompting=Prompting("chat"), params=PARAMS)
    completion = OpenAICompatibleGenerator(servers["base"], model=None,
                                           prompting=Prompting("completion"), params=PARAMS)
    try:
        assert chat.model == "instruct-model"
        batch = [Request("Is every dog a mammal? Answer yes or no.", seed=s) for s in (1, 1, 2)]
        for generator in (chat, completion):
            out = generator.generate_batch(batch)
            assert len(out) == 3 and all(0 < c.n_completion_tokens <= 6 for c in out)
            # No equality of same-seed texts: llama-cpp-python's server gave different
            # answers to identical seeded requests here (its state carries over).
            assert out[0].rendered_prompt_sha256 == out[2].rendered_prompt_sha256
    finally:
        chat.close()
        completion.close()


class _Flaky(BaseHTTPRequestHandler):
    failures_left = 2

    def do_GET(self):
        self._answer({"data": [{"id": "flaky"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_error(503)
            return
        if self.path.endswith("/chat/completions"):
            self.send_error(400, "bad request")
            return
        self._answer({"choices": [{"text": " yes", "finish_reason": "length"}],
                      "usage": {"prompt_tokens": 7, "completion_tokens": 1}})

    def _answer(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky_server():
    server = HTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.failures_left = 2
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_transient_errors_are_retried_and_permanent_ones_reported(flaky_server):
    generator = OpenAICompatibleGenerator(flaky_server, model=None,
                                          prompting=Prompting("completion"), params=PARAMS,
                                          backoff=0.01)
    [completion] = generator.generate_batch([Request("Q?", seed=1)])
    assert completion.text == " yes" and completion.finish_reason == "length"
    assert completion.n_prompt_tokens == 7
    chat = OpenAICompatibleGenerator(flaky_server, model="flaky", prompting=Prompting("chat"),
                                     params=PARAMS, backoff=0.01)
    with pytest.raises(ServerError, match="answered 400"):
        chat.generate_batch([Request("Q?", seed=1)])
    generator.close()
    chat.close()


def test_a_server_that_is_down_is_one_clear_error():
    with pytest.raises(BayesEffectError, match=r"cannot reach the server .* is it running"):
        OpenAICompatibleGenerator(f"http://127.0.0.1:{_free_port()}", model=None,
                                  prompting=Prompting("chat"), params=PARAMS, retries=1,
                                  backoff=0.01)
