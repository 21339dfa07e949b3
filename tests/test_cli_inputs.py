"""Option values the CLI used to misread: each is a one-line error before anything is
written, or is taken and printed literally (issue 13: 7, 8, 9, 10).

``sample`` runs end to end on the tiny GGUF pair with the llama layer swapped for the
deterministic fake generator (the tiny files cannot be loaded, and real models are
tested elsewhere); ``fit`` and ``report`` run on a real fit of a simulated dataset.
"""

import io
import json
import math
import os
import time

import pytest
from click.testing import CliRunner
from conftest import FakeFactory, FakeGenerator, write_tiny_gguf
from rich.console import Console

from bayeseffect.cli import main
from bayeseffect.common.validation import MAX_SEED
from bayeseffect.data.dataset import load_dataset, save_dataset
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.run_dir import DATASET, MANIFEST
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.stats.simulate import simulate
from bayeseffect.workflow import engines
from bayeseffect.workflow.plan import plan_run
from bayeseffect.workflow.sample import sample_run


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the report's figures: report/plots.py leaves them open in pyplot, and past 20
    open figures matplotlib warns, which this suite turns into an error in later tests."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _invoke(args, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(previous)
    return result, cwd, sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))


def _assert_one_line_error(result, *patterns):
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for pattern in patterns:
        assert pattern in lines[0], lines[0]


@pytest.fixture
def fake_llama(monkeypatch):
    """Swap llama-cpp-python for the fake generator (the arm is the file's name)."""
    opened = []

    def start_engine(path, *, prompting, params, arm, log):
        opened.append(params)
        return FakeGenerator(path.stem)

    backend = engines.LlmLayer(
        llama_versions=lambda: {"llama_cpp_python_version": "fake", "llama_cpp_version": "fake",
                                "llama_cpp_system_info": "fake"},
        start_engine=start_engine)
    monkeypatch.setattr(engines, "llm_layer", lambda: backend)
    return opened


def _sample(tiny_pair, *extra):
    return ["sample", "--base", tiny_pair[0], "--instruct", tiny_pair[1], "--prompts", 3,
            "--replicates", 1, "--no-fit", "--no-cache", *extra]


# --- 7: --max-tokens ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-3"])
@pytest.mark.parametrize("variable", ["logic", "all"])
def test_max_tokens_below_one_is_an_error_not_16(tmp_path, value, variable):
    result, _, written = _invoke(["sample", "--variable", variable, "--max-tokens", value,
                                  "--base", tmp_path / "none.gguf",
                                  "--instruct", tmp_path / "none.gguf"], tmp_path)
    _assert_one_line_error(result, f"--max-tokens must be at least 1, not {value}")
    assert written == []


def test_omitted_max_tokens_is_the_variables_own(tmp_path, tiny_pair, fake_llama):
    result, cwd, _ = _invoke(_sample(tiny_pair, "--variable", "complexity", "--out", "run"),
                             tmp_path)
    assert result.exit_code == 0, result.output
    manifest = json.loads((cwd / "run" / MANIFEST).read_text())
    assert manifest["determinants"]["sampling"]["max_tokens"] == 160
    assert {p.max_tokens for p in fake_llama} == {160}
    given, cwd, _ = _invoke(_sample(tiny_pair, "--variable", "complexity", "--out", "given",
                                    "--max-tokens", "7"), tmp_path)
    assert given.exit_code == 0, given.output
    assert json.loads((cwd / "given" / MANIFEST).read_text())[
        "determinants"]["sampling"]["max_tokens"] == 7


# --- 8: seeds ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [-1, 2**63, 2**70])
def test_sample_seed_out_of_range_is_refused_before_anything_is_written(tmp_path, tiny_pair,
                                                                        fake_llama, seed):
    result, _, written = _invoke(_sample(tiny_pair, "--variable", "complexity",
                                         "--seed", seed), tmp_path)
    _assert_one_line_error(result, "--seed must be an integer from 0 to 2**63 - 1", str(seed))
    assert written == []
    assert fake_llama == []


def test_the_largest_seed_samples_saves_and_resumes(tmp_path, tiny_pair, fake_llama):
    args = _sample(tiny_pair, "--variable", "complexity", "--seed", MAX_SEED, "--out", "run")
    result, cwd, _ = _invoke(args, tmp_path)
    assert result.exit_code == 0, (result.output, result.exception)
    ds = load_dataset(cwd / "run" / DATASET)
    assert int(ds.attrs["seed"]) == MAX_SEED and int(ds.attrs["prompt_set_seed"]) == MAX_SEED
    again, _, _ = _invoke(args, tmp_path)
    assert again.exit_code == 0, (again.output, again.exception)
    assert "Resuming run" in again.output


@pytest.mark.parametrize("seed", [-1, 2**63, 2**70])
def test_plan_seed_out_of_range_is_one_line(tmp_path, seed):
    result, _, _ = _invoke(["plan", "--seed", seed, "--prompts", "50", "--replicates", "1"],
                           tmp_path)
    _assert_one_line_error(result, "--seed must be an integer from 0 to 2**63 - 1")


def test_api_refuses_bad_seeds_too(tmp_path, tiny_pair):
    with pytest.raises(BayesEffectError, match="--seed must be"):
        sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2, replicates=1,
                   seed=2**63, out=tmp_path / "run", open_generator=FakeFactory())
    assert not (tmp_path / "run").exists()
    with pytest.raises(BayesEffectError, match="--seed must be"):
        plan_run(seed=-1, prompts=(50,), replicates=(1,))


@pytest.fixture(scope="module")
def bracket_run(tmp_path_factory):
    """A real fit, at the largest seed, in a folder whose name looks like rich markup."""
    # Printed, it reads ".../a[/]b[red]v2": a closing tag, then an opening one.
    run_dir = tmp_path_factory.mktemp("fits") / "a[" / "]b[red]v2"
    run_dir.mkdir(parents=True)
    sim = simulate("binary", n_prompts=12, replicates=2, beta=0.5, seed=3)
    save_dataset(sim.dataset, run_dir / DATASET)
    (run_dir / MANIFEST).write_text(json.dumps({"fingerprint": "sim"}))
    result = CliRunner().invoke(main, ["fit", str(run_dir), "--seed", str(MAX_SEED),
                                       "--draws", "200", "--tune", "200", "--chains", "2"])
    return run_dir, result


def test_fit_takes_the_largest_seed_and_prints_paths_literally(bracket_run):
    run_dir, result = bracket_run
    # 3: a short fit of a small design may miss a gate; it still saves and reports.
    assert result.exit_code in (0, 3), (result.output, result.exception)
    from bayeseffect.stats.store import load_fit

    assert int(load_fit(run_dir / "posterior.nc").attrs["fit_seed"]) == MAX_SEED
    assert f"Plots: {run_dir}/report/total_effect.png" in result.output.replace("\n", "")


@pytest.mark.parametrize("seed", [-1, 2**63, 2**70])
def test_fit_seed_out_of_range_is_one_line_and_writes_nothing(tmp_path, seed):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_dataset(simulate("binary", n_prompts=6, replicates=1, seed=1).dataset,
                 run_dir / DATASET)
    before = sorted(p.name for p in run_dir.iterdir())
    for args in (["fit", run_dir, "--seed", seed], ["fit", run_dir, "--seed", seed,
                                                    "--no-report"]):
        result, _, _ = _invoke(args, tmp_path)
        _assert_one_line_error(result, "--seed must be an integer from 0 to 2**63 - 1")
    assert sorted(p.name for p in run_dir.iterdir()) == before


# --- 9: rich markup in user strings ------------------------------------------------------

@pytest.mark.parametrize("out", ["runs/a[/]b", "runs/exp[red]v2", "runs/[bold]x"])
def test_run_dirs_that_look_like_markup_are_printed_as_they_are(tmp_path, tiny_pair,
                                                                fake_llama, out):
    result, cwd, _ = _invoke(_sample(tiny_pair, "--variable", "complexity", "--out", out),
                             tmp_path)
    assert result.exit_code == 0, (result.output, result.exception)
    assert (cwd / out / DATASET).exists()
    text = result.output.replace("\n", "")
    assert f"Starting run {out} " in text
    assert f"dataset saved to {out}/{DATASET}" in text
    assert f"Next: bayeseffect fit {out}" in text


def test_model_names_that_look_like_markup_are_printed_as_they_are(tmp_path):
    base = write_tiny_gguf(tmp_path / "base.gguf", arch="gemma[/]3")
    instruct = write_tiny_gguf(tmp_path / "instruct.gguf", arch="[red]llama",
                               chat_template="{{ messages }}")
    sink = io.StringIO()
    sample_run("logic", base=base, instruct=instruct, prompts=2, replicates=1,
               out=tmp_path / "run[x]", open_generator=FakeFactory(),
               console=Console(file=sink, width=400, highlight=False))
    printed = sink.getvalue()
    assert "gemma[/]3 vs [red]llama" in printed
    assert "run[x]" in printed


def test_report_prints_its_paths_literally(bracket_run):
    run_dir, _ = bracket_run
    result = CliRunner().invoke(main, ["report", str(run_dir)])
    assert result.exit_code in (0, 3), (result.output, result.exception)
    assert f"JSON: {run_dir}/report/summary.json" in result.output.replace("\n", "")


def test_the_report_prints_markup_like_names_as_they_are(bracket_run):
    from dataclasses import replace

    from bayeseffect.report.terminal import print_report
    from bayeseffect.workflow.report import compute_report

    run_dir, _ = bracket_run
    report = compute_report(run_dir)
    report = replace(report, variable="var[/]x", outcome="out[red]come", cross_family=True,
                     cross_family_warning="CROSS-FAMILY PAIR: gemma[/]3 vs [bold]llama",
                     estimand="E[y[/]]", sample_vs_population="[red]note",
                     provenance={**report.provenance, "prompt_set": "set[/]name"})
    console = Console(record=True, width=300)
    print_report(report, console=console)
    text = console.export_text()
    for literal in ("var[/]x", "E[out[red]come] instruct - base", "mean out[red]come",
                    "gemma[/]3 vs [bold]llama", "Estimand: E[y[/]]", "[red]note",
                    "prompt set set[/]name"):
        assert literal in text, literal


def test_progress_descriptions_print_arm_names_as_they_are(tmp_path):
    from bayeseffect.sampling.loop import sample_responses
    from bayeseffect.variables.logic.prompts import generate_logic

    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    sample_responses(generate_logic(2, seed=0), arms=("arm[/]x",), replicates=1, seed=0,
                     open_generator=lambda arm: FakeGenerator("base"),
                     journal_path=tmp_path / "journal.jsonl", console=console)
    assert "arm[/]x" in console.file.getvalue()


# --- 10: non-finite numbers, plan's ranges, server URLs ----------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_temperature_is_refused_before_run_json(tmp_path, tiny_pair, fake_llama,
                                                           value):
    result, _, written = _invoke(_sample(tiny_pair, "--variable", "complexity",
                                         "--temperature", value), tmp_path)
    _assert_one_line_error(result, "--temperature must be a finite number")
    assert written == []


def test_sampling_options_of_the_api_are_checked_too(tmp_path, tiny_pair):
    for params, message in ((SamplingParams(top_p=math.nan), "top_p must be a finite"),
                            (SamplingParams(top_p=1.5), "top_p must be more than 0"),
                            (SamplingParams(temperature=math.inf), "--temperature must be")):
        with pytest.raises(BayesEffectError, match=message):
            sample_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                       replicates=1, params=params, out=tmp_path / "run",
                       open_generator=FakeFactory())
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--hdi-prob", "2"], "--hdi-prob must lie between 0 and 1, not 2"),
    (["--hdi-prob", "0"], "--hdi-prob must lie between 0 and 1"),
    (["--hdi-prob", "nan"], "--hdi-prob must lie between 0 and 1"),
    (["--rope", "-0.1"], "--rope must be 0 or more, not -0.1"),
    (["--rope", "nan"], "--rope must be a finite number"),
    (["--target-width", "-1"], "--target-width must be more than 0"),
    (["--target-width", "0"], "--target-width must be more than 0"),
    (["--target-width", "inf"], "--target-width must be a finite number"),
    (["--effect", "nan"], "--effect must be a finite number"),
    (["--effect", "-inf"], "--effect must be a finite number"),
])
def test_plan_options_out_of_range_are_one_line_errors(tmp_path, args, message):
    result, _, _ = _invoke(["plan", "--prompts", "50", "--replicates", "1", *args], tmp_path)
    _assert_one_line_error(result, message)


def test_report_rope_must_be_finite(bracket_run, tmp_path):
    run_dir, _ = bracket_run
    result, _, _ = _invoke(["report", run_dir, "--rope", "nan"], tmp_path)
    _assert_one_line_error(result, "--rope must be a finite number")


@pytest.mark.parametrize(("url", "hint"), [
    ("127.0.0.1:8000", "did you mean http://127.0.0.1:8000?"),
    ("localhost:8000", "did you mean http://localhost:8000?"),
    ("file:///etc", "must be an http:// or https:// URL with a host"),
    ("ftp://example.org", "must be an http:// or https:// URL with a host"),
    ("http://", "must be an http:// or https:// URL with a host"),
    ("http://127.0.0.1:99999", "invalid port"),
    ("http://127.0.0.1:8000/?x=1", "must not carry a query"),
])
def test_server_urls_are_checked_before_any_request(tmp_path, tiny_pair, url, hint):
    good = "http://127.0.0.1:1"
    start = time.monotonic()
    for flag, urls in (("--base-url", (url, good)), ("--instruct-url", (good, url))):
        result, _, written = _invoke(["sample", "--variable", "logic", "--backend", "openai",
                                      "--base-url", urls[0], "--instruct-url", urls[1],
                                      "--base", tiny_pair[0], "--instruct", tiny_pair[1]],
                                     tmp_path)
        _assert_one_line_error(result, flag, hint)
        assert written == []
    # No retries: the old client spent ~10 s retrying a URL without a scheme.
    assert time.monotonic() - start < 5
