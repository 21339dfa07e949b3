"""A run's fits on disk: each posterior tied to the dataset it was fitted on.

``dataset.nc`` changes under a fit whenever ``sample`` resumes or re-scores a run (it is
rebuilt from the journal at the end of every ``sample``). A posterior therefore records
the content hash of the dataset it was fitted on, and is read only beside that same
dataset: a report of an old posterior next to cross-checks of new data would be wrong
without saying so. Reports are written all or nothing.
"""

import hashlib
import json
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayeseffect.errors import BayesEffectError

#: Attr of a posterior file (and key of ``fit.json``): the hash of the dataset fitted.
DATASET_HASH = "dataset_sha256"


def _plain(value: Any) -> Any:
    """Return a JSON-able form of an attr value (netCDF gives numpy scalars and arrays)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _attrs_json(attrs: Mapping[Any, Any]) -> bytes:
    return json.dumps({str(k): _plain(v) for k, v in attrs.items()}, sort_keys=True,
                      default=str).encode("utf-8")


def _values_bytes(values: np.ndarray) -> bytes:
    """Canonical bytes of an array's values, independent of how netCDF typed them.

    Text is hashed as its strings (numpy ``<U`` in memory, Python objects once read
    back), numbers by value class at a fixed width, every NaN as the same NaN.
    """
    kind = values.dtype.kind
    if kind in "OUS":
        text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in values.ravel().tolist()]
        return b"text" + json.dumps(text).encode("utf-8")
    if kind == "b":
        return b"bool" + values.astype(np.uint8).tobytes()
    if kind in "iu":
        return b"int" + values.astype("<i8").tobytes()
    if kind == "f":
        floats = values.astype("<f8")
        return b"float" + np.where(np.isnan(floats), np.nan, floats).tobytes()
    return b"other" + json.dumps([str(v) for v in values.ravel().tolist()]).encode("utf-8")


def dataset_sha256(ds: xr.Dataset) -> str:
    """Return the sha256 of a dataset's content: every variable, coordinate and attr.

    Hashing the content, not the file's bytes, makes the hash the same for identical
    data however often ``sample`` rewrites ``dataset.nc`` (HDF5 files carry their own
    write times and layout), and different as soon as a response, a score, a prompt or
    a provenance attr differs.

    Parameters
    ----------
    ds
        The dataset, as :func:`bayeseffect.data.dataset.load_dataset` returns it.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    for name in sorted(str(n) for n in ds.variables):
        var = ds.variables[name]
        values = np.asarray(var.values)
        header = json.dumps([name, list(map(str, var.dims)), list(values.shape)])
        for part in (header.encode("utf-8"), _attrs_json(var.attrs), _values_bytes(values)):
            # Length-prefixed, so that no two different contents concatenate alike.
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    attrs = _attrs_json(ds.attrs)
    digest.update(len(attrs).to_bytes(8, "little"))
    digest.update(attrs)
    return digest.hexdigest()


def load_posterior(path: Path, ds: xr.Dataset, *, refit: str) -> xr.DataTree:
    """Read a fit written by ``fit`` and check that it was fitted on ``ds``.

    Parameters
    ----------
    path
        The posterior file (``posterior.nc`` or ``posterior-<outcome>.nc``).
    ds
        The run's current dataset.
    refit
        The command that refits it, quoted in the errors.

    Returns
    -------
    xarray.DataTree
        The fit, fully loaded.

    Raises
    ------
    BayesEffectError
        When the file cannot be read, or was fitted on another dataset (or before
        posteriors recorded theirs).
    """
    from bayeseffect.stats.store import load_fit

    try:
        fit = load_fit(path)
    except (OSError, ValueError, KeyError) as exc:
        # h5py raises OSError on a truncated or foreign file ("truncated file", "file
        # signature not found"); h5netcdf and xarray raise ValueError or KeyError on
        # an HDF5 file whose structure is broken.
        raise BayesEffectError(f"{path.name} is damaged ({type(exc).__name__}); refit with "
                               f"`{refit}`") from exc
    fitted = fit.attrs.get(DATASET_HASH)
    if fitted is None:
        raise BayesEffectError(f"{path.name} does not record which dataset it was fitted on "
                               f"(an older bayeseffect wrote it); refit with `{refit}`")
    if str(fitted) != dataset_sha256(ds):
        raise BayesEffectError(f"{path.name} was fitted on an earlier dataset.nc (the run was "
                               f"resumed or re-scored since); refit with `{refit}`")
    return fit


def require_writable(folder: Path) -> None:
    """Raise a one-line error unless a file can be created in ``folder``.

    A real file, not ``os.access``: that answers yes to root on a read-only mount or an
    immutable folder.
    """
    probe = folder / f".write-check-{secrets.token_hex(4)}"
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise BayesEffectError(f"cannot write in {folder} ({exc.strerror or exc}); make it "
                               "writable, or copy the run somewhere writable and use that "
                               "copy") from exc


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """Yield a new empty folder that replaces ``final`` when the block succeeds.

    On an error (or Ctrl-C) the new folder is removed and ``final`` stays as it was.
    Sub-folders of the old ``final`` that the new one lacks (the other outcomes'
    reports in ``report/<outcome>/``) are moved into it first.

    Parameters
    ----------
    final
        The folder to write (``report/`` or ``report/<outcome>/``).

    Yields
    ------
    Path
        Where to write, beside ``final`` (same file system, so the swap is renames).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = final.with_name(f".{final.name}.new-{secrets.token_hex(4)}")
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if not final.exists():
        stage.rename(final)
        return
    for child in final.iterdir():
        if child.is_dir() and not child.name.startswith(".") \
                and not (stage / child.name).exists():
            child.rename(stage / child.name)
    old = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
    final.rename(old)
    stage.rename(final)
    shutil.rmtree(old, ignore_errors=True)
