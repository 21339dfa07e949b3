"""Bad input: one line on stderr naming the problem and the fix, exit 2, nothing written."""

import os

import pytest
from click.testing import CliRunner
from conftest import FakeFactory

from bayeseffect.cli import main
from bayeseffect.workflow.sample import sample_run


def _invoke(args, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        os.chdir(previous)
    return result, sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))


def _assert_one_line_error(result, pattern):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert pattern in lines[0]


def test_unknown_variable_suggests_closest(tmp_path):
    result, written = _invoke(["sample", "--variable", "logik"], tmp_path)
    _assert_one_line_error(result, "did you mean logic?")
    assert written == []


def test_unknown_pair_suggests_closest(tmp_path):
    result, written = _invoke(["sample", "--variable", "logic", "--pair", "offline-defualt"],
                              tmp_path)
    _assert_one_line_error(result, "did you mean offline-default?")
    assert written == []


def test_missing_model_file(tmp_path, tiny_pair):
    result, written = _invoke(["sample", "--variable", "logic", "--base", str(tmp_path / "no.gguf"),
                               "--instruct", str(tiny_pair[1])], tmp_path)
    _assert_one_line_error(result, "does not exist")
    assert written == []


def test_file_that_is_not_gguf(tmp_path, tiny_pair):
    fake = tmp_path / "weights.bin"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    result, written = _invoke(["sample", "--variable", "logic", "--base", str(fake),
                               "--instruct", str(tiny_pair[1])], tmp_path)
    _assert_one_line_error(result, "is not a GGUF file")
    assert written == []


def test_unreadable_model_file(tmp_path, tiny_pair):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    locked = tmp_path / "locked.gguf"
    locked.write_bytes(tiny_pair[0].read_bytes())
    locked.chmod(0)
    result, _ = _invoke(["sample", "--variable", "logic", "--base", str(locked),
                         "--instruct", str(tiny_pair[1])], tmp_path)
    _assert_one_line_error(result, "cannot be read")


def test_model_path_that_is_a_folder(tmp_path, tiny_pair):
    folder = tmp_path / "model.gguf"
    folder.mkdir()
    result, written = _invoke(["sample", "--variable", "logic", "--base", str(folder),
                               "--instruct", str(tiny_pair[1])], tmp_path)
    _assert_one_line_error(result, "is not a file")
    assert written == []


def test_base_without_instruct(tmp_path, tiny_pair):
    result, written = _invoke(["sample", "--variable", "logic", "--base", str(tiny_pair[0])],
                              tmp_path)
    _assert_one_line_error(result, "--base and --instruct go together")
    assert written == []


def test_empty_prompt_set(tmp_path):
    result, written = _invoke(["sample", "--variable", "logic", "--prompts", "0"], tmp_path)
    _assert_one_line_error(result, "empty")
    assert written == []


def test_run_dir_of_another_configuration_is_refused(tmp_path, tiny_pair):
    out = tmp_path / "run"
    sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3, replicates=1,
               out=out, open_generator=FakeFactory())
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result, _ = _invoke(["sample", "--variable", "logic", "--base", str(tiny_pair[0]),
                         "--instruct", str(tiny_pair[1]), "--prompts", "3", "--replicates", "1",
                         "--seed", "9", "--out", str(out)], tmp_path)
    _assert_one_line_error(result, "different configuration")
    assert "delete" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_fit_on_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "empty").mkdir()
    result, _ = _invoke(["fit", str(tmp_path / "empty")], tmp_path)
    _assert_one_line_error(result, "does not exist; run `bayeseffect sample` first")


def test_report_before_fit(tmp_path, tiny_pair):
    out = tmp_path / "run"
    sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=3, replicates=1,
               out=out, open_generator=FakeFactory())
    result, _ = _invoke(["report", str(out)], tmp_path)
    _assert_one_line_error(result, "has no posterior yet")


def test_help_teaches_the_quick_start():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "bayeseffect sample --variable logic" in result.output
    sample_help = CliRunner().invoke(main, ["sample", "--help"])
    assert "resumes" in sample_help.output


def test_click_usage_errors_are_one_line_too(tmp_path):
    result, written = _invoke(["sample", "--variable", "logic", "--prompts", "many"], tmp_path)
    _assert_one_line_error(result, "'many' is not a valid integer")
    assert "sample --help" in result.stderr
    assert written == []


def test_fit_on_a_missing_folder(tmp_path):
    result, _ = _invoke(["fit", str(tmp_path / "absent")], tmp_path)
    _assert_one_line_error(result, "does not exist")
