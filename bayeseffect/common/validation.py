"""Checks of user input shared by the commands: each fails with one line, before any work.

They run before anything is written or requested, so a bad value never leaves a run
directory that every resume would trip over again.
"""

import math
from urllib.parse import urlsplit

from bayeseffect.errors import BayesEffectError

#: Largest seed accepted. Every consumer of the seed takes it: numpy's ``SeedSequence``
#: (prompt sets, effect draws, plans; no negatives), nutpie's unsigned 64-bit seed (the
#: fit's retries add their index, at most 3, which still fits), PyMC's prior predictive,
#: the per-response seeds (a hash of its decimal text), and the ``seed``,
#: ``prompt_set_seed`` and ``fit_seed`` attributes of ``dataset.nc`` and ``posterior.nc``,
#: which netCDF stores as signed 64-bit integers: that last one sets the bound.
MAX_SEED = 2**63 - 1


def check_seed(seed: int, *, option: str = "--seed") -> None:
    """Raise a one-line error unless ``0 <= seed <= MAX_SEED``.

    Parameters
    ----------
    seed
        The seed.
    option
        How the user gave it, for the message.

    Raises
    ------
    BayesEffectError
        When the seed is not an integer in range.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise BayesEffectError(f"{option} must be an integer from 0 to 2**63 - 1 "
                               f"({MAX_SEED}), not {seed}")


def check_finite(value: float, *, option: str) -> None:
    """Raise a one-line error when ``value`` is NaN or infinite.

    Such a value would be written to ``run.json`` as ``NaN`` or ``Infinity``, which is not
    JSON, and means nothing as a sampling option or an assumption.
    """
    if not math.isfinite(value):
        raise BayesEffectError(f"{option} must be a finite number, not {value}")


def check_nonnegative(value: float, *, option: str) -> None:
    """Raise a one-line error unless ``value`` is finite and 0 or more."""
    check_finite(value, option=option)
    if value < 0:
        raise BayesEffectError(f"{option} must be 0 or more, not {value:g}")


def check_positive(value: float, *, option: str) -> None:
    """Raise a one-line error unless ``value`` is finite and more than 0."""
    check_finite(value, option=option)
    if value <= 0:
        raise BayesEffectError(f"{option} must be more than 0, not {value:g}")


def check_probability_mass(value: float, *, option: str) -> None:
    """Raise a one-line error unless ``0 < value < 1`` (an interval's mass)."""
    if not 0 < value < 1:  # also false for NaN
        raise BayesEffectError(f"{option} must lie between 0 and 1, not {value:g}")


def check_server_url(url: str, *, option: str) -> str:
    """Return ``url`` when it is an ``http(s)://host[:port][/path]`` URL, else fail.

    Anything else would only fail after every retry (``127.0.0.1:8000`` has no scheme),
    or not fail at all (``file:///...`` would read local files as server answers).

    Parameters
    ----------
    url
        The server's root URL.
    option
        How the user gave it (``--base-url``), for the message.

    Returns
    -------
    str
        ``url`` unchanged.

    Raises
    ------
    BayesEffectError
        When the URL is not an http or https URL with a host, has a bad port, or carries
        a query or fragment (the API paths are appended to it).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        hint = f"; did you mean http://{url}?" if "://" not in url else ""
        raise BayesEffectError(f"{option} must be an http:// or https:// URL with a host, "
                               f"e.g. http://127.0.0.1:8000, not {url!r}{hint}")
    try:
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError as exc:
        raise BayesEffectError(f"{option} {url!r} has an invalid port: {exc}") from exc
    if parts.query or parts.fragment:
        raise BayesEffectError(f"{option} {url!r} must not carry a query or fragment; give "
                               "the server's root, e.g. http://127.0.0.1:8000")
    return url
