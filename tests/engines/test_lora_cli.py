"""``sample --base BASE --instruct-lora ADAPTER`` on the real gemma-3-270m base, end to end."""

import json
import os

import pytest
import xarray as xr
from click.testing import CliRunner
from lora_gguf import write_lora_gguf

from bayeseffect.cli import main
from bayeseffect.pairs.catalog import sha256_file
from bayeseffect.pairs.check import BY_CONSTRUCTION
from bayeseffect.sampling.types import SamplingParams
from bayeseffect.workflow.spec import resolve_run

pytestmark = pytest.mark.llm


def test_a_lora_run_writes_the_adapters_provenance_and_its_own_fingerprint(
        tmp_path, offline_pair_files):
    base = offline_pair_files[0]
    adapter = write_lora_gguf(tmp_path / "random-lora.gguf", rank=4, std=0.02,
                              targets=("attn_q", "attn_v"))
    run_dir = tmp_path / "run"
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, [
            "sample", "-v", "logic", "--base", str(base), "--instruct-lora", str(adapter),
            "-n", "2", "-r", "1", "--max-tokens", "8", "--no-fit", "--no-cache",
            "--threads", "2", "--out", str(run_dir)])
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output + result.stderr
    assert "Matched by construction (same base file + LoRA adapter)" in result.output
    assert "CROSS-FAMILY" not in result.output
    digest = sha256_file(adapter)
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["adapters"]["instruct"] == {"path": str(adapter.resolve()),
                                                "sha256": digest, "scale": 1.0}
    assert manifest["determinants"]["models"]["instruct"]["adapter"] == {"sha256": digest,
                                                                         "scale": 1.0}
    assert manifest["pair_check"]["matched_by"] == BY_CONSTRUCTION
    with xr.open_dataset(run_dir / "dataset.nc", engine="h5netcdf") as ds:
        attrs = dict(ds.attrs)
        assert bool(ds["completed"].all())
    assert attrs["instruct_adapter_sha256"] == digest
    assert attrs["instruct_adapter_scale"] == 1.0
    assert attrs["instruct_adapter_path"] == str(adapter.resolve())
    assert attrs["cross_family"] == 0
    assert attrs["base_model_sha256"] == attrs["instruct_model_sha256"]
    assert "<start_of_turn>" in attrs["instruct_prompting"]
    # The same run at another scale is another run; at the same scale, this one.
    same = dict(variable="logic", base=base, instruct_lora=adapter, prompts=2, replicates=1)
    params = SamplingParams(max_tokens=8, threads=2)
    assert resolve_run(**same, lora_scale=0.5, params=params,
                       runs_root=tmp_path / "runs").fingerprint != manifest["fingerprint"]
    assert resolve_run(**same, params=params, out=run_dir).fingerprint == manifest["fingerprint"]
