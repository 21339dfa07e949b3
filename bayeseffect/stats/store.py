"""Save and load a fit: posterior, sample statistics and estimand draws in one netCDF file."""

from pathlib import Path

import xarray as xr


def save_fit(tree: xr.DataTree, path: Path) -> None:
    """Write the fit through a temporary file and a rename: never half-written."""
    tmp = path.with_name(f".{path.name}.tmp")
    tree.to_netcdf(tmp, engine="h5netcdf")
    tmp.replace(path)


def load_fit(path: Path) -> xr.DataTree:
    """Read a fit written by :func:`save_fit`, fully into memory."""
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load()
