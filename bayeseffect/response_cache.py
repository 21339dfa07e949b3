"""A response cache shared by every run: what was generated once is never generated again.

A response is stored under a key that hashes everything that determines it: the model
file's sha256 (so a changed file under the same name is never reused), how the arm is
prompted (the chat template itself is inside the hashed file), the llama.cpp and
llama-cpp-python versions or the server that answered, every sampling option (threads and
batch size included), the question, the seed, and the composition of the batch it was
decoded in (batching can change the last bits of the logits). A run with one changed
option therefore redoes exactly the responses that option affects.

SQLite (standard library) keeps it in one file that several processes may share.
"""

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bayeseffect.generation import Completion, Request


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
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30)
        self._db.execute("CREATE TABLE IF NOT EXISTS responses "
                         "(key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
        self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, Completion]:
        """Return the cached completions among ``keys``."""
        found: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, completion FROM responses WHERE key IN ({marks})", chunk)
            for key, value in rows:
                found[key] = Completion(**json.loads(value))
        return found

    def put_many(self, items: Mapping[str, Completion]) -> None:
        """Store completions (an existing key keeps its first value)."""
        self._db.executemany("INSERT OR IGNORE INTO responses VALUES (?, ?)",
                             [(k, json.dumps(asdict(c))) for k, c in items.items()])
        self._db.commit()

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
