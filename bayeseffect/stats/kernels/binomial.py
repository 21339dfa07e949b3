"""A hand-written log density and gradient of the binary model, in numba.

The PyMC model of :mod:`bayeseffect.stats.models` stays the definition of the binary
model; this module evaluates the same log density (up to a constant) and its gradient on
the same unconstrained parameters as PyMC's transforms (log for the SDs, PyMC's zero-sum
transform for the group offsets), in one numba loop over the cells. At 1,000 prompts x 2
arms the gradient pytensor generates took 250 us per evaluation here, this one 75-90 us;
nutpie calls it as a C function, without Python or the GIL. Since it depends on the data
only through its arguments, numba caches its machine code on disk, where the PyMC model
had to be compiled again (14 s) for every design. ``tests/stats/test_binomial_kernel.py``
checks the density and gradient against PyMC's at random points.

This module imports no nutpie: :mod:`.nutpie_bridge` wraps the C callbacks below in
nutpie's (private) model classes, so a nutpie upgrade's risk sits there. The callbacks'
C signature and return codes (0 ok, 3 gradient not finite, 4 density not finite) are the
ones nutpie's ``LogpFunc``/``ExpandFunc`` call; they stay here, beside the functions they
call, because numba's on-disk cache of a function is invalidated only when *its own*
file changes: a cached callback in another file would keep stale machine code of a
density changed here.

Only the priors the kernel knows are supported (Normal intercept and effect, HalfNormal
group SDs, any parameters); :func:`supports` says when :mod:`bayeseffect.stats.fit` may
use it.
"""

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from bayeseffect.stats.caches import numba_cache_in_user_dir
from bayeseffect.stats.design import Design
from bayeseffect.stats.hierarchy import ARM_CODES, GROUP_TERMS
from bayeseffect.stats.kinds import KINDS
from bayeseffect.stats.priors import HierarchyPriors

ARM_CODE_BASE, ARM_CODE_INSTRUCT = ARM_CODES


def _cached(decorator: Any) -> Any:
    """Apply a numba ``cache=True`` decorator with its cache in the user's cache dir.

    By default numba caches beside this module, inside the installed package.
    """
    def apply(func: Any) -> Any:
        with numba_cache_in_user_dir():
            return decorator(func)
    return apply


def supports(design: Design, priors: HierarchyPriors | None) -> bool:
    """Whether the kernel implements this design's model with these priors."""
    priors = priors or KINDS[design.kind].priors
    return (design.kind == "binary"
            and priors.intercept.distribution == "Normal"
            and priors.effect.distribution == "Normal"
            and priors.group_sd.distribution == "HalfNormal"
            and set(priors.intercept.params) <= {"mu", "sigma"}
            and set(priors.effect.params) <= {"mu", "sigma"}
            and set(priors.group_sd.params) <= {"sigma"})


@dataclass(frozen=True)
class Layout:
    """Where each parameter sits in the unconstrained vector.

    Attributes
    ----------
    sizes
        Levels of each of the six group terms (:data:`~.hierarchy.GROUP_TERMS` order);
        0 for a term the model leaves out (fewer than two families or items).
    n_dim
        Length of the unconstrained vector: alpha, beta, then per present term its
        log SD and its ``levels - 1`` zero-sum coordinates.
    """

    sizes: tuple[int, ...]
    n_dim: int

    @classmethod
    def of(cls, design: Design) -> "Layout":
        """Return the layout of ``design``'s model."""
        levels = {"prompt": len(design.prompts), "family": len(design.families),
                  "item": len(design.items)}
        sizes = tuple(levels[dim] if levels[dim] >= 2 else 0 for _, _, dim in GROUP_TERMS)
        return cls(sizes=sizes, n_dim=2 + sum(size for size in sizes if size))


@_cached(numba.njit(cache=True, nogil=True))
def _extend(raw: np.ndarray, n: int, out: np.ndarray) -> None:  # pragma: no cover - compiled
    # PyMC's ZeroSumTransform.backward: n - 1 free coordinates to n values summing to 0.
    total = 0.0
    for k in range(n - 1):
        total += raw[k]
    root = math.sqrt(n)
    norm = total / (root + n)
    for k in range(n - 1):
        out[k] = raw[k] - norm
    out[n - 1] = -total / root


@_cached(numba.njit(cache=True, nogil=True))
def _extend_grad(grad_values: np.ndarray, n: int, out: np.ndarray) -> None:  # pragma: no cover
    root = math.sqrt(n)
    a = 1.0 / (root + n)
    total = 0.0
    for k in range(n):
        total += grad_values[k]
    last = grad_values[n - 1]
    shift = a * (total - last) + last / root
    for k in range(n - 1):
        out[k] = grad_values[k] - shift


@_cached(numba.njit(cache=True, nogil=True))
def logp_and_grad(x: np.ndarray, y: np.ndarray, trials: np.ndarray, prompt_index: np.ndarray,
                  arm_index: np.ndarray, family_index: np.ndarray, item_index: np.ndarray,
                  sizes: np.ndarray, priors: np.ndarray, centered: bool,
                  grad: np.ndarray) -> float:  # pragma: no cover - compiled
    """Log density (up to a constant) at unconstrained ``x``; its gradient goes to ``grad``.

    ``priors`` holds (intercept mu, intercept sigma, effect mu, effect sigma, group-SD
    sigma); ``sizes`` the levels of the six group terms (0 when absent).
    """
    alpha, beta = x[0], x[1]
    logp = (-0.5 * ((alpha - priors[0]) / priors[1]) ** 2
            - 0.5 * ((beta - priors[2]) / priors[3]) ** 2)
    grad[0] = -(alpha - priors[0]) / priors[1] ** 2
    grad[1] = -(beta - priors[2]) / priors[3] ** 2
    # Every term's values (z, or the centered offsets) and their scale, back to back in
    # one flat array; an absent term is one zero so that index 0 reads as no offset.
    starts = np.zeros(7, dtype=np.int64)
    for term in range(6):
        starts[term + 1] = starts[term] + max(sizes[term], 1)
    values = np.zeros(starts[6])
    scales = np.zeros(6)
    squares = np.zeros(6)
    cursor = 2
    for term in range(6):
        n = sizes[term]
        if n == 0:
            continue
        _extend(x[cursor + 1:cursor + n], n, values[starts[term]:starts[term + 1]])
        for k in range(starts[term], starts[term] + n):
            squares[term] += values[k] * values[k]
        scales[term] = math.exp(x[cursor])
        cursor += n
    multiplier = np.ones(6) if centered else scales
    # Per prompt first (its level and arm effect), so that the loop over cells, where
    # the time goes, does one exp and one log and touches two arrays.
    n_prompts = family_index.size
    level = np.empty(n_prompts)
    effect = np.empty(n_prompts)
    for j in range(n_prompts):
        g = family_index[j]
        i = item_index[j]
        level[j] = (alpha + multiplier[0] * values[starts[0] + j]
                    + multiplier[2] * values[starts[2] + g]
                    + multiplier[4] * values[starts[4] + i])
        effect[j] = (beta + multiplier[1] * values[starts[1] + j]
                     + multiplier[3] * values[starts[3] + g]
                     + multiplier[5] * values[starts[5] + i])
    grad_level = np.zeros(n_prompts)
    grad_effect = np.zeros(n_prompts)
    for c in range(y.size):
        j = prompt_index[c]
        code = ARM_CODE_INSTRUCT if arm_index[c] == 1 else ARM_CODE_BASE
        eta = level[j] + code * effect[j]
        e = math.exp(-abs(eta))
        r = 1.0 / (1.0 + e)
        # log(1 + e) = -log(r): softplus(eta) = max(eta, 0) + log1p(exp(-|eta|)).
        logp += y[c] * eta - trials[c] * (max(eta, 0.0) - math.log(r))
        d = y[c] - trials[c] * (r if eta >= 0 else e * r)
        grad_level[j] += d
        grad_effect[j] += code * d
    # Gradient with respect to each term's offsets, in the same flat layout.
    grad_offsets = np.zeros(starts[6])
    for j in range(n_prompts):
        g = family_index[j]
        i = item_index[j]
        grad_offsets[starts[0] + j] += grad_level[j]
        grad_offsets[starts[2] + g] += grad_level[j]
        grad_offsets[starts[4] + i] += grad_level[j]
        grad_offsets[starts[1] + j] += grad_effect[j]
        grad_offsets[starts[3] + g] += grad_effect[j]
        grad_offsets[starts[5] + i] += grad_effect[j]
        grad[0] += grad_level[j]
        grad[1] += grad_effect[j]
    sd_sigma = priors[4]
    cursor = 2
    for term in range(6):
        n = sizes[term]
        if n == 0:
            continue
        sd = scales[term]
        square = squares[term]
        # HalfNormal prior on the SD, with the log transform's Jacobian.
        logp += -0.5 * (sd / sd_sigma) ** 2 + x[cursor]
        grad_log_sd = -(sd / sd_sigma) ** 2 + 1.0
        inner = 0.0
        for k in range(starts[term], starts[term] + n):
            z = values[k]
            inner += grad_offsets[k] * z
            # The prior's pull on each value, then the chain rule to z (non-centered).
            if centered:
                grad_offsets[k] -= z / (sd * sd)
            else:
                grad_offsets[k] = sd * grad_offsets[k] - z
        if centered:
            logp += -0.5 * square / (sd * sd) - (n - 1) * x[cursor]
            grad_log_sd += square / (sd * sd) - (n - 1)
        else:
            logp += -0.5 * square
            grad_log_sd += sd * inner
        grad[cursor] = grad_log_sd
        _extend_grad(grad_offsets[starts[term]:starts[term] + n], n,
                     grad[cursor + 1:cursor + n])
        cursor += n
    return logp


#: Header of the data block the C callbacks receive (nutpie passes its address through as
#: ``user_data``): sizes, flags and array addresses.
HEADER = ("n_cells", "n_prompts", "centered", "size0", "size1", "size2", "size3", "size4",
          "size5", "y", "trials", "prompt_index", "arm_index", "family_index",
          "item_index", "priors")
# Positions for the compiled code (numba freezes module-level integers as constants).
_N_HEADER = len(HEADER)
_SIZES = HEADER.index("size0")
_Y, _TRIALS, _PROMPT, _ARM, _FAMILY, _ITEM, _PRIORS = (
    HEADER.index(name) for name in ("y", "trials", "prompt_index", "arm_index",
                                    "family_index", "item_index", "priors"))


def _pointer_typing(typingctx: Any, address: Any) -> Any:  # pragma: no cover - compiled
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.inttoptr(args[0], cgutils.voidptr_t)
    return types.voidptr(address), codegen


#: An integer address as a C pointer, for numba.carray.
_pointer: Any = intrinsic(_pointer_typing)


@_cached(numba.njit(cache=True))
def _unpack(user_data: Any) -> Any:  # pragma: no cover - compiled
    header = numba.carray(user_data, (_N_HEADER,), np.int64)
    n_cells, n_prompts = header[0], header[1]
    y = numba.carray(_pointer(header[_Y]), (n_cells,), np.float64)
    trials = numba.carray(_pointer(header[_TRIALS]), (n_cells,), np.float64)
    prompt_index = numba.carray(_pointer(header[_PROMPT]), (n_cells,), np.int64)
    arm_index = numba.carray(_pointer(header[_ARM]), (n_cells,), np.int64)
    family_index = numba.carray(_pointer(header[_FAMILY]), (n_prompts,), np.int64)
    item_index = numba.carray(_pointer(header[_ITEM]), (n_prompts,), np.int64)
    priors = numba.carray(_pointer(header[_PRIORS]), (5,), np.float64)
    return (y, trials, prompt_index, arm_index, family_index, item_index,
            header[_SIZES:_SIZES + 6], priors, header[2] != 0)


_LOGP_SIGNATURE = types.int64(types.uint64, types.CPointer(types.double),
                              types.CPointer(types.double), types.CPointer(types.double),
                              types.voidptr)
_EXPAND_SIGNATURE = types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                                types.CPointer(types.double), types.voidptr)


@_cached(numba.cfunc(_LOGP_SIGNATURE, cache=True))
def logp_callback(dim: int, x_: Any, out_: Any, logp_: Any,
                  user_data: Any) -> int:  # pragma: no cover - compiled
    """Nutpie's log density callback: the density and its gradient at ``x_`` (C ABI)."""
    (y, trials, prompt_index, arm_index, family_index, item_index, sizes, priors,
     centered) = _unpack(user_data)
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    logp = numba.carray(logp_, (1,))
    value = logp_and_grad(x, y, trials, prompt_index, arm_index, family_index, item_index,
                          sizes, priors, centered, out)
    logp[0] = value
    if not np.isfinite(value):
        return 4
    for k in range(dim):
        if not np.isfinite(out[k]):
            return 3
    return 0


@_cached(numba.njit(cache=True, nogil=True))
def expand(x: np.ndarray, sizes: np.ndarray,
           out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Write the constrained values in :func:`posterior_variables` order to ``out``.

    That is alpha, beta, then per present term its SD and its offsets.
    """
    out[0], out[1] = x[0], x[1]
    cursor, position = 2, 2
    for term in range(6):
        n = sizes[term]
        if n == 0:
            continue
        out[position] = math.exp(x[cursor])
        _extend(x[cursor + 1:cursor + n], n, out[position + 1:position + 1 + n])
        cursor += n
        position += 1 + n


@_cached(numba.cfunc(_EXPAND_SIGNATURE, cache=True))
def expand_callback(dim: int, expanded: int, x_: Any, out_: Any,
                    user_data: Any) -> int:  # pragma: no cover - compiled
    """Nutpie's expand callback: the constrained values of ``x_`` (C ABI)."""
    unpacked = _unpack(user_data)
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (expanded,))
    expand(x, unpacked[6], out)
    return 0


def posterior_variables(design: Design, *, centered: bool
                        ) -> tuple[list[str], list[tuple[int, ...]], dict[str, tuple[str, ...]]]:
    """Names, shapes and dims of the posterior variables, in :func:`expand`'s order.

    The names are PyMC's (``z_`` offsets when non-centered), so that both paths write
    the same posterior.
    """
    names: list[str] = ["alpha", "beta"]
    shapes: list[tuple[int, ...]] = [(), ()]
    dims: dict[str, tuple[str, ...]] = {}
    for (name, sd_name, dim), size in zip(GROUP_TERMS, Layout.of(design).sizes, strict=True):
        if size:
            offset = name if centered else f"z_{name}"
            names += [sd_name, offset]
            shapes += [(), (size,)]
            dims[offset] = (dim,)
    return names, shapes, dims


def pack(design: Design, *, priors: HierarchyPriors | None,
         centered: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pack the callbacks' data: contiguous arrays and the header that points at them.

    Parameters
    ----------
    design
        A binary design.
    priors
        Hierarchy priors (:func:`supports` must accept them).
    centered
        Centered or non-centered group offsets, as in :mod:`bayeseffect.stats.hierarchy`.

    Returns
    -------
    tuple
        ``(arrays, header)``: the arrays by :data:`HEADER` name and the int64 header
        (sizes, flags and the arrays' addresses) whose address the callbacks receive. The
        header holds raw addresses: keep ``arrays`` alive as long as it is used.
    """
    if not supports(design, priors) or design.trials is None:
        raise ValueError("the binomial kernel needs a binary design with Normal intercept "
                         "and effect priors and HalfNormal group SDs")
    priors = priors or KINDS["binary"].priors
    item_index = (design.item_index if len(design.items) >= 2
                  else np.zeros(len(design.prompts), dtype=np.int64))
    arrays = {
        "y": np.ascontiguousarray(design.y, dtype=np.float64),
        "trials": np.ascontiguousarray(design.trials, dtype=np.float64),
        "prompt_index": np.ascontiguousarray(design.prompt_index, dtype=np.int64),
        "arm_index": np.ascontiguousarray(design.arm_index, dtype=np.int64),
        "family_index": np.ascontiguousarray(design.family_index, dtype=np.int64),
        "item_index": np.ascontiguousarray(item_index, dtype=np.int64),
        "priors": np.array([
            priors.intercept.params.get("mu", 0.0), priors.intercept.params.get("sigma", 1.0),
            priors.effect.params.get("mu", 0.0), priors.effect.params.get("sigma", 1.0),
            priors.group_sd.params.get("sigma", 1.0)], dtype=np.float64),
    }
    header = np.zeros(len(HEADER), dtype=np.int64)
    header[:3] = (design.y.size, len(design.prompts), int(centered))
    header[_SIZES:_SIZES + 6] = Layout.of(design).sizes
    return arrays, point_header(header, arrays)


def point_header(header: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Return a copy of ``header`` holding the addresses of ``arrays``."""
    header = header.copy()
    for name, value in arrays.items():
        header[HEADER.index(name)] = value.ctypes.data
    return header
