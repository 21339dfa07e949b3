"""The hand-written binary density equals PyMC's, and fits fall back to PyMC where it cannot."""

import numpy as np
import pytest

from bayeseffect.stats.design import design_from_dataset
from bayeseffect.stats.fit import CompiledFit, SamplerSettings
from bayeseffect.stats.kernels import binomial, nutpie_bridge
from bayeseffect.stats.models import build_model
from bayeseffect.stats.priors import HierarchyPriors, Prior
from bayeseffect.stats.simulate import simulate

PRIORS = HierarchyPriors(intercept=Prior("Normal", {"mu": 0.3, "sigma": 2.0}),
                         effect=Prior("Normal", {"mu": -0.1, "sigma": 0.7}),
                         group_sd=Prior("HalfNormal", {"sigma": 0.8}))


def _design(**kwargs):
    return design_from_dataset(simulate("binary", beta=0.4, seed=5, **kwargs).dataset)


@pytest.mark.parametrize(("kwargs", "centered"), [
    ({"n_prompts": 24, "replicates": 3, "n_families": 4, "n_items": 6}, False),
    ({"n_prompts": 24, "replicates": 3, "n_families": 1}, True),
])
def test_density_and_gradient_equal_pymc_at_random_points(kwargs, centered):
    design = _design(**kwargs)
    model = build_model(design, priors=PRIORS, centered=centered).model
    logp = model.compile_logp(mode="FAST_COMPILE")
    dlogp = model.compile_dlogp(mode="FAST_COMPILE")
    arrays = nutpie_bridge.compile_binomial(design, priors=PRIORS, centered=centered).arrays
    layout = binomial.Layout.of(design)
    start = model.initial_point()
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(3):
        x = rng.normal(0.0, 0.8, layout.n_dim)
        point, cursor = {}, 0
        # PyMC's value variables come in the kernel's order: alpha, beta, (SD, offsets)...
        for var in model.value_vars:
            size = start[var.name].size
            point[var.name] = x[cursor:cursor + size].reshape(start[var.name].shape)
            cursor += size
        assert cursor == layout.n_dim
        grad = np.zeros(layout.n_dim)
        value = binomial.logp_and_grad(
            x, arrays["y"], arrays["trials"], arrays["prompt_index"], arrays["arm_index"],
            arrays["family_index"], arrays["item_index"], np.asarray(layout.sizes),
            arrays["priors"], centered, grad)
        np.testing.assert_allclose(grad, dlogp(point), rtol=1e-9, atol=1e-9)
        gaps.append(value - logp(point))
    # Equal up to the constants the kernel drops (binomial coefficients, 2 pi).
    assert np.ptp(gaps) < 1e-8


def test_kernel_posterior_has_the_pymc_variables_and_refits_new_data():
    design = _design(n_prompts=30, replicates=4, n_families=3)
    compiled = CompiledFit(design, priors=None, centered=False, refittable=True)
    assert isinstance(compiled._compiled, nutpie_bridge.KernelModel)
    settings = SamplerSettings(draws=300, tune=300, chains=2)
    post = compiled.sample(settings, seed=1)["posterior"].to_dataset()
    assert set(post.data_vars) == set(compiled.var_names)
    assert post["z_u_prompt"].dims == ("chain", "draw", "prompt")
    np.testing.assert_allclose(post["z_u_prompt"].sum("prompt"), 0.0, atol=1e-9)
    assert float(post["sd_prompt"].min()) > 0
    flipped = design_from_dataset(simulate("binary", n_prompts=30, replicates=4, n_families=3,
                                           beta=-1.5, seed=5).dataset)
    refit = compiled.with_design(flipped).sample(settings, seed=1)["posterior"]
    assert float(refit["beta"].mean()) < float(post["beta"].mean()) - 1.0
    with pytest.raises(ValueError, match="shape"):
        compiled._compiled.with_data(y=np.zeros(3))


def test_priors_the_kernel_lacks_fall_back_to_pymc():
    design = _design(n_prompts=12, replicates=2, n_families=2)
    heavy = HierarchyPriors(effect=Prior("StudentT", {"nu": 3, "mu": 0.0, "sigma": 1.0}))
    assert not binomial.supports(design, heavy)
    compiled = CompiledFit(design, priors=heavy, centered=False)
    assert not isinstance(compiled._compiled, nutpie_bridge.KernelModel)
    with pytest.raises(ValueError, match="binomial kernel"):
        nutpie_bridge.compile_binomial(design, priors=heavy, centered=False)
