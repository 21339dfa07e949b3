"""Fit the binary model to a dataset and save the posterior with its provenance."""

import json
from pathlib import Path

import xarray as xr

from bayeseffect.stats.binary import BinaryPriors, binary_cells, build_binary_model
from bayeseffect.stats.fit import FitResult, SamplerSettings, fit_with_gates

GATED_PARAMETERS = ["alpha", "beta", "sd_prompt", "sd_prompt_slope", "z_prompt",
                    "z_prompt_slope", "sd_family", "sd_family_slope", "z_family",
                    "z_family_slope", "total_effect"]


def fit_binary_dataset(
    ds: xr.Dataset,
    *,
    settings: SamplerSettings | None = None,
    priors: BinaryPriors | None = None,
    seed: int = 0,
    progressbar: bool = False,
) -> FitResult:
    """Fit the hierarchical binomial-logit model to the dataset's primary outcome.

    Parameters
    ----------
    ds
        A contract dataset with a binary primary outcome.
    settings
        First attempt's sampler settings.
    priors
        Prior settings.
    seed
        Sampler seed.
    progressbar
        Show the sampler's progress.

    Returns
    -------
    FitResult
        The gated fit; the dataset's provenance is copied into the posterior's attrs.

    """
    cells = binary_cells(ds, str(ds.attrs["primary_outcome"]))
    model_vars = GATED_PARAMETERS if len(cells.families) > 1 else [
        v for v in GATED_PARAMETERS if "family" not in v]
    result = fit_with_gates(
        lambda: build_binary_model(cells, priors=priors),
        settings=settings or SamplerSettings(), seed=seed, var_names=model_vars,
        effect="total_effect", progressbar=progressbar,
    )
    result.idata.attrs.update({key: value for key, value in ds.attrs.items()})
    result.idata.attrs["fit_attempts"] = json.dumps([vars(a) for a in result.attempts])
    result.idata.attrs["fit_gates"] = json.dumps(result.diagnostics.to_list())
    result.idata.attrs["fit_seed"] = seed
    return result


def save_posterior(idata: xr.DataTree, path: Path) -> None:
    """Write the posterior as netCDF through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    idata.to_netcdf(tmp, engine="h5netcdf")
    tmp.replace(path)


def load_posterior(path: Path) -> xr.DataTree:
    """Read a posterior written by :func:`save_posterior`, fully into memory."""
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load()
