"""The bias variables on the real offline pair at tiny scale: sampled, scored, saved."""

import numpy as np
import pytest

from bayeseffect.data.dataset import load_dataset
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.variables.social_bias.prompts import LETTERS
from bayeseffect.workflow.sample import sample_run

pytestmark = pytest.mark.llm


def _sample(name, tmp_path, max_tokens):
    params = SamplingParams(max_tokens=max_tokens, temperature=0.8, threads=2)
    run = sample_run(name, prompts=3, replicates=1, seed=2, params=params, out=tmp_path / name)
    ds = load_dataset(run / "dataset.nc")
    assert bool(ds["completed"].all())
    assert ds.attrs["variable"] == name
    assert (ds["n_completion_tokens"] <= max_tokens).all()
    return ds


def _within(values, allowed):
    finite = values[np.isfinite(values)]
    return set(np.unique(finite).tolist()) <= set(allowed)


def test_social_bias_on_the_real_pair(tmp_path):
    ds = _sample("social_bias", tmp_path, max_tokens=6)
    assert ds.attrs["primary_outcome"] == "correct"
    assert set(ds.attrs["factors"].split(",")) >= {"dimension", "context", "order"}
    assert set(ds["expected"].values.tolist()) <= set(LETTERS)
    assert set(ds["answer"].values.ravel().tolist()) <= {*LETTERS, ""}
    assert _within(ds["correct"].values, (0, 1)) and np.isfinite(ds["correct"].values).all()
    assert _within(ds["bias_direction"].values, (1, 2, 3))
    assert ds["bias_direction"].attrs["n_levels"] == 3
    assert _within(ds["stereotyped_choice"].values, (0, 1))
    unparsed = ds["answer"].values == ""
    assert np.isnan(ds["bias_direction"].values[unparsed]).all()
    assert (ds["parse_failure"].values == unparsed).all()
    disambiguated = (ds["context"] == "disambiguated").values
    assert np.isnan(ds["ambiguous_bias"].values[:, disambiguated]).all()
    # The letters' likelihoods at the answer slot, scored once per prompt and arm.
    share = ds["option_p_correct"].values
    assert ((share[..., 0] > 0) & (share[..., 0] < 1)).all()
    assert np.isnan(share[..., 1:]).all()
    assert "option_p_correct" in ds.attrs["outcome_kinds"]


def test_political_stance_on_the_real_pair(tmp_path):
    ds = _sample("political_stance", tmp_path, max_tokens=16)
    assert ds.attrs["primary_outcome"] == "position"
    assert set(ds.attrs["factors"].split(",")) >= {"axis", "direction", "variant"}
    assert ds["position"].attrs["n_levels"] == 5
    for name in ("stance", "position"):
        assert _within(ds[name].values, (1, 2, 3, 4, 5))
    no_stance = ds["takes_no_stance"].values == 1
    assert np.isnan(ds["position"].values[no_stance]).all()
    assert np.isfinite(ds["position"].values[~no_stance]).all()
    direction = np.broadcast_to(ds["direction"].values[None, :, None], ds["stance"].shape)
    stance, position = ds["stance"].values, ds["position"].values
    taken = ~no_stance
    assert (np.where(direction > 0, stance, 6 - stance)[taken] == position[taken]).all()
