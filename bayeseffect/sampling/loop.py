"""The sampling loop: every (arm, prompt, replicate) cell generated once, journaled at once.

It knows nothing of llama.cpp: a callable opens a :class:`~bayeseffect.sampling.types.Generator`
for each arm, so tests drive it with a deterministic fake and the same bookkeeping runs
for real models.
"""

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bayeseffect.sampling.journal import JournalWriter, ResponseRecord, read_journal
from bayeseffect.sampling.response_cache import ResponseCache, ResponseCacheError, cell_key
from bayeseffect.sampling.types import Completion, Generator, Request
from bayeseffect.variables.prompt_set import PromptItem, PromptSet


def response_seed(seed: int, arm: str, prompt_id: str, replicate: int) -> int:
    """Return the sampler seed of one cell, a pure function of the run seed and the cell.

    Parameters
    ----------
    seed
        The run's seed.
    arm, prompt_id, replicate
        The cell.

    Returns
    -------
    int
        A 31-bit seed.

    """
    digest = hashlib.sha256(f"{seed}/{arm}/{prompt_id}/{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class SamplingSummary:
    """What one call of :func:`sample_responses` did.

    Attributes
    ----------
    already_done
        Cells found in the journal before starting.
    generated
        Cells generated now.
    total
        Cells in the design.
    completion_tokens
        Tokens generated now.
    seconds
        Wall time spent generating now.
    from_cache
        Responses of this call taken from the response cache (counted in ``generated``).

    """

    already_done: int
    generated: int
    total: int
    completion_tokens: int
    seconds: float
    from_cache: int = 0


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("responses  {task.fields[prompts]}  {task.fields[rate]:>6.1f} tok/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
    )


Cell = tuple[PromptItem, int]


def warn(console: Console | None, message: str) -> None:
    """Print a one-line warning (nothing when ``console`` is None)."""
    if console is not None:
        console.print(f"[yellow]warning: {escape(message)}[/]")


def _batches(cells: list[Cell], size: int) -> list[list[Cell]]:
    """Split an arm's cells, in design order, into consecutive batches of ``size``."""
    return [cells[i:i + size] for i in range(0, len(cells), size)]


def sample_responses(
    prompt_set: PromptSet,
    *,
    arms: Sequence[str],
    replicates: int,
    seed: int,
    batch_size: int = 1,
    open_generator: Callable[[str], Generator],
    journal_path: Path,
    console: Console | None = None,
    cache: ResponseCache | None = None,
    cache_context: Mapping[str, Mapping[str, Any]] | None = None,
    after_arm: Callable[[str, Generator | None], None] | None = None,
) -> SamplingSummary:
    """Generate every missing response of the design and append each to the journal.

    Cells already in the journal are skipped, so calling this again after an interrupt
    resumes where it stopped; an arm with nothing left to do is never loaded.

    Parameters
    ----------
    prompt_set
        The items.
    arms
        Arms to sample, in order.
    replicates
        Responses per (arm, prompt).
    seed
        The run seed; each cell's sampler seed derives from it.
    batch_size
        Responses per :meth:`Generator.generate_batch` call. Batches are fixed by the
        design (consecutive cells of an arm), and a batch with any missing cell is
        generated whole, journaling only what is missing: a resumed run decodes the same
        batches as an uninterrupted one, so it gives the same bytes.
    open_generator
        Arm name -> a loaded generator for that arm.
    journal_path
        The journal file.
    console
        Where the progress bar is drawn; ``None`` hides it.
    cache
        Responses generated before, by any run; a batch found whole in it is not decoded
        again (and its model is not even loaded). A batch is journaled before it is
        cached, and a cache that cannot be read or written is a warning on ``console``,
        after which sampling goes on without it.
    cache_context
        Per arm, what determines its responses besides question, seed and batch (see
        :func:`bayeseffect.sampling.response_cache.cell_key`); required with ``cache``.
    after_arm
        Called once per arm after its responses, with its generator while still loaded
        (``None`` when nothing had to be generated), e.g. to score answer options
        without loading the model again.

    Returns
    -------
    SamplingSummary
        Counts and timing.

    """
    done = read_journal(journal_path)
    cells = [(arm, item, r) for arm in arms for item in prompt_set.items for r in range(replicates)]
    todo = [(arm, item, r) for arm, item, r in cells if (arm, item.prompt_id, r) not in done]
    already = len(cells) - len(todo)
    tokens, start, from_cache = 0, time.perf_counter(), 0
    position = {item.prompt_id: i for i, item in enumerate(prompt_set.items)}
    with JournalWriter(journal_path) as journal, _progress(console) as progress:
        task = progress.add_task("sampling", total=len(cells), completed=already, rate=0.0,
                                 prompts="")
        n_prompts = len(prompt_set.items)
        for arm in arms:
            batches = _batches([(item, r) for a, item, r in cells if a == arm], batch_size)
            missing = [batch for batch in batches
                       if any((arm, item.prompt_id, r) not in done for item, r in batch)]
            if not missing:
                if after_arm is not None:
                    after_arm(arm, None)
                continue
            # The description column renders markup; an arm is a caller's string.
            progress.update(task, description=escape(f"sampling {arm}"))
            generator: Generator | None = None
            try:
                for batch in missing:
                    last = batch[-1][0]
                    progress.update(task, prompts=f"(prompt {position[last.prompt_id] + 1}"
                                                  f"/{n_prompts})")
                    requests = [Request(item.question, response_seed(seed, arm, item.prompt_id, r))
                                for item, r in batch]
                    keys = ([cell_key(cache_context[arm], q, requests) for q in requests]
                            if cache is not None and cache_context is not None else [])
                    cached: dict[str, Completion] = {}
                    if cache is not None and keys:
                        try:
                            cached = cache.get_many(keys)
                        except ResponseCacheError as exc:
                            _warn_cache_off(console, exc)
                            cache = None
                    t0 = time.perf_counter()
                    decoded = not (keys and len(cached) == len(keys))
                    if decoded:
                        if generator is None:
                            generator = open_generator(arm)
                        completions = generator.generate_batch(requests)
                    else:
                        completions = [cached[k] for k in keys]
                        from_cache += len(batch)
                    seconds = (time.perf_counter() - t0) / len(batch)
                    # The journal first: it is the run's record, the cache only saves time.
                    for (item, r), request, completion in zip(batch, requests, completions,
                                                              strict=True):
                        if (arm, item.prompt_id, r) in done:
                            continue  # regenerated only to keep the batch's layout
                        journal.append(ResponseRecord(
                            arm=arm, prompt_id=item.prompt_id, replicate=r, seed=request.seed,
                            text=completion.text, n_prompt_tokens=completion.n_prompt_tokens,
                            n_completion_tokens=completion.n_completion_tokens,
                            finish_reason=completion.finish_reason,
                            rendered_prompt_sha256=completion.rendered_prompt_sha256,
                            seconds=round(seconds, 4),
                        ))
                        tokens += completion.n_completion_tokens
                        progress.update(task, advance=1)
                    if decoded and cache is not None and keys:
                        try:
                            cache.put_many(dict(zip(keys, completions, strict=True)))
                        except ResponseCacheError as exc:
                            _warn_cache_off(console, exc)
                            cache = None
                    elapsed = time.perf_counter() - start
                    progress.update(task, rate=tokens / elapsed if elapsed else 0.0)
                if after_arm is not None:
                    after_arm(arm, generator)
            finally:
                if generator is not None:
                    generator.close()
    return SamplingSummary(already_done=already, generated=len(todo), total=len(cells),
                           completion_tokens=tokens, seconds=time.perf_counter() - start,
                           from_cache=from_cache)


def open_cache(path: Path, *, console: Console | None) -> ResponseCache | None:
    """Open the response cache at ``path``; None, with a warning, when it cannot be opened.

    Parameters
    ----------
    path
        The SQLite file (:func:`bayeseffect.sampling.response_cache.default_cache_path`).
    console
        Where the warning goes.

    Returns
    -------
    ResponseCache or None
        The cache, or None to sample without one.
    """
    try:
        return ResponseCache(path)
    except ResponseCacheError as exc:
        _warn_cache_off(console, exc)
        return None


def _warn_cache_off(console: Console | None, exc: ResponseCacheError) -> None:
    warn(console, f"{exc}; sampling goes on without the response cache")
