"""Finding a pinned file in a Hugging Face cache that holds several snapshots (issue 13: 16).

The cache is laid out on disk as huggingface_hub writes it: ``blobs/<sha256>`` holds each
LFS file once, ``snapshots/<commit>/<filename>`` links to it, ``refs/main`` names a commit.
"""

import os
from pathlib import Path

import pytest

from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs import catalog as model_catalog
from bayeseffect.pairs.catalog import (
    ArmSource,
    PairSpec,
    default_prompting,
    resolve_pair,
    sha256_file,
)


def _hf_cache(root: Path, versions: dict[str, bytes], *, linked: bool = True,
              main: str | None = None) -> Path:
    """Write ``models--org--tiny`` with one snapshot per commit, each holding tiny.gguf."""
    repo = root / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    for commit, data in versions.items():
        snapshot = repo / "snapshots" / commit
        snapshot.mkdir(parents=True)
        if linked:
            blob = repo / "blobs" / _sha256(data)
            blob.write_bytes(data)
            (snapshot / "tiny.gguf").symlink_to(os.path.relpath(blob, snapshot))
        else:
            (snapshot / "tiny.gguf").write_bytes(data)
    if main is not None:
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(main)
    return repo


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _spec(local: Path, pin: str | None) -> PairSpec:
    return PairSpec("hf", "", sources={
        "base": ArmSource("local", {"path": str(local)}),
        "instruct": ArmSource("huggingface", {"repo": "org/tiny", "filename": "tiny.gguf"},
                              sha256=pin)},
        prompting={arm: default_prompting(arm) for arm in ("base", "instruct")})


@pytest.fixture
def versions(tiny_pair):
    old = tiny_pair[1].read_bytes()
    new = tiny_pair[0].read_bytes() + b"\0" * 64  # another, larger version of the file
    assert _sha256(old) != _sha256(new)
    return old, new


@pytest.fixture
def counted_hashing(monkeypatch):
    hashed: list[Path] = []

    def counting(path: Path) -> str:
        hashed.append(Path(path).resolve())
        return sha256_file(path)

    monkeypatch.setattr(model_catalog, "sha256_file", counting)
    return hashed


# "ffff" sorts last: the old lookup took that snapshot whatever the pin said.
@pytest.mark.parametrize("pinned_commit", ["0000aaaa", "ffff0000"])
def test_the_pinned_version_is_found_among_linked_snapshots_hashing_it_once(
        tmp_path, monkeypatch, tiny_pair, versions, counted_hashing, pinned_commit):
    other = "ffff0000" if pinned_commit == "0000aaaa" else "0000aaaa"
    old, new = versions
    repo = _hf_cache(tmp_path / "hub", {pinned_commit: old, other: new})
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    resolved = resolve_pair(_spec(tiny_pair[0], _sha256(old)))["instruct"]
    assert resolved.path == (repo / "blobs" / _sha256(old)).resolve()
    assert resolved.sha256 == _sha256(old)
    # The blob's name told which snapshot to take; only that file is read, to verify it
    # (besides the local base arm).
    assert counted_hashing.count(resolved.path) == 1
    assert (repo / "blobs" / _sha256(new)).resolve() not in counted_hashing


def test_copied_snapshots_are_hashed_lazily_smallest_first_until_the_pin(
        tmp_path, monkeypatch, tiny_pair, counted_hashing):
    # Without symlinks (a copied cache) no blob name tells the hash: hash, cheapest first.
    small = tiny_pair[1].read_bytes()
    middle, big = small + b"\0" * 100, small + b"\0" * 5000
    repo = _hf_cache(tmp_path / "hub", {"aaaa": big, "bbbb": middle, "cccc": small},
                     linked=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    resolved = resolve_pair(_spec(tiny_pair[0], _sha256(middle)))["instruct"]
    assert resolved.path == (repo / "snapshots" / "bbbb" / "tiny.gguf").resolve()
    snapshots = [p for p in counted_hashing if "snapshots" in p.parts]
    # The smallest, then the match, whose digest is reused rather than computed again;
    # the biggest is never read.
    assert snapshots == [(repo / "snapshots" / c / "tiny.gguf").resolve()
                         for c in ("cccc", "bbbb")]


def test_no_snapshot_with_the_pin_is_one_line_naming_what_is_there(tmp_path, monkeypatch,
                                                                  tiny_pair, versions):
    old, new = versions
    _hf_cache(tmp_path / "hub", {"aaaa": old, "bbbb": new})
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(BayesEffectError) as error:
        resolve_pair(_spec(tiny_pair[0], "0" * 64))
    message = str(error.value)
    assert "\n" not in message
    assert "none of the 2 copies" in message and "sha256" in message
    assert _sha256(old)[:12] in message and _sha256(new)[:12] in message


def test_a_corrupt_blob_under_the_pinned_name_is_still_caught(tmp_path, monkeypatch,
                                                              tiny_pair, versions):
    old, new = versions
    repo = _hf_cache(tmp_path / "hub", {"aaaa": old})
    (repo / "blobs" / _sha256(old)).write_bytes(new)  # a broken download, say
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(BayesEffectError, match="the catalog pins"):
        resolve_pair(_spec(tiny_pair[0], _sha256(old)))


def test_without_a_pin_refs_main_decides(tmp_path, monkeypatch, tiny_pair, versions):
    old, new = versions
    repo = _hf_cache(tmp_path / "hub", {"aaaa": new, "ffff": old}, main="aaaa")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    resolved = resolve_pair(_spec(tiny_pair[0], None))["instruct"]
    assert resolved.path == (repo / "blobs" / _sha256(new)).resolve()
