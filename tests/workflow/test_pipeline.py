"""The sample pipeline with a deterministic fake generator and tiny GGUF files (no LLM)."""

import json

import numpy as np
import pytest
from conftest import FakeFactory

from bayeseffect.data.contract import validate_dataset
from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.sample import sample_run


def _run(tiny_pair, out, **kwargs):
    base, instruct = tiny_pair
    options = {"prompts": 6, "replicates": 2, "seed": 1, "out": out,
               "open_generator": FakeFactory()} | kwargs
    return sample_run("logic", base=base, instruct=instruct, **options)


def test_dataset_follows_the_contract(tiny_pair, tmp_path):
    run_dir = _run(tiny_pair, tmp_path / "run")
    ds = load_dataset(run_dir / "dataset.nc")
    validate_dataset(ds)
    assert dict(ds.sizes) == {"arm": 2, "prompt": 6, "replicate": 2}
    assert ds["completed"].all()
    assert set(np.unique(ds["correct"].values)) <= {0.0, 1.0}
    assert ds.attrs["cross_family"] == 0
    assert len(ds.attrs["base_model_sha256"]) == 64
    assert json.loads(ds.attrs["sampling_params"])["max_tokens"] == 16
    for factor in ("depth", "validity", "content", "family", "expected"):
        assert ds[factor].dims == ("prompt",)
    # Scores are recomputed from the saved text: parse failures are counted, never dropped.
    assert int((ds["parse_failure"] + ds["correct"] <= 1).all())


def test_interrupted_run_saves_partial_dataset_and_resumes(tiny_pair, tmp_path):
    out = tmp_path / "run"
    one_at_a_time = SamplingParams(batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_pair, out, params=one_at_a_time, open_generator=FakeFactory(fail_after=5))
    partial = load_dataset(out / "dataset.nc")
    assert int(partial["completed"].sum()) == 5
    assert np.isnan(partial["correct"].values[~partial["completed"].values]).all()
    _run(tiny_pair, out, params=one_at_a_time)
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 24


def test_a_resumed_batch_is_regenerated_whole_and_journaled_once(tiny_pair, tmp_path):
    out = tmp_path / "run"
    batches_of_4 = SamplingParams(batch_size=4)
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_pair, out, params=batches_of_4, open_generator=FakeFactory(fail_after=5))
    # The second batch was interrupted mid-way: only the first batch is saved.
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 4
    journal = out / "responses.jsonl"
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:3]))
    factory = FakeFactory()
    _run(tiny_pair, out, params=batches_of_4, open_generator=factory)
    # 21 cells were missing, but the first batch lacks only one: it is decoded whole
    # (4 requests, layout unchanged), then the 5 untouched batches.
    assert sum(g.calls for g in factory.opened) == 4 + 20
    lines = journal.read_text().splitlines()
    assert len(lines) == 24
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 24


def test_same_command_finds_the_same_default_run_dir(tiny_pair, tmp_path):
    first = _run(tiny_pair, None, runs_root=tmp_path)
    second = _run(tiny_pair, None, runs_root=tmp_path)
    assert first == second
    assert first.name.startswith("logic-")


def test_different_configuration_is_refused(tiny_pair, tmp_path):
    out = tmp_path / "run"
    _run(tiny_pair, out)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(BayesEffectError, match=r"different configuration .*replicates"):
        _run(tiny_pair, out, replicates=3)
    assert sorted(p.name for p in out.iterdir()) == before


def test_matched_tiny_pair_is_not_cross_family_but_mismatched_is(tiny_pair, tmp_path):
    from conftest import write_tiny_gguf

    other = write_tiny_gguf(tmp_path / "other.gguf", arch="gemma3", n_embd=16,
                            chat_template="{{ messages[0]['content'] }}")
    run_dir = sample_run("logic", base=tiny_pair[0], instruct=other, prompts=3, replicates=1,
                         out=tmp_path / "x", open_generator=FakeFactory())
    ds = load_dataset(run_dir / "dataset.nc")
    assert ds.attrs["cross_family"] == 1
    assert "architecture" in ds.attrs["cross_family_reasons"]
