import pytest
from conftest import write_tiny_gguf

from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.catalog import (
    ArmSource,
    PairSpec,
    default_prompting,
    list_pairs,
    load_pair,
    load_pair_file,
    resolve_pair,
    sha256_file,
)
from bayeseffect.pairs.check import check_pair, model_info, read_model_info
from bayeseffect.pairs.gguf_header import read_gguf_header


def test_default_pair_is_in_the_catalog_with_both_prompting_frames():
    spec = load_pair("offline-default")
    assert spec.prompting["base"].frame == "completion"
    assert spec.prompting["instruct"].frame == "chat"
    assert "offline-default" in list_pairs()


def test_offline_pair_is_cross_family_for_three_reasons(offline_pair_files):
    base, instruct = offline_pair_files
    check = check_pair(read_model_info(base), read_model_info(instruct))
    assert check.cross_family
    assert [r.split(" ")[0] for r in check.reasons] == ["architecture", "tokenizer", "size"]
    assert "NOT the effect of instruction tuning" in check.warning
    assert check.instruct.chat_template and not check.base.chat_template


def test_header_reader_matches_gguf_package(offline_pair_files):
    from gguf import GGUFReader

    path = offline_pair_files[1]
    ours = read_gguf_header(path)
    theirs = GGUFReader(str(path))
    assert ours.get("general.architecture") == theirs.fields["general.architecture"].contents()
    assert ours.n_parameters == sum(int(t.n_elements) for t in theirs.tensors)
    assert ours.get("tokenizer.ggml.tokens").length == len(
        theirs.fields["tokenizer.ggml.tokens"].data)


def test_matched_pair_is_not_cross_family(tiny_pair):
    check = check_pair(read_model_info(tiny_pair[0]), read_model_info(tiny_pair[1]))
    assert not check.cross_family and check.warning == ""


def test_different_token_lists_are_cross_family(tmp_path):
    a = model_info(read_gguf_header(write_tiny_gguf(tmp_path / "a.gguf")))
    b = model_info(read_gguf_header(write_tiny_gguf(tmp_path / "b.gguf", tokens=("x", "y", "z"))))
    assert check_pair(a, b).reasons == ("tokenizer (same size, different token lists)",)


def test_huggingface_source_found_in_local_cache_and_hash_checked(tmp_path, monkeypatch, tiny_pair):
    snapshot = tmp_path / "hub" / "models--org--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    target = snapshot / "tiny.gguf"
    target.write_bytes(tiny_pair[1].read_bytes())
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    digest = sha256_file(target)
    spec = PairSpec("hf", "", sources={
        "base": ArmSource("local", {"path": str(tiny_pair[0])}),
        "instruct": ArmSource("huggingface", {"repo": "org/tiny", "filename": "tiny.gguf"},
                              sha256=digest)},
        prompting={arm: default_prompting(arm) for arm in ("base", "instruct")})
    assert resolve_pair(spec)["instruct"].path == target.resolve()
    bad = PairSpec("hf", "", sources={**spec.sources, "instruct": ArmSource(
        "huggingface", {"repo": "org/tiny", "filename": "tiny.gguf"}, sha256="0" * 64)},
        prompting=spec.prompting)
    with pytest.raises(BayesEffectError, match="sha256"):
        resolve_pair(bad)
    missing = PairSpec("hf", "", sources={**spec.sources, "instruct": ArmSource(
        "huggingface", {"repo": "org/absent", "filename": "x.gguf"}, sha256=digest)},
        prompting=spec.prompting)
    with pytest.raises(BayesEffectError, match="never downloads, run `hf download org/absent"):
        resolve_pair(missing)


def test_catalog_file_errors_are_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[base]\nsource = "ftp"\n[instruct]\nsource = "local"\n'
                    'path = "x.gguf"\n')
    with pytest.raises(BayesEffectError, match="source must be one of"):
        load_pair_file(path)
    path.write_text('name = "bad"\n[base]\nsource = "local"\npath = "a.gguf"\n'
                    '[base.prompting]\nframe = "completion"\ntemplate = "no slot"\n'
                    '[instruct]\nsource = "local"\npath = "b.gguf"\n')
    with pytest.raises(BayesEffectError, match=r"must contain \{question\}"):
        load_pair_file(path)
