"""Save and load a fit: posterior, sample statistics and estimand draws in one netCDF file."""

import contextlib
import os
import secrets
from pathlib import Path

import xarray as xr

from bayeseffect.os_errors import os_error


def save_fit(tree: xr.DataTree, path: Path) -> None:
    """Write the fit through a temporary file and a rename: never half-written.

    The temporary name is unique to this process and call, and the file is removed when
    the write fails (a full disk, Ctrl-C), so the previous posterior stays as it was.

    Raises
    ------
    BayesEffectError
        When the OS refuses the write, naming ``path``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tree.to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise os_error(exc, doing="writing", path=path,
                           retry="fit again (the previous posterior is intact)") from exc
        raise


def load_fit(path: Path) -> xr.DataTree:
    """Read a fit written by :func:`save_fit`, fully into memory."""
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load()
