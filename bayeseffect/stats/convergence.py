"""Rank-normalized split R-hat, bulk ESS and tail ESS, vectorized over parameters.

The same estimators as Vehtari et al. (2021) and ArviZ, computed for every parameter at
once. ArviZ loops over parameters in Python: for the 4,000 parameters of a 1,000-prompt
fit that took 10 of a 60-second fit here, this takes well under one.

Tail ESS is the smaller ESS of the 5% and 95% quantiles, as in the paper. (ArviZ 1's
``ess(method="tail")`` uses its credible-interval probability instead, 0.89 by default,
so it gates the 11% and 89% quantiles.)
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import fft, special, stats

#: Quantiles whose ESS is the tail ESS (Vehtari et al. 2021).
TAIL_QUANTILES = (0.05, 0.95)
#: Fewest parameters per thread worth a thread of their own.
PARAMS_PER_THREAD = 200


def _split(draws: np.ndarray) -> np.ndarray:
    """(param, chain, draw) -> (param, 2 * chain, draw // 2), the middle draw dropped if odd."""
    half = draws.shape[2] // 2
    return np.concatenate([draws[:, :, :half], draws[:, :, -half:]], axis=1)


def _ranks(flat: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) along axis 1: one sort, and scipy only for rows with ties."""
    order = np.argsort(flat, axis=1)
    rows = np.arange(flat.shape[0])[:, None]
    ranks = np.empty(flat.shape)
    ranks[rows, order] = np.arange(1, flat.shape[1] + 1, dtype=float)
    ordered = flat[rows, order]
    tied = (np.diff(ordered, axis=1) == 0).any(axis=1)
    if tied.any():
        ranks[tied] = stats.rankdata(flat[tied], method="average", axis=1)
    return ranks


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Rank-normalize each parameter's pooled draws (average ranks for ties, Blom offset)."""
    n_param, n_chain, n_draw = draws.shape
    ranks = _ranks(draws.reshape(n_param, -1))
    size = n_chain * n_draw
    return special.ndtri((ranks - 0.375) / (size + 0.25)).reshape(draws.shape)


def _rhat(draws: np.ndarray) -> np.ndarray:
    n_draw = draws.shape[2]
    between = n_draw * np.var(draws.mean(axis=2), axis=1, ddof=1)
    within = np.mean(np.var(draws, axis=2, ddof=1), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant parameter: NaN
        return np.sqrt((between / within + n_draw - 1) / n_draw)


def _ess(draws: np.ndarray) -> np.ndarray:
    """ESS by Geyer's initial monotone sequence on the autocovariance (Stan's estimator)."""
    n_param, n_chain, n_draw = draws.shape
    centered = draws - draws.mean(axis=2, keepdims=True)
    size = fft.next_fast_len(2 * n_draw, real=True)
    spectrum = fft.rfft(centered, n=size, axis=2)
    acov = fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=2)[:, :, :n_draw] / n_draw
    mean_var = acov[:, :, 0].mean(axis=1) * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus = var_plus + np.var(draws.mean(axis=2), axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov.mean(axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0
    n_pairs = n_draw // 2
    pairs = rho[:, : 2 * n_pairs].reshape(n_param, n_pairs, 2).sum(axis=2)
    # The sum stops before the first pair of lags whose sum is not positive, and at the
    # last pair Stan's loop reaches (lag 2k - 1 < n_draw - 3).
    last_pair = max(min((n_draw - 2) // 2 - (1 if (n_draw - 2) % 2 == 0 else 0), n_pairs - 1),
                    1)
    candidates = pairs[:, 1: last_pair + 1] <= 0
    stop = np.where(candidates.any(axis=1), candidates.argmax(axis=1) + 1, last_pair)
    monotone = np.minimum.accumulate(pairs, axis=1)
    kept = np.arange(n_pairs)[None, :] < stop[:, None]
    even_at_stop = rho[np.arange(n_param), 2 * stop]
    tau = -1.0 + 2.0 * np.where(kept, monotone, 0.0).sum(axis=1) + np.maximum(even_at_stop, 0.0)
    total = n_chain * n_draw
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = total / tau
    ess[np.isnan(rho).any(axis=1)] = np.nan
    constant = np.ptp(draws.reshape(n_param, -1), axis=1) < np.finfo(float).resolution
    ess[constant] = total
    return ess


def _as_params(draws: np.ndarray) -> np.ndarray:
    draws = np.asarray(draws, dtype=float)
    if draws.ndim == 2:
        draws = draws[None]
    if draws.ndim != 3 or draws.shape[2] < 4:
        raise ValueError("draws must be (param, chain, draw) with at least 4 draws per chain")
    return draws


def gate_statistics(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-hat, bulk ESS and tail ESS of every parameter, sharing the rank normalization.

    Large arrays are split over the CPU cores by parameter: sorting and FFTs release the
    GIL, so threads run them in parallel (4.6 s instead of 10.5 s for 4,000 parameters
    x 4 chains x 1,000 draws on 2 cores here).

    Parameters
    ----------
    draws
        ``(param, chain, draw)``.

    Returns
    -------
    tuple of numpy.ndarray
        :func:`rank_rhat`, :func:`bulk_ess` and :func:`tail_ess`, each ``(param,)``.
    """
    draws = _as_params(draws)
    workers = min(os.cpu_count() or 1, max(1, draws.shape[0] // PARAMS_PER_THREAD))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(_gate_statistics, np.array_split(draws, workers)))
        return tuple(np.concatenate(values) for values in zip(*parts, strict=True))  # type: ignore[return-value]
    return _gate_statistics(draws)


def _gate_statistics(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    split = _split(draws)
    z = _z_scale(split)
    return _rank_rhat(split, z), _ess(z), tail_ess(draws)


def _rank_rhat(split: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Bulk (``z``, the rank-normalized ``split``) and folded R-hat, the larger of the two."""
    median = np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None]
    return np.maximum(_rhat(z), _rhat(_z_scale(np.abs(split - median))))


def rank_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalized split R-hat, the larger of its bulk and folded (tail) versions.

    Parameters
    ----------
    draws
        ``(param, chain, draw)`` (or ``(chain, draw)`` for one parameter).

    Returns
    -------
    numpy.ndarray
        ``(param,)``.
    """
    split = _split(_as_params(draws))
    return _rank_rhat(split, _z_scale(split))


def bulk_ess(draws: np.ndarray) -> np.ndarray:
    """Bulk ESS: ESS of the rank-normalized split chains, ``(param,)``."""
    return _ess(_z_scale(_split(_as_params(draws))))


def tail_ess(draws: np.ndarray) -> np.ndarray:
    """Tail ESS: the smaller ESS of the indicators of the 5% and 95% quantiles, ``(param,)``."""
    draws = _as_params(draws)
    flat = draws.reshape(draws.shape[0], -1)
    result = np.full(draws.shape[0], np.inf)
    for prob in TAIL_QUANTILES:
        quantile = np.quantile(flat, prob, axis=1)[:, None, None]
        result = np.minimum(result, _ess(_split((draws <= quantile).astype(float))))
    return result
