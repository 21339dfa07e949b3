"""Where compiled code and generated source go: the user's cache directory.

numba's default ``cache=True`` location is the ``__pycache__`` folder beside the
module, inside the installed package (read-only or shared in many installs), and
PyTensor writes every generated function's source to the system temporary directory
and never removes it. Both are redirected here, each only while our own code compiles:
importing bayeseffect changes neither library's settings for anyone else.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bayeseffect`` (``~/.cache/bayeseffect`` when unset or relative)."""
    root = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative path.
    base = Path(root) if root and Path(root).is_absolute() else Path.home() / ".cache"
    return base / "bayeseffect"


@contextmanager
def numba_cache_in_user_dir() -> Iterator[None]:
    """Make ``cache=True`` functions decorated inside this block cache in the user's dir.

    numba fixes a function's cache location when it is decorated (from
    ``numba.config.CACHE_DIR``, which ``NUMBA_CACHE_DIR`` sets), so the setting is
    restored right after. A ``NUMBA_CACHE_DIR`` the user chose is kept.
    """
    from numba.core import config as numba_config

    # numba fills its config module's attributes at run time, from the environment.
    config: Any = numba_config
    if config.CACHE_DIR:
        yield
        return
    config.CACHE_DIR = str(user_cache_dir() / "numba")
    try:
        yield
    finally:
        config.CACHE_DIR = ""


@contextmanager
def generated_source_in_user_dir() -> Iterator[None]:
    """Write PyTensor's generated source into the user's cache dir while this block runs.

    There the files are content-addressed (one per distinct function, reused by later
    fits) and PyTensor prunes the ones unused for a week; by default each compile leaves
    new files in the system temporary directory. A ``generated_src_dir`` the user set
    (``PYTENSOR_FLAGS``) is kept.
    """
    import pytensor

    if pytensor.config.generated_src_dir:
        yield
        return
    with pytensor.config.change_flags(generated_src_dir=str(user_cache_dir() / "pytensor-src")):
        yield
