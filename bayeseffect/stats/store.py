"""Save and load a fit: posterior, sample statistics and estimand draws in one netCDF file."""

from pathlib import Path

import xarray as xr

from bayeseffect.common.os_errors import replace_atomically


def save_fit(tree: xr.DataTree, path: Path) -> None:
    """Write the fit through a temporary file and a rename: never half-written.

    A failed write (a full disk, Ctrl-C) leaves no temporary file and the previous
    posterior as it was (:func:`~bayeseffect.common.os_errors.replace_atomically`).

    Raises
    ------
    BayesEffectError
        When the OS refuses the write, naming ``path``.
    """
    replace_atomically(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"),
                       retry="fit again (the previous posterior is intact)")


def load_fit(path: Path) -> xr.DataTree:
    """Read a fit written by :func:`save_fit`, fully into memory."""
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load()
