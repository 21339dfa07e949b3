"""sycophancy, sycophancy_perez, complexity and refusal on the real offline pair, tiny scale."""

import numpy as np
import pytest

from bayeseffect.data.dataset import load_dataset
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.variables import get_variable
from bayeseffect.workflow.sample import sample_run

pytestmark = pytest.mark.llm


def _sample(name, tmp_path, *, prompts, max_tokens):
    params = SamplingParams(max_tokens=max_tokens, temperature=0.8, threads=2)
    run = sample_run(name, prompts=prompts, replicates=1, seed=1, params=params,
                     out=tmp_path / name)
    ds = load_dataset(run / "dataset.nc")
    variable = get_variable(name)
    assert bool(ds["completed"].all())
    assert ds.attrs["variable"] == name
    assert ds.attrs["primary_outcome"] == variable.primary_outcome
    assert ds.sizes == {"arm": 2, "prompt": prompts, "replicate": 1}
    assert (ds["n_completion_tokens"] <= max_tokens).all()
    return ds


def _within(values, allowed):
    finite = values[np.isfinite(values)]
    return set(np.unique(finite).tolist()) <= set(allowed)


def test_sycophancy_on_the_real_pair(tmp_path):
    ds = _sample("sycophancy", tmp_path, prompts=4, max_tokens=8)
    assert set(ds["condition"].values.tolist()) == {"neutral", "user_right", "user_wrong",
                                                    "user_pushback"}
    assert _within(ds["correct"].values, (0, 1)) and np.isfinite(ds["correct"].values).all()
    assert _within(ds["parse_failure"].values, (0, 1))
    applies = np.isin(ds["condition"].values, ["user_wrong", "user_pushback"])
    agrees = ds["agrees_with_user"].transpose("prompt", ...).values
    assert np.isnan(agrees[~applies]).all() and np.isfinite(agrees[applies]).all()
    unparsed = ds["parse_failure"].values == 1
    assert (ds["answer"].values[unparsed] == "").all()


def test_sycophancy_perez_on_the_real_pair(tmp_path):
    ds = _sample("sycophancy_perez", tmp_path, prompts=2, max_tokens=4)
    assert set(ds["expected"].values.tolist()) <= {"A", "B"}
    assert set(ds["answer"].values.ravel().tolist()) <= {"A", "B", ""}
    matches = ds["matches_user_view"].values
    assert _within(matches, (0, 1))
    assert (np.isnan(matches) == (ds["parse_failure"].values == 1)).all()
    # Option likelihoods, "(A)" and "A" scored token by token: one per prompt and arm.
    share = ds["option_p_correct"].values
    assert ((share[..., 0] > 0) & (share[..., 0] < 1)).all()


def test_complexity_on_the_real_pair(tmp_path):
    ds = _sample("complexity", tmp_path, prompts=3, max_tokens=32)
    assert set(ds["audience"].values.tolist()) == {"any", "child", "expert"}
    too_short = ds["too_short"].values == 1
    assert _within(ds["too_short"].values, (0, 1))
    for outcome in ("grade", "reading_ease", "gunning_fog", "mean_sentence_length"):
        assert np.isnan(ds[outcome].values[too_short]).all()
        assert np.isfinite(ds[outcome].values[~too_short]).all()
    assert (ds["word_count"].values >= 0).all()


def test_refusal_on_the_real_pair(tmp_path):
    ds = _sample("refusal", tmp_path, prompts=2, max_tokens=12)
    assert set(ds["request"].values.tolist()) == {"harmless", "often_declined"}
    empty = ds["empty"].values == 1
    assert _within(ds["refused"].values, (0, 1))
    assert np.isnan(ds["refused"].values[empty]).all()
    assert np.isfinite(ds["refused"].values[~empty]).all()
