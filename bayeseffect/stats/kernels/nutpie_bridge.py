"""The binomial kernel as a nutpie model: the only code here that touches nutpie's internals.

nutpie has no public API for a model given as C callbacks, so :class:`KernelModel`
subclasses ``nutpie.sample.CompiledModel`` and builds the private ``nutpie._lib`` objects
(``LogpFunc``, ``ExpandFunc``, ``PyVariable``, ``PyMcModel``, ``PySampler``) the way
nutpie's own PyMC path does. The lock file pins nutpie and the tests sample with it; a
nutpie upgrade that changes those classes breaks this file, and only this file (and, if
the callbacks' C signature changes, the two ``*_callback`` functions of
:mod:`.binomial`).
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from nutpie import _lib
from nutpie.sample import CompiledModel

from bayeseffect.stats.design import Design
from bayeseffect.stats.kernels.binomial import (
    Layout,
    expand_callback,
    logp_callback,
    pack,
    point_header,
    posterior_variables,
)
from bayeseffect.stats.priors import HierarchyPriors


@dataclass(frozen=True)
class KernelModel(CompiledModel):
    """nutpie's model of a binary design on the kernel's C callbacks (no GIL, no compile).

    Build it with :func:`compile_binomial`.
    """

    layout: Layout
    names: tuple[str, ...]
    shapes_: tuple[tuple[int, ...], ...]
    coords_: dict[str, list[str]]
    arrays: dict[str, np.ndarray]
    header: np.ndarray

    @property
    def n_dim(self) -> int:
        """Length of the unconstrained vector."""
        return self.layout.n_dim

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of each posterior variable."""
        return dict(zip(self.names, self.shapes_, strict=True))

    @property
    def coords(self) -> dict[str, list[str]]:
        """Coordinates of the posterior's dims."""
        return self.coords_

    @property
    def n_expanded(self) -> int:
        """Length of the constrained values the expand callback writes."""
        return sum(math.prod(shape) for shape in self.shapes_)

    def with_data(self, **updates: np.ndarray) -> "KernelModel":
        """Return a copy with new observations ``y`` and ``trials`` (same shape)."""
        arrays = dict(self.arrays)
        for name, value in updates.items():
            if name not in ("y", "trials"):
                raise KeyError(f"unknown data: {name}")
            new = np.ascontiguousarray(value, dtype=np.float64)
            if new.shape != arrays[name].shape:
                raise ValueError(f"{name} must keep its shape {arrays[name].shape}")
            arrays[name] = new
        return replace_arrays(self, arrays)

    def _make_sampler(self, settings: Any, init_mean: Any, cores: int, progress_type: Any,
                      extra_callback: Any, extra_callback_rate: Any, store: Any) -> Any:
        return _lib.PySampler.from_pymc(settings, cores, self._make_model(init_mean),
                                        progress_type, extra_callback, extra_callback_rate,
                                        store)

    def _make_model(self, init_mean: Any) -> Any:
        address = self.header.ctypes.data
        logp = _lib.LogpFunc(logp_callback.address, address, self)
        expand_fn = _lib.ExpandFunc(self.n_dim, self.n_expanded, expand_callback.address,
                                    address, self)
        dim_sizes = {name: len(values) for name, values in self.coords_.items()}
        variables = _lib.PyVariable.new_variables(
            list(self.names), ["float64"] * len(self.names), list(self.shapes_), dim_sizes,
            self.dims or {})

        def initial_point(seed: int) -> np.ndarray:
            # PyMC's default: every unconstrained coordinate jittered uniformly in (-1, 1).
            return np.random.default_rng(seed).uniform(-1.0, 1.0, self.n_dim)

        def make_adapter(*args: Any, **kwargs: Any) -> Any:
            from nutpie.transform_adapter import make_transform_adapter
            return make_transform_adapter()(*args, **kwargs, logp_fn=None)

        return _lib.PyMcModel(logp, expand_fn, variables, self.n_dim, dim_sizes,
                              self.coords_, initial_point, make_adapter)


def replace_arrays(model: KernelModel, arrays: dict[str, np.ndarray]) -> KernelModel:
    """Return a copy of ``model`` whose header points at ``arrays``."""
    return KernelModel(dims=model.dims, layout=model.layout, names=model.names,
                       shapes_=model.shapes_, coords_=model.coords_, arrays=arrays,
                       header=point_header(model.header, arrays))


def compile_binomial(design: Design, *, priors: HierarchyPriors | None,
                     centered: bool) -> KernelModel:
    """Build nutpie's model of ``design`` (binary) on the kernel.

    Parameters
    ----------
    design
        A binary design.
    priors
        Hierarchy priors (:func:`.binomial.supports` must accept them).
    centered
        Centered or non-centered group offsets, as in :mod:`bayeseffect.stats.hierarchy`.

    Returns
    -------
    KernelModel
        Ready for ``nutpie.sample``; ``with_data(y=..., trials=...)`` swaps observations.
    """
    arrays, header = pack(design, priors=priors, centered=centered)
    names, shapes, dims = posterior_variables(design, centered=centered)
    coords: dict[str, list[str]] = {"prompt": list(design.prompts),
                                    "family": list(design.families)}
    if len(design.items) >= 2:
        coords["item"] = list(design.items)
    return KernelModel(dims=dims, layout=Layout.of(design), names=tuple(names),
                       shapes_=tuple(shapes), coords_=coords, arrays=arrays, header=header)
