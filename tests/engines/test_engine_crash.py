"""A native crash of the engine process is a one-line error, and the run resumes after it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bayeseffect.data.dataset import load_dataset
from bayeseffect.engines.llama.generator import extra_buffers_safe
from bayeseffect.engines.llama.process import EngineProcess
from bayeseffect.errors import EngineCrashedError
from bayeseffect.pairs.catalog import load_pair, resolve_pair
from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.types import Request, SamplingParams

pytestmark = pytest.mark.llm
PARAMS = SamplingParams(max_tokens=4, temperature=0.7, threads=1, batch_size=2)
ARGS = ["sample", "--variable", "logic", "--prompts", "6", "--replicates", "2",
        "--max-tokens", "8", "--threads", "2", "--batch-size", "4", "--seed", "3",
        "--no-fit", "--no-cache"]


def _instruct_arm():
    return resolve_pair(load_pair("offline-default"))["instruct"]


@pytest.mark.parametrize("signum", [signal.SIGSEGV, signal.SIGABRT, signal.SIGILL])
def test_an_engine_killed_by_a_signal_raises_a_one_line_error_naming_file_and_signal(
        signum, tmp_path):
    arm = _instruct_arm()
    log = tmp_path / "engine.log"
    engine = EngineProcess.start(arm.path, prompting=arm.prompting, params=PARAMS,
                                 arm="instruct", log=log)
    try:
        first = engine.generate_batch([Request("Is 2 even?", 1), Request("Is 3 even?", 2)])
        assert len(first) == 2 and all(c.n_completion_tokens >= 1 for c in first)
        os.kill(engine.pid, signum)
        with pytest.raises(EngineCrashedError) as caught:
            engine.generate_batch([Request("Is 4 even?", 3)])
    finally:
        engine.close()
    message = str(caught.value)
    assert "\n" not in message
    assert signum.name in message and str(arm.path) in message and "instruct" in message
    assert "resumes" in message and str(log) in message
    assert caught.value.signal_name == signum.name


def test_extra_buffers_are_off_exactly_for_builds_with_amx():
    assert not extra_buffers_safe("CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    assert extra_buffers_safe("CPU : AVX2 = 1 | AVX512 = 1 | REPACK = 1 |")
    assert extra_buffers_safe("CPU : NEON = 1 | ARM_FMA = 1 | DOTPROD = 1 | REPACK = 1 |")


@pytest.mark.skipif(extra_buffers_safe(), reason="needs a llama-cpp-python build with AMX")
def test_on_an_amx_build_forcing_extra_buffers_crashes_the_engine_not_the_run(tmp_path):
    # The real crash of issue 13 (ldtilecfg in ggml_backend_amx_mul_mat), in the engine.
    arm = resolve_pair(load_pair("offline-default"))["base"]
    engine = EngineProcess.start(arm.path, prompting=arm.prompting, params=PARAMS, arm="base",
                                 log=tmp_path / "engine.log", extra_buffers=True)
    try:
        with pytest.raises(EngineCrashedError) as caught:
            engine.generate_batch([Request("Is 2 even?", 1)])
    finally:
        engine.close()
    assert caught.value.signal_name == "SIGSEGV" and str(arm.path) in str(caught.value)
    # The default load on the same machine works.
    engine = EngineProcess.start(arm.path, prompting=arm.prompting, params=PARAMS, arm="base")
    try:
        assert len(engine.generate_batch([Request("Is 2 even?", 1)])) == 1
    finally:
        engine.close()


def test_a_model_the_engine_cannot_load_is_a_plain_error_not_a_crash(tmp_path):
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(Exception) as caught:
        EngineProcess.start(bogus, prompting=_instruct_arm().prompting, params=PARAMS,
                            arm="base", log=tmp_path / "engine.log")
    assert not isinstance(caught.value, EngineCrashedError)
    assert "could not load" in str(caught.value) and str(bogus) in str(caught.value)


def _engine_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"bayeseffect.engines.llama.worker" in cmdline:
            children.append(int(stat.parent.name))
    return children


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_segfault_mid_run_exits_4_keeps_every_finished_batch_and_resumes(tmp_path):
    out = tmp_path / "run"
    journal = out / "responses.jsonl"
    command = [sys.executable, "-m", "bayeseffect", *ARGS, "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    engines: list[int] = []
    while time.monotonic() < deadline and not engines:
        if journal.exists() and len(journal.read_bytes().splitlines()) >= 4:
            engines = _engine_children(process.pid)
        time.sleep(0.02)
    assert engines, "the run never reached its second batch"
    os.kill(engines[0], signal.SIGSEGV)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 4
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the llama.cpp engine died (SIGSEGV)")
    manifest = json.loads((out / "run.json").read_text())
    assert any(path in lines[0] for path in manifest["model_paths"].values())

    # Every batch the engine finished is journaled whole; the dataset says so too.
    saved = read_journal(journal)
    assert len(saved) == len(journal.read_bytes().splitlines())
    assert len(saved) % 4 == 0 and 4 <= len(saved) < 24
    partial = load_dataset(out / "dataset.nc")
    assert int(partial["completed"].sum()) == len(saved)
    assert partial.attrs["llama_cpp_extra_weight_buffers"] == \
        ("on" if extra_buffers_safe() else "off (AMX build)")
    assert manifest["determinants"]["extra_weight_buffers"] == \
        partial.attrs["llama_cpp_extra_weight_buffers"]

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    records = read_journal(journal)
    assert len(records) == 24 == len(journal.read_bytes().splitlines())
    assert {k: r.text for k, r in records.items() if k in saved} == \
        {k: r.text for k, r in saved.items()}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_ctrl_c_reaches_the_engine_too_yet_the_run_exits_130_and_leaves_no_engine(tmp_path):
    out = tmp_path / "run"
    journal = out / "responses.jsonl"
    command = [sys.executable, "-m", "bayeseffect", *ARGS, "--out", str(out)]
    # Its own process group, as a terminal's Ctrl-C signals the whole foreground group.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    engines: list[int] = []
    while time.monotonic() < deadline and not engines:
        if journal.exists() and journal.read_bytes():
            engines = _engine_children(process.pid)
        time.sleep(0.02)
    assert engines
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode()
    assert not Path(f"/proc/{engines[0]}").exists() or \
        b"bayeseffect.engines.llama.worker" not in Path(f"/proc/{engines[0]}/cmdline").read_bytes()
    saved = read_journal(journal)
    assert len(saved) == len(journal.read_bytes().splitlines()) > 0
    assert int(load_dataset(out / "dataset.nc")["completed"].sum()) == len(saved)
