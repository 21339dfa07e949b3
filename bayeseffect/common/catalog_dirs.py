"""Where the shipped catalogs (`models/`, `prompts/`) live, in a checkout or an installed wheel."""

from importlib.resources import files
from pathlib import Path


def catalog_dir(kind: str) -> Path:
    """Return the folder holding one catalog.

    Parameters
    ----------
    kind
        ``"models"`` or ``"prompts"``.

    Returns
    -------
    Path
        The folder: ``bayeseffect/_catalog/<kind>`` inside an installed wheel, else
        the top-level folder of the source checkout.

    """
    packaged = Path(str(files("bayeseffect"))) / "_catalog" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / kind
