"""The append-only response journal: every completed response, one JSON line, durable at once.

A response is appended, flushed and fsynced the moment it finishes, so an interrupt or a
crash loses at most the response being generated. A torn final line (a crash mid-write)
is cut off when the journal is reopened; duplicated keys keep their first record.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self


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


def read_journal(path: Path) -> dict[tuple[str, str, int], ResponseRecord]:
    """Read every complete record of a journal, keyed by cell; a torn last line is ignored.

    Parameters
    ----------
    path
        The journal file; a missing file reads as empty.

    Returns
    -------
    dict
        (arm, prompt_id, replicate) -> record, first record per key.

    """
    records: dict[tuple[str, str, int], ResponseRecord] = {}
    if not path.exists():
        return records
    for record in _iter_records(path):
        records.setdefault(record.key, record)
    return records


def _iter_records(path: Path) -> Iterator[ResponseRecord]:
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                return
            yield ResponseRecord(**json.loads(line))


def _cut_torn_tail(path: Path) -> None:
    if not path.exists():
        return
    with path.open("rb+") as handle:
        data = handle.read()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            handle.truncate(keep)


class JournalWriter:
    """Appends records durably; use as a context manager.

    Parameters
    ----------
    path
        The journal file, created when missing.

    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: BinaryIO | None = None

    def __enter__(self) -> Self:
        _cut_torn_tail(self._path)
        self._handle = self._path.open("ab")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def append(self, record: ResponseRecord) -> None:
        """Write one record and make it durable before returning."""
        handle = self._handle
        if handle is None:
            raise RuntimeError("JournalWriter.append called outside its context")
        line = json.dumps(asdict(record), ensure_ascii=False, sort_keys=True) + "\n"
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
