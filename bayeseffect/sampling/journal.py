"""The append-only response journal: every completed response, one JSON line, durable at once.

A response is appended, flushed and fsynced the moment it finishes, so an interrupt or a
crash loses at most the response being generated. A torn final line (a crash mid-write)
is cut off when the journal is reopened; duplicated keys keep their first record. A
complete line that is not a record (blank, not JSON, missing fields: an editor, a disk
error) is skipped and reported, never fatal: its cell is simply sampled again. The line
stays in the file, since the journal is the run's only copy of its responses.
"""

import json
import os
import stat
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bayeseffect.common.os_errors import os_error, reporting_os_errors

#: How a journal write failure tells the user to go on.
RESUME = "run the same command to resume"


@dataclass(frozen=True)
class ResponseRecord:
    """One completed generation.

    Attributes
    ----------
    arm
        ``base`` or ``instruct``.
    prompt_id
        The item's identifier.
    replicate
        Replicate index, 0-based.
    seed
        The sampler seed used for this response.
    text
        The generated text.
    n_prompt_tokens
        Tokens in the rendered prompt.
    n_completion_tokens
        Tokens generated.
    finish_reason
        ``stop`` (end of text or a stop string) or ``length`` (hit the token limit).
    rendered_prompt_sha256
        Hash of the exact text the model saw.
    seconds
        Wall time of the generation.

    """

    arm: str
    prompt_id: str
    replicate: int
    seed: int
    text: str
    n_prompt_tokens: int
    n_completion_tokens: int
    finish_reason: str
    rendered_prompt_sha256: str
    seconds: float

    @property
    def key(self) -> tuple[str, str, int]:
        """The cell this response fills: (arm, prompt_id, replicate)."""
        return (self.arm, self.prompt_id, self.replicate)


@dataclass(frozen=True)
class JournalScan:
    """What reading a journal found.

    Attributes
    ----------
    records
        (arm, prompt_id, replicate) -> record, first record per key.
    bad_lines
        1-based numbers of the complete lines that are not records, in file order.
    """

    records: dict[tuple[str, str, int], ResponseRecord]
    bad_lines: tuple[int, ...]

    def describe_bad_lines(self, path: Path) -> str:
        """One line for the user about the skipped lines (``""`` when there are none)."""
        if not self.bad_lines:
            return ""
        shown = ", ".join(str(n) for n in self.bad_lines[:10])
        more = f", ... ({len(self.bad_lines)} in all)" if len(self.bad_lines) > 10 else ""
        noun = "line" if len(self.bad_lines) == 1 else "lines"
        return (f"{path}: skipped {len(self.bad_lines)} unreadable {noun} ({noun} {shown}"
                f"{more}): not a response record; their cells are sampled again")


def scan_journal(path: Path) -> JournalScan:
    """Read every complete record of a journal and note the lines that are not records.

    A torn last line (no newline: a crash mid-write) is neither a record nor a bad line;
    :class:`JournalWriter` cuts it off.

    Parameters
    ----------
    path
        The journal file; a missing file reads as empty.

    Returns
    -------
    JournalScan
        The records, first per key, and the numbers of the bad lines.
    """
    records: dict[tuple[str, str, int], ResponseRecord] = {}
    bad: list[int] = []
    if not path.exists():
        return JournalScan(records, ())
    with reporting_os_errors(path, doing="reading"), path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break
            record = _parse(line)
            if record is None:
                bad.append(number)
            else:
                records.setdefault(record.key, record)
    return JournalScan(records, tuple(bad))


def read_journal(path: Path) -> dict[tuple[str, str, int], ResponseRecord]:
    """Read every complete record of a journal, keyed by cell; bad and torn lines are skipped.

    Parameters
    ----------
    path
        The journal file; a missing file reads as empty.

    Returns
    -------
    dict
        (arm, prompt_id, replicate) -> record, first record per key.

    """
    return scan_journal(path).records


_ACCEPTED: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float)}
#: Each field of a record and the JSON types its value may have.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {f.name: _ACCEPTED[f.type]
                                              for f in fields(ResponseRecord)}


def _parse(line: bytes) -> ResponseRecord | None:
    """Return the record on one line, or None when it holds none (bad JSON, a missing field)."""
    try:
        data: Any = json.loads(line)
    except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        return None
    if not isinstance(data, dict):
        return None
    values: dict[str, Any] = {}
    for name, types in _FIELD_TYPES.items():
        value = data.get(name)
        # bool is an int to isinstance, but never a replicate or a token count.
        if not isinstance(value, types) or isinstance(value, bool):
            return None
        values[name] = value
    # Unknown extra fields are ignored: a newer version may add some.
    return ResponseRecord(**values)


def _cut_torn_tail(path: Path) -> None:
    """Truncate the journal after its last newline; reads only its tail, not the whole file."""
    if not path.exists():
        return
    with path.open("rb+", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return
        end = info.st_size
        position = end
        while position > 0:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = position + newline + 1
                break
        else:
            keep = 0
        if keep != end:
            handle.truncate(keep)
            os.fsync(handle.fileno())


class JournalWriter:
    """Appends records durably; use as a context manager.

    Parameters
    ----------
    path
        The journal file, created when missing.

    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def __enter__(self) -> Self:
        with reporting_os_errors(self._path, retry=RESUME):
            _cut_torn_tail(self._path)
            # Unbuffered: a failed write leaves nothing in a buffer for close() to retry
            # (and fail again) on the way out.
            self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def append(self, record: ResponseRecord) -> None:
        """Write one record and make it durable before returning.

        Raises
        ------
        BayesEffectError
            When the OS refuses the write (a full disk...); the file is cut back to its
            last complete line, so it holds no half record.
        """
        fd = self._fd
        if fd is None:
            raise RuntimeError("JournalWriter.append called outside its context")
        line = json.dumps(asdict(record), ensure_ascii=False, sort_keys=True) + "\n"
        data = line.encode("utf-8")
        before = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError as exc:
            _truncate_quietly(fd, before)
            raise os_error(exc, doing="writing", path=self._path, retry=RESUME) from exc

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _truncate_quietly(fd: int, size: int) -> None:
    """Cut a half-written record off, when the OS lets us (the next open would anyway)."""
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, size)
    except OSError:
        pass
