"""A run directory survives what users and disks do to it: edits, deletions, failed loads."""

import io
import json

import pytest
from conftest import FakeFactory
from rich.console import Console

from bayeseffect.data.contract import validate_dataset
from bayeseffect.data.dataset import load_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.sample import sample_run


def _run(tiny_pair, out, **kwargs):
    base, instruct = tiny_pair
    options = {"prompts": 6, "replicates": 2, "seed": 1, "out": out,
               "open_generator": FakeFactory()} | kwargs
    return sample_run("logic", base=base, instruct=instruct, **options)


def _console():
    return Console(file=io.StringIO(), width=200, color_system=None)


def test_bad_complete_lines_are_skipped_reported_once_and_resampled(tiny_pair, tmp_path):
    out = tmp_path / "run"
    _run(tiny_pair, out)
    journal = out / "responses.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    texts = {k: r.text for k, r in read_journal(journal).items()}
    # Line 3 becomes a blank line, line 5 invalid JSON, line 8 a record missing fields.
    lines[2] = b"\n"
    lines[4] = b"{oops\n"
    lines[7] = b'{"arm": "base"}\n'
    journal.write_bytes(b"".join(lines))
    console = _console()
    _run(tiny_pair, out, console=console)
    printed = console.file.getvalue()
    assert printed.count("skipped 3 unreadable lines (lines 3, 5, 8)") == 1
    resumed = read_journal(journal)
    assert {k: r.text for k, r in resumed.items()} == texts
    ds = load_dataset(out / "dataset.nc")
    validate_dataset(ds)
    assert int(ds["completed"].sum()) == 24


def test_refused_run_lists_only_the_options_that_changed(tiny_pair, tmp_path):
    out = tmp_path / "run"
    _run(tiny_pair, out)
    # The stop strings are a tuple here and a list in run.json: equal, so not "changed".
    with pytest.raises(BayesEffectError, match=r"\(changed: replicates\);"):
        _run(tiny_pair, out, replicates=3)


def test_a_deleted_prompts_file_is_restored_on_resume(tiny_pair, tmp_path):
    out = tmp_path / "run"
    _run(tiny_pair, out)
    original = (out / "prompts.jsonl").read_bytes()
    (out / "prompts.jsonl").unlink()
    console = _console()
    _run(tiny_pair, out, console=console)
    assert (out / "prompts.jsonl").read_bytes() == original
    assert "Restored the missing" in console.file.getvalue()


def test_prompts_are_not_restored_from_a_prompt_set_the_manifest_does_not_record(
        tiny_pair, tmp_path):
    out = tmp_path / "run"
    _run(tiny_pair, out)
    (out / "prompts.jsonl").unlink()
    manifest = json.loads((out / "run.json").read_text())
    manifest["determinants"]["prompt_set"]["sha256"] = "0" * 64
    (out / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(BayesEffectError, match=r"prompts\.jsonl is missing and the prompt set"):
        _run(tiny_pair, out)
    assert not (out / "prompts.jsonl").exists()


class _BrokenModel:
    """A factory whose model never loads (a bad file, too little memory)."""

    def __call__(self, arm, resolved=None, params=None):
        raise BayesEffectError(f"cannot load the {arm} model")


def test_a_model_that_fails_to_load_leaves_no_half_made_run(tiny_pair, tmp_path):
    out = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(BayesEffectError, match="cannot load the base model"):
        _run(tiny_pair, out, open_generator=_BrokenModel())
    assert not (tmp_path / "new").exists()  # every folder this call created is gone
    # Then the same run samples normally.
    _run(tiny_pair, out)
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 24


def test_a_failed_load_keeps_what_another_process_put_in_a_folder_it_created(tiny_pair,
                                                                             tmp_path):
    out = tmp_path / "runs" / "run"

    def sibling_appears_then_load_fails(arm, resolved=None, params=None):
        (tmp_path / "runs" / "other-run").mkdir()  # another process's run, meanwhile
        raise BayesEffectError("cannot load the model")

    with pytest.raises(BayesEffectError, match="cannot load"):
        _run(tiny_pair, out, open_generator=sibling_appears_then_load_fails)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["other-run"]


def test_a_failed_load_on_a_resumed_run_keeps_it(tiny_pair, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_pair, out, params=SamplingParams(batch_size=1),
             open_generator=FakeFactory(fail_after=5))
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(BayesEffectError, match="cannot load"):
        _run(tiny_pair, out, params=SamplingParams(batch_size=1), open_generator=_BrokenModel())
    assert sorted(p.name for p in out.iterdir()) == before
    assert len(read_journal(out / "responses.jsonl")) == 5


def test_a_failed_load_in_an_existing_empty_folder_keeps_the_folder(tiny_pair, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with pytest.raises(BayesEffectError, match="cannot load"):
        _run(tiny_pair, out, open_generator=_BrokenModel())
    # The folder was the user's: it stays, with what a resumable run needs.
    assert (out / "run.json").exists()
    _run(tiny_pair, out)
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == 24


def test_temporary_files_a_killed_writer_left_are_removed_on_resume(tiny_pair, tmp_path):
    out = tmp_path / "run"
    _run(tiny_pair, out)
    for name in (".dataset.nc.tmp", ".dataset.nc.4242.0badcafe.tmp"):  # old and new names
        (out / name).write_bytes(b"")
    _run(tiny_pair, out)
    assert list(out.glob("*.tmp")) == []
