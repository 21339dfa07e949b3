"""A response cache that cannot be opened, read or written costs a warning, never a response."""

import io
import sqlite3

import pytest
from conftest import FakeFactory, read_only_folder
from rich.console import Console

from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.loop import open_cache, sample_responses
from bayeseffect.sampling.response_cache import ResponseCache, ResponseCacheError
from bayeseffect.variables.logic.prompts import generate_logic

ARMS = ("base", "instruct")
CONTEXT = {arm: {"model_sha256": arm * 8, "params": {"seed": 1}} for arm in ARMS}


def _console():
    return Console(file=io.StringIO(), width=300, color_system=None)


def _sample(journal, cache, console, factory=None):
    return sample_responses(generate_logic(4, seed=0), arms=ARMS, replicates=2, seed=3,
                            batch_size=4, open_generator=factory or FakeFactory(),
                            journal_path=journal, console=console, cache=cache,
                            cache_context=CONTEXT)


def _warnings(console):
    return [line for line in console.file.getvalue().splitlines() if "warning:" in line]


def test_a_read_only_cache_loses_no_decoded_batch(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    ResponseCache(folder / "responses.sqlite").close()  # a valid, empty cache
    console = _console()
    with read_only_folder(folder):
        cache = ResponseCache(folder / "responses.sqlite")  # opening only reads
        try:
            summary = _sample(tmp_path / "j.jsonl", cache, console)
        finally:
            cache.close()
    assert summary.generated == len(read_journal(tmp_path / "j.jsonl")) == 16
    warnings = _warnings(console)
    assert len(warnings) == 1, console.file.getvalue()  # once, then sampling goes on
    assert "cannot be written" in warnings[0] and "without the response cache" in warnings[0]


def test_a_cache_that_cannot_be_read_is_skipped(tmp_path):
    # A database at the cache path whose table is not ours: it opens, reads fail.
    path = tmp_path / "responses.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE responses (something_else TEXT)")
    db.close()
    cache = ResponseCache(path)
    console = _console()
    try:
        summary = _sample(tmp_path / "j.jsonl", cache, console)
    finally:
        cache.close()
    assert summary.generated == len(read_journal(tmp_path / "j.jsonl")) == 16
    warnings = _warnings(console)
    assert len(warnings) == 1 and "cannot be read" in warnings[0]


def test_a_working_cache_is_filled_after_the_journal_and_reused(tmp_path):
    cache = ResponseCache(tmp_path / "responses.sqlite")
    try:
        _sample(tmp_path / "a.jsonl", cache, None)
        factory = FakeFactory()
        summary = _sample(tmp_path / "b.jsonl", cache, None, factory)
    finally:
        cache.close()
    assert summary.from_cache == 16 and factory.opened == []


@pytest.mark.parametrize("kind", ["garbage", "folder", "under_a_file", "read_only_folder"])
def test_a_cache_that_cannot_be_opened_is_a_one_line_warning(tmp_path, kind):
    path = tmp_path / "cache" / "responses.sqlite"
    path.parent.mkdir()
    if kind == "garbage":
        path.write_bytes(b"this is not a database, just some bytes " * 100)
    elif kind == "folder":
        path.mkdir()
    elif kind == "under_a_file":
        path.parent.rmdir()
        path.parent.write_text("a file where the cache folder should be")
    with pytest.raises(ResponseCacheError, match=r"cannot be opened") as caught:
        if kind == "read_only_folder":
            with read_only_folder(path.parent):
                ResponseCache(path)
        else:
            ResponseCache(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    console = _console()
    if kind != "read_only_folder":
        assert open_cache(path, console=console) is None
        assert len(_warnings(console)) == 1
