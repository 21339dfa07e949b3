"""What identifies a run sampled through OpenAI-compatible servers (issue 13: 15).

``--threads``, ``--batch-size`` (and the context size) configure the local llama.cpp
engine; a server never receives them, so they stay out of a server run's fingerprint and
its response-cache keys, and out of nothing else. A real loopback server answers.
"""

import json

import pytest
from conftest import FakeFactory
from loopback import serve

from bayeseffect.sampling.run_dir import MANIFEST
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.sample import sample_run


@pytest.fixture
def server():
    with serve() as state:
        yield state


def test_server_runs_leave_threads_and_batch_size_out_of_fingerprint_and_cache(
        server, tiny_pair, tmp_path):
    cache = tmp_path / "cache.sqlite"
    servers = {"base": server.url, "instruct": server.url}
    first = sample_run("complexity", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3,
                       replicates=2, params=SamplingParams(threads=1, batch_size=2),
                       runs_root=tmp_path / "runs", servers=servers, concurrency=2,
                       cache=cache)
    posts = len(server.posts)
    assert posts == 12
    sampling = json.loads((first / MANIFEST).read_text())["determinants"]["sampling"]
    assert set(sampling) == {"max_tokens", "temperature", "top_p", "top_k"}
    # Other --threads and --batch-size: the same run (same default folder), and every
    # response from the cache, as none of the server's answers could differ.
    second = sample_run("complexity", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3,
                        replicates=2, params=SamplingParams(threads=3, batch_size=5),
                        runs_root=tmp_path / "runs", servers=servers, concurrency=2,
                        cache=cache, out=tmp_path / "elsewhere")
    assert second != first
    assert len(server.posts) == posts
    assert json.loads((second / MANIFEST).read_text())["fingerprint"] == json.loads(
        (first / MANIFEST).read_text())["fingerprint"]
    again = sample_run("complexity", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3,
                       replicates=2, params=SamplingParams(threads=4, batch_size=1),
                       runs_root=tmp_path / "runs", servers=servers, concurrency=2)
    assert again == first


def test_local_runs_keep_threads_and_batch_size_in_their_fingerprint(tiny_pair, tmp_path):
    dirs = {sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                       replicates=1, params=SamplingParams(threads=t, batch_size=b),
                       runs_root=tmp_path, open_generator=FakeFactory())
            for t, b in ((1, 4), (2, 4), (1, 8))}
    assert len(dirs) == 3
    for run_dir in dirs:
        sampling = json.loads((run_dir / MANIFEST).read_text())["determinants"]["sampling"]
        assert {"threads", "batch_size"} <= set(sampling)
