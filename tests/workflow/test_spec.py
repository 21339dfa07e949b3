"""Resolve-then-run: every check before any model loads, the pair hashed once per study.

The llama layer is a fake that records what it is asked (versions, engine starts), so a
test sees whether a model would have been loaded; the tiny GGUF files cannot be.
"""

import dataclasses
import json

import pytest
from conftest import FakeFactory, FakeGenerator

from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs import catalog
from bayeseffect.sampling.run_dir import MANIFEST
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.variables import get_variable, variable_names
from bayeseffect.workflow import engines
from bayeseffect.workflow.sample import sample_run
from bayeseffect.workflow.spec import resolve_run
from bayeseffect.workflow.study import sample_all


@pytest.fixture
def loads(monkeypatch):
    """The fake llama layer; the list records every engine started (a model loaded)."""
    started: list[str] = []

    def start_engine(path, *, prompting, params, arm, log):
        started.append(arm)
        return FakeGenerator(arm)

    layer = engines.LlmLayer(
        llama_versions=lambda: {"llama_cpp_python_version": "fake", "llama_cpp_version": "fake",
                                "llama_cpp_system_info": "fake"},
        start_engine=start_engine)
    monkeypatch.setattr(engines, "llm_layer", lambda: layer)
    return started


@pytest.fixture
def hashed(monkeypatch):
    """Count the files hashed (every model file's sha256 goes through ``sha256_file``)."""
    files = []
    real = catalog.sha256_file

    def counting(path):
        files.append(path.name)
        return real(path)

    monkeypatch.setattr(catalog, "sha256_file", counting)
    return files


def test_study_hashes_the_pair_once_for_every_variable(tiny_pair, tmp_path, hashed, loads):
    run_dirs, _, _ = sample_all(base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                                replicates=1, fit=False, runs_root=tmp_path)
    assert len(run_dirs) == len(variable_names()) > 1
    assert sorted(hashed) == ["base.gguf", "instruct.gguf"]
    # ... and the runs are still the ones a single-variable sample makes.
    logic = next(d for d in run_dirs if d.name.startswith("logic-"))
    alone = resolve_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                        replicates=1, params=SamplingParams(), runs_root=tmp_path)
    assert alone.run_dir == logic
    assert json.loads((logic / MANIFEST).read_text())["fingerprint"] == alone.fingerprint


def test_a_single_run_hashes_each_file_once(tiny_pair, tmp_path, hashed, loads):
    sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2, replicates=1,
               out=tmp_path / "run")
    assert sorted(hashed) == ["base.gguf", "instruct.gguf"]
    assert loads == ["base", "instruct"]


def _foreign(tmp_path):
    folder = tmp_path / "foreign"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    return folder


def _other_run(tmp_path, tiny_pair):
    out = tmp_path / "other"
    sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2, replicates=2,
               out=out, open_generator=FakeFactory())
    return out


@pytest.mark.parametrize(("case", "match"), [
    ("replicates", "--replicates must be at least 1"),
    ("threads", "--threads must be at least 1"),
    ("seed", "--seed must be an integer"),
    ("prompts", "ask for at least 1 prompt"),
    ("missing file", "does not exist"),
    ("out is a file", "is a file"),
    ("out is a foreign folder", "exists and is not a bayeseffect run"),
    ("out is another run", "different configuration"),
])
def test_bad_input_fails_before_any_model_loads(tiny_pair, tmp_path, loads, case, match):
    options = {"base": tiny_pair[0], "instruct": tiny_pair[1], "prompts": 2, "replicates": 1,
               "out": tmp_path / "run"}
    if case == "replicates":
        options["replicates"] = 0
    elif case == "threads":
        options["params"] = SamplingParams(threads=0)
    elif case == "seed":
        options["seed"] = -1
    elif case == "prompts":
        options["prompts"] = 0
    elif case == "missing file":
        options["instruct"] = tmp_path / "missing.gguf"
    elif case == "out is a file":
        options["out"] = tmp_path / "file"
        options["out"].write_text("x")
    elif case == "out is a foreign folder":
        options["out"] = _foreign(tmp_path)
    else:
        options["out"] = _other_run(tmp_path, tiny_pair)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(BayesEffectError, match=match):
        sample_run("logic", **options)
    assert loads == []
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("servers", "concurrency", "match"), [
    ({"base": "http://127.0.0.1:1"}, 4, "needs both --base-url and --instruct-url"),
    ({"base": "127.0.0.1:8000", "instruct": "http://127.0.0.1:1"}, 4,
     "--base-url must be an http:// or https:// URL"),
    ({"base": "http://127.0.0.1:1", "instruct": "http://127.0.0.1:1"}, 0,
     "--concurrency must be at least 1"),
])
def test_bad_server_options_fail_before_the_files_are_hashed(tiny_pair, tmp_path, hashed,
                                                             servers, concurrency, match):
    with pytest.raises(BayesEffectError, match=match):
        sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2, replicates=1,
                   out=tmp_path / "run", servers=servers, concurrency=concurrency)
    assert hashed == []
    assert not (tmp_path / "run").exists()


def test_study_checks_every_variables_run_dir_before_loading_a_model(tiny_pair, tmp_path,
                                                                     loads):
    last = variable_names()[-1]
    # The run sample_all makes for it: the variable's own token limit.
    params = SamplingParams(max_tokens=get_variable(last).max_tokens)
    spec = resolve_run(last, base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                       replicates=1, params=params, runs_root=tmp_path)
    spec.run_dir.mkdir()
    (spec.run_dir / "notes.txt").write_text("not a run")
    with pytest.raises(BayesEffectError, match="exists and is not a bayeseffect run"):
        sample_all(base=tiny_pair[0], instruct=tiny_pair[1], prompts=2, replicates=1,
                   fit=False, runs_root=tmp_path)
    assert loads == []
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [spec.run_dir.name]


def test_a_resolved_run_is_frozen_and_writes_nothing(tiny_pair, tmp_path, loads):
    out = tmp_path / "run"
    spec = resolve_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3,
                       replicates=2, out=out)
    assert not out.exists() and loads == []
    assert spec.run_dir == out and len(spec.prompt_set.items) == 3
    assert spec.backend.kind == "llama" and spec.uses_cache is False
    assert len(spec.pair.arms["base"].sha256) == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.replicates = 3  # type: ignore[misc]
    # Executing it gives the run sample_run gives for the same arguments.
    from bayeseffect.workflow.sample import execute_run

    assert execute_run(spec) == out
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["fingerprint"] == spec.fingerprint
    assert manifest["determinants"] == json.loads(json.dumps(spec.determinants))
    assert loads == ["base", "instruct"]
