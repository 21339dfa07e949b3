"""The real offline pair at tiny scale: sampling through llama-cpp-python to a saved posterior."""

import json

import pytest

from bayeseffect.data.dataset import load_dataset
from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.fit import fit_run
from bayeseffect.workflow.report import report_run
from bayeseffect.workflow.sample import sample_run

pytestmark = pytest.mark.llm
# Batches of 2 prompts x 2 replicates: a response depends on its whole batch (batched
# decoding rounds differently for other batch shapes), so runs that share cells must also
# share batches.
PARAMS = SamplingParams(max_tokens=6, temperature=0.8, threads=2, batch_size=4)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "run"
    return sample_run("logic", prompts=4, replicates=2, seed=3, params=PARAMS, out=out)


def test_real_pair_sampled_into_a_cross_family_dataset(real_run):
    ds = load_dataset(real_run / "dataset.nc")
    assert bool(ds["completed"].all())
    assert ds.attrs["cross_family"] == 1
    assert ds.attrs["llama_cpp_python_version"].startswith("0.3")
    assert ds.attrs["base_model_sha256"].startswith("a5fd3b62")
    assert (ds["n_completion_tokens"] <= 6).all() and (ds["n_completion_tokens"] >= 0).all()
    assert set(ds["finish_reason"].values.ravel()) <= {"stop", "length"}
    manifest = json.loads((real_run / "run.json").read_text())
    assert manifest["pair"] == "offline-default"


def test_option_likelihoods_are_stored_once_per_prompt_and_arm(real_run):
    import numpy as np

    ds = load_dataset(real_run / "dataset.nc")
    share = ds["option_p_correct"]
    scored = share.isel(replicate=0)
    assert bool(np.isfinite(scored).all()) and bool(((scored > 0) & (scored < 1)).all())
    assert bool(share.isel(replicate=slice(1, None)).isnull().all())
    assert json.loads(ds.attrs["outcome_kinds"])["option_p_correct"][0] == "continuous"
    scores_file = real_run / "options-instruct.json"
    scores = json.loads(scores_file.read_text())
    assert scores["options"] == ["yes", "no"]
    prompt = str(ds["prompt"].values[0])
    p = scores["probabilities"][prompt]
    expected = str(ds["expected"].values[0])
    assert float(share.sel(arm="instruct", prompt=prompt, replicate=0)) == pytest.approx(
        p[expected] / (p["yes"] + p["no"]))
    # Resuming a finished run scores nothing again.
    stamp = scores_file.stat().st_mtime_ns
    sample_run("logic", prompts=4, replicates=2, seed=3, params=PARAMS, out=real_run)
    assert scores_file.stat().st_mtime_ns == stamp


def test_a_cell_gives_the_same_response_in_another_run(real_run, tmp_path):
    first = read_journal(real_run / "responses.jsonl")
    # A different prompt count changes the run, but shared cells keep their seeds and
    # their batch: the first 2 prompts of a new run must reproduce the same texts byte for
    # byte.
    again = sample_run("logic", prompts=2, replicates=2, seed=3, params=PARAMS,
                       out=tmp_path / "again")
    for key, record in read_journal(again / "responses.jsonl").items():
        assert record.text == first[key].text, key


def test_fit_and_report_on_real_responses(real_run):
    summary = fit_run(real_run, draws=300, tune=300, chains=2, seed=1)
    assert (real_run / "posterior.nc").exists()
    assert {g["name"] for g in summary["gates"]} >= {"max R-hat", "divergences"}
    report = report_run(real_run)
    assert "NOT the effect" in report["cross_family_warning"]
    assert (real_run / "report" / "total_effect.png").exists()


def test_the_response_cache_redoes_only_what_changed(tmp_path):
    from bayeseffect.sampling.response_cache import ResponseCache

    cache = tmp_path / "cache.sqlite"
    # One prompt's replicates per batch, so a longer prompt set keeps the earlier batches.
    params = SamplingParams(max_tokens=6, temperature=0.8, threads=2, batch_size=2)
    first = sample_run("logic", prompts=2, replicates=2, seed=3, params=params,
                       out=tmp_path / "a", cache=cache)
    stored = ResponseCache(cache)
    assert len(stored) == 8
    longer = sample_run("logic", prompts=3, replicates=2, seed=3, params=params,
                        out=tmp_path / "b", cache=cache)
    assert len(stored) == 12  # only the new prompt's 2 x 2 responses were generated
    old, new = read_journal(first / "responses.jsonl"), read_journal(longer / "responses.jsonl")
    assert all(new[key].text == record.text for key, record in old.items())
    sample_run("logic", prompts=2, replicates=2, seed=3, out=tmp_path / "c", cache=cache,
               params=SamplingParams(max_tokens=5, temperature=0.8, threads=2, batch_size=2))
    assert len(stored) == 20  # a changed option redoes every response
    stored.close()
