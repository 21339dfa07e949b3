"""One-line errors for what the operating system refuses: a full disk, a read-only folder.

Every file a run writes (its folder, manifest, prompts, journal, dataset, fit) can fail for
reasons the user fixes outside bayeseffect. They get one line naming the path, the OS's
reason and what to do, instead of a traceback; the journal makes "run it again" safe.
"""

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bayeseffect.errors import BayesEffectError

#: What to do after the OS refused, by errno; ``{retry}`` is the caller's way to go on.
_ADVICE = {
    errno.ENOSPC: "free space and {retry}",
    errno.EDQUOT: "free space (your disk quota is used up) and {retry}",
    errno.EFBIG: "raise the file size limit (ulimit -f) and {retry}",
    errno.EROFS: "give a folder on a writable file system with --out, or remount it "
                 "writable and {retry}",
    errno.EACCES: "make the folder writable for you, or give another --out",
    errno.EPERM: "make the folder writable for you, or give another --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder; give another --out",
    errno.EEXIST: "a part of the path is a file, not a folder; give another --out",
    errno.ENOENT: "give a folder whose parent exists and accepts new folders with --out",
}

#: How most callers go on: the journal keeps every finished response.
RETRY = "run the same command again"


def os_error(exc: OSError, *, doing: str, path: Path, retry: str = RETRY) -> BayesEffectError:
    """Return the one-line error for an OS failure on ``path``.

    Parameters
    ----------
    exc
        What the OS raised.
    doing
        What was being done, e.g. ``"writing"`` or ``"creating the run directory"``.
    path
        The file or folder concerned.
    retry
        How to go on once fixed, e.g. ``"run the same command to resume"``.

    Returns
    -------
    BayesEffectError
        ``"<reason> <doing> <path>: <what to do>"``, e.g. "no space left on device writing
        runs/x/responses.jsonl: free space and run the same command to resume".
    """
    reason = (exc.strerror or type(exc).__name__).lower()
    advice = _ADVICE.get(exc.errno or -1, "fix the cause and {retry}").format(retry=retry)
    return BayesEffectError(f"{reason} {doing} {path}: {advice}")


@contextmanager
def reporting_os_errors(path: Path, *, doing: str = "writing",
                        retry: str = RETRY) -> Iterator[None]:
    """Turn an :class:`OSError` raised inside the block into :func:`os_error`'s error."""
    try:
        yield
    except OSError as exc:
        raise os_error(exc, doing=doing, path=path, retry=retry) from exc


def replace_atomically(path: Path, write: Callable[[Path], None], *,
                       retry: str = RETRY) -> None:
    """Write ``path`` through ``write(temporary)`` and a rename: never half-written.

    The temporary file sits beside ``path`` under a name unique to this process and call
    (two writers never share one), and it is removed when the write fails, Ctrl-C
    included, so ``path`` keeps its previous content.

    Parameters
    ----------
    path
        The file to replace.
    write
        Writes the whole new content to the temporary file it is given.
    retry
        How to go on once an OS refusal is fixed (see :func:`os_error`).

    Raises
    ------
    BayesEffectError
        When the OS refuses (a full disk, a read-only folder), naming ``path``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise os_error(exc, doing="writing", path=path, retry=retry) from exc
        raise
