"""A response cache shared by every run: what was generated once is never generated again.

A response is stored under a key that hashes everything that determines it: the model
file's sha256 (so a changed file under the same name is never reused), how the arm is
prompted (the chat template itself is inside the hashed file), the llama.cpp and
llama-cpp-python versions or the server that answered, every sampling option (threads and
batch size included), the question, the seed, and the composition of the batch it was
decoded in (batching can change the last bits of the logits). A run with one changed
option therefore redoes exactly the responses that option affects.

SQLite (standard library) keeps it in one file that several processes may share.

The cache only saves time: a file that cannot be opened, read or written (garbage at its
path, a read-only file or folder, a full disk, a lock held too long) raises
:class:`ResponseCacheError`, on which sampling warns once and goes on without it.
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.types import Completion, Request


class ResponseCacheError(BayesEffectError):
    """The response cache cannot be used; sampling goes on without it."""


def cell_key(context: Mapping[str, Any], request: Request, batch: Sequence[Request]) -> str:
    """Return the cache key of one response.

    Parameters
    ----------
    context
        What determines every response of an arm: model hash, prompting, engine versions,
        sampling options.
    request
        The response's question and seed.
    batch
        Every request decoded together with it, in order; ignored when the context's
        ``batch_layout`` is ``None`` (an OpenAI-compatible server).

    Returns
    -------
    str
        A sha256 hex digest.
    """
    # llama.cpp's batched decode rounds by batch, so the batch is a determinant there; a
    # server answers each request on its own, which its context says with a batch layout
    # of None, so there the batch (and with it --batch-size) stays out of the key.
    together = batch if context.get("batch_layout", 0) is not None else ()
    payload = {"context": context, "question": request.question, "seed": request.seed,
               "batch": [[r.question, r.seed] for r in together]}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Completions by key, in one SQLite file.

    Parameters
    ----------
    path
        The database file; created with its folder when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._failing_as("opened"):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30)
            try:
                self._db.execute("CREATE TABLE IF NOT EXISTS responses "
                                 "(key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
                self._db.commit()
            except sqlite3.Error:
                self._db.close()
                raise

    @contextmanager
    def _failing_as(self, what: str) -> Iterator[None]:
        try:
            yield
        # ValueError and TypeError: a stored value that is not a completion.
        except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
            raise ResponseCacheError(f"the response cache {self.path} cannot be {what}: "
                                     f"{exc}") from exc

    def get_many(self, keys: Sequence[str]) -> dict[str, Completion]:
        """Return the cached completions among ``keys``.

        Raises
        ------
        ResponseCacheError
            When the database cannot be read.
        """
        found: dict[str, Completion] = {}
        with self._failing_as("read"):
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, completion FROM responses WHERE key IN ({marks})", chunk)
                for key, value in rows:
                    found[key] = Completion(**json.loads(value))
        return found

    def put_many(self, items: Mapping[str, Completion]) -> None:
        """Store completions (an existing key keeps its first value).

        Raises
        ------
        ResponseCacheError
            When the database cannot be written (nothing of ``items`` is then stored).
        """
        with self._failing_as("written"):
            try:
                self._db.executemany("INSERT OR IGNORE INTO responses VALUES (?, ?)",
                                     [(k, json.dumps(asdict(c))) for k, c in items.items()])
                self._db.commit()
            except sqlite3.Error:
                with suppress(sqlite3.Error):
                    self._db.rollback()
                raise

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/bayeseffect/responses.sqlite`` (``~/.cache`` when unset)."""
    import os

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "bayeseffect" / "responses.sqlite"
