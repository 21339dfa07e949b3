"""A LoRA adapter as (part of) an arm: catalog, checks, determinants, cache keys, provenance.

Tiny GGUF files (no model runs): a tiny base and adapters written for its one weight.
"""

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeFactory, write_tiny_gguf
from lora_gguf import write_lora_gguf

from bayeseffect.cli import main
from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import (
    GEMMA_TURNS,
    SAME_AS_BASE,
    load_pair_file,
    resolve_pair,
    sha256_file,
)
from bayeseffect.pairs.check import BY_CONSTRUCTION
from bayeseffect.sampling.response_cache import cell_key
from bayeseffect.sampling.types import Request
from bayeseffect.workflow.sample import dataset_attrs
from bayeseffect.workflow.spec import (
    _check_backend_applies_adapters,
    resolve_models,
    resolve_run,
)

#: The tiny base's one weight, as (in_features, out_features): ne = [8, 3].
TINY_WEIGHTS = {"token_embd.weight": (8, 3)}


@pytest.fixture
def tiny_base(tmp_path):
    return write_tiny_gguf(tmp_path / "base.gguf")


@pytest.fixture
def tiny_adapter(tmp_path):
    return write_lora_gguf(tmp_path / "adapter.gguf", arch="llama", rank=2,
                           weights=TINY_WEIGHTS)


def _catalog(folder: Path, adapter_table: str, *, instruct: str = 'source = "same-as-base"',
             prompting: str = "") -> Path:
    path = folder / "lora.toml"
    path.write_text(f'''name = "tiny-lora"
description = "tiny base vs tiny base + adapter"

[base]
source = "local"
path = "base.gguf"

[instruct]
{instruct}

[instruct.adapter]
{adapter_table}
{prompting}
''', encoding="utf-8")
    return path


def _resolved_spec(tmp_path, base, adapter, *, scale=None, variable="logic"):
    return resolve_run(variable, base=base, instruct_lora=adapter, lora_scale=scale, prompts=2,
                       replicates=1, open_generator=FakeFactory(),
                       runs_root=tmp_path / "runs")


def test_a_catalog_entry_gives_the_instruct_arm_the_base_file_plus_an_adapter(
        tmp_path, tiny_base, tiny_adapter):
    digest = sha256_file(tiny_adapter)
    spec = load_pair_file(_catalog(tmp_path, f'path = "{tiny_adapter.name}"\n'
                                             f'sha256 = "{digest}"\nscale = 0.5'))
    assert spec.sources["instruct"].kind == SAME_AS_BASE
    # Without [instruct.prompting], an adapter arm gets Gemma's turns as a completion frame.
    assert spec.prompting["instruct"] == GEMMA_TURNS
    assert spec.adapters["instruct"].path == tiny_adapter.resolve()
    arms = resolve_pair(spec)
    assert arms["instruct"].path == arms["base"].path == tiny_base.resolve()
    assert arms["instruct"].sha256 == arms["base"].sha256
    assert arms["instruct"].adapter is not None and arms["base"].adapter is None
    assert (arms["instruct"].adapter.sha256, arms["instruct"].adapter.scale) == (digest, 0.5)


def test_a_catalog_entry_keeps_its_own_prompting_for_an_adapter_arm(tmp_path, tiny_base,
                                                                    tiny_adapter):
    spec = load_pair_file(_catalog(
        tmp_path, f'path = "{tiny_adapter.name}"',
        prompting='[instruct.prompting]\nframe = "completion"\ntemplate = "Q: {question}\\nA:"'))
    assert spec.prompting["instruct"].template == "Q: {question}\nA:"
    assert spec.adapters["instruct"].scale == 1.0


def test_a_pinned_adapter_with_another_hash_is_a_one_line_error(tmp_path, tiny_base,
                                                                tiny_adapter):
    spec = load_pair_file(_catalog(tmp_path, f'path = "{tiny_adapter.name}"\n'
                                             f'sha256 = "{"0" * 64}"'))
    with pytest.raises(BayesEffectError, match=r"LoRA adapter file .* has sha256 .* but the "
                                                r"catalog pins 000000000000") as info:
        resolve_pair(spec)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("adapter_table", "instruct", "message"), [
    ("", 'source = "same-as-base"', "needs a path"),
    ('path = "a.gguf"\nrank = 4', 'source = "same-as-base"', "not rank"),
    ('path = "a.gguf"\nscale = "big"', 'source = "same-as-base"', "finite number"),
    ('path = "a.gguf"', 'source = "same-as-base"\nsha256 = "ab"', "takes no sha256"),
])
def test_bad_adapter_tables_are_one_line_errors(tmp_path, adapter_table, instruct, message):
    with pytest.raises(BayesEffectError, match=message) as info:
        load_pair_file(_catalog(tmp_path, adapter_table, instruct=instruct))
    assert "\n" not in str(info.value)


def test_same_as_base_without_an_adapter_is_an_error(tmp_path):
    path = tmp_path / "same.toml"
    path.write_text('name = "x"\n[base]\nsource = "local"\npath = "b.gguf"\n'
                    '[instruct]\nsource = "same-as-base"\n', encoding="utf-8")
    with pytest.raises(BayesEffectError, match=r"needs an \[instruct.adapter\] table"):
        load_pair_file(path)


def test_same_base_file_plus_adapter_is_matched_by_construction(tiny_base, tiny_adapter):
    models = resolve_models(base=tiny_base, instruct_lora=tiny_adapter, lora_scale=0.25)
    check = models.check
    assert not check.cross_family and check.reasons == () and check.warning == ""
    assert check.matched_by == BY_CONSTRUCTION
    assert "Matched by construction (same base file + LoRA adapter)" in check.note
    assert "scale 0.25" in check.note and "rank 2" in check.note
    info = check.to_dict()
    assert info["matched_by"] == BY_CONSTRUCTION
    assert info["adapters"]["instruct"]["architecture"] == "llama"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"arch": "gemma3"}, "is for architecture 'gemma3', but the model it is applied to is "
                         "'llama'"),
    ({"file_type": "model"}, "is not an adapter GGUF (general.type is 'model'"),
    ({"lora_type": "control_vector"}, "is a 'control_vector' adapter, not a LoRA"),
    ({"weights": {"blk.0.attn_q.weight": (8, 3)}}, "matches no weight of the model"),
    ({"weights": {"token_embd.weight": (9, 3)}}, "(that weight is [8, 3])"),
])
def test_an_adapter_that_does_not_fit_the_base_is_a_one_line_error(tmp_path, tiny_base,
                                                                   kwargs, message):
    options = {"arch": "llama", "rank": 2, "weights": TINY_WEIGHTS, **kwargs}
    adapter = write_lora_gguf(tmp_path / "bad.gguf", **options)
    with pytest.raises(BayesEffectError) as info:
        resolve_models(base=tiny_base, instruct_lora=adapter)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_missing_adapter_file_is_a_one_line_error(tmp_path, tiny_base):
    with pytest.raises(BayesEffectError,
                       match=r"instruct LoRA adapter file .*absent\.gguf does not exist"):
        resolve_models(base=tiny_base, instruct_lora=tmp_path / "absent.gguf")


def test_the_adapter_enters_determinants_cache_keys_and_provenance(tmp_path, tiny_base,
                                                                   tiny_adapter):
    spec = _resolved_spec(tmp_path, tiny_base, tiny_adapter, scale=0.5)
    models = spec.determinants["models"]
    digest = sha256_file(tiny_adapter)
    assert models["instruct"]["adapter"] == {"sha256": digest, "scale": 0.5}
    assert "adapter" not in models["base"]
    assert models["instruct"]["sha256"] == models["base"]["sha256"]
    assert models["instruct"]["prompting"] == asdict(GEMMA_TURNS)
    # Another scale, another adapter: another run.
    assert _resolved_spec(tmp_path, tiny_base, tiny_adapter, scale=1.0).fingerprint \
        != spec.fingerprint
    other = write_lora_gguf(tmp_path / "other.gguf", arch="llama", rank=2, seed=1,
                            weights=TINY_WEIGHTS)
    assert _resolved_spec(tmp_path, tiny_base, other, scale=0.5).fingerprint != spec.fingerprint
    # A cached response of the bare base file is never one of the base plus the adapter.
    contexts = spec.cache_context()
    assert contexts["instruct"]["adapter"] == {"sha256": digest, "scale": 0.5}
    assert "adapter" not in contexts["base"]
    request = Request("q", 1)
    bare = {**contexts["instruct"]}
    del bare["adapter"]
    assert cell_key(contexts["instruct"], request, [request]) != cell_key(bare, request,
                                                                           [request])
    manifest = spec.manifest()
    assert manifest["adapters"] == {"instruct": {"path": str(tiny_adapter.resolve()),
                                                 "sha256": digest, "scale": 0.5}}
    attrs = dataset_attrs(manifest)
    assert attrs["instruct_adapter_sha256"] == digest
    assert attrs["instruct_adapter_scale"] == 0.5
    assert attrs["instruct_adapter_path"] == str(tiny_adapter.resolve())
    assert attrs["matched_by"] == BY_CONSTRUCTION
    assert not any(key.startswith("base_adapter") for key in attrs)


def test_a_run_without_an_adapter_has_no_adapter_keys_anywhere(tmp_path, tiny_pair):
    spec = resolve_run("logic", base=tiny_pair[0], instruct=tiny_pair[1], prompts=2,
                       replicates=1, open_generator=FakeFactory(), runs_root=tmp_path / "runs")
    def keys(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield key
                yield from keys(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from keys(inner)

    found = set(keys(json.loads(json.dumps([spec.determinants, spec.cache_context(),
                                            spec.manifest()]))))
    assert not {k for k in found if "adapter" in k or k == "matched_by"}
    assert not any("adapter" in key or key == "matched_by"
                   for key in dataset_attrs(spec.manifest()))
    assert set(spec.manifest()["pair_check"]) == {"cross_family", "reasons", "base",
                                                  "instruct"}


def test_the_openai_backend_refuses_an_adapter_arm(tiny_base, tiny_adapter):
    models = resolve_models(base=tiny_base, instruct_lora=tiny_adapter)
    with pytest.raises(BayesEffectError, match="openai backend cannot apply a LoRA adapter"):
        _check_backend_applies_adapters(True, models)
    _check_backend_applies_adapters(False, models)


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


@pytest.mark.parametrize(("extra", "message"), [
    (["--instruct", "{base}"], "give either --instruct or --instruct-lora, not both"),
    (["--pair", "offline-default"], "give either --pair or --base/--instruct-lora"),
    (["--lora-scale", "nan"], "--lora-scale must be a finite number"),
    (["--backend", "openai", "--base-url", "http://127.0.0.1:9", "--instruct-url",
      "http://127.0.0.1:9"], "the openai backend cannot apply a LoRA adapter"),
])
def test_wrong_combinations_with_instruct_lora_are_one_line_errors(tmp_path, tiny_base,
                                                                   tiny_adapter, extra,
                                                                   message):
    args = ["sample", "-v", "logic", "--base", str(tiny_base), "--instruct-lora",
            str(tiny_adapter), *[a.format(base=tiny_base) for a in extra]]
    result, written = _invoke(args, tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert written == []


@pytest.mark.parametrize(("args", "message"), [
    (["--instruct-lora", "{adapter}"], "--instruct-lora needs --base"),
    (["--base", "{base}", "--instruct", "{base}", "--lora-scale", "0.5"],
     "--lora-scale applies only with --instruct-lora"),
    (["--base", "{base}", "--instruct-lora", "{missing}"],
     "instruct LoRA adapter file"),
])
def test_instruct_lora_without_its_partners_is_a_one_line_error(tmp_path, tiny_base,
                                                                tiny_adapter, args, message):
    names = {"base": tiny_base, "adapter": tiny_adapter, "missing": tmp_path / "no.gguf"}
    result, written = _invoke(["sample", "-v", "logic",
                               *[a.format(**names) for a in args]], tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert written == []


def test_every_variable_of_a_study_gets_the_adapter_arm(tmp_path, tiny_base, tiny_adapter):
    from bayeseffect.sampling.run_dir import read_manifest
    from bayeseffect.workflow.study import sample_all

    run_dirs, _, _ = sample_all(base=tiny_base, instruct_lora=tiny_adapter, lora_scale=0.5,
                                prompts=1, replicates=1, fit=False,
                                runs_root=tmp_path / "runs", open_generator=FakeFactory())
    assert run_dirs
    for run_dir in run_dirs:
        manifest = read_manifest(run_dir)
        assert manifest["adapters"]["instruct"]["scale"] == 0.5
        assert manifest["pair_check"]["matched_by"] == BY_CONSTRUCTION
