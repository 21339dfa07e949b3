"""The pair check: a matched base/instruct pair, or two different model families.

A contrast between models that differ in architecture, tokenizer or size measures
instruction tuning *and* pretraining together. Such runs are marked cross-family, and
every effect reported from them says so. A treatment arm that is the base file itself
plus a LoRA adapter is matched by construction: the only difference is the adapter.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bayeseffect.errors import BayesEffectError
from bayeseffect.pairs.gguf_header import GGUFArray, GGUFHeader, read_gguf_header

#: Relative difference in parameter count above which two models count as different sizes.
SIZE_TOLERANCE = 0.02

#: Appended to the title of every table of a cross-family run (the warning is printed above).
CROSS_FAMILY_TAG = " (CROSS-FAMILY)"


def cross_family_warning(reasons: str = "") -> str:
    """Word the warning that every output of a cross-family run carries.

    The one wording: the sample command, the report's table, ``summary.json``, every
    figure and the study table all print what this returns.

    Parameters
    ----------
    reasons
        The differences found, ``"; "``-joined as in :attr:`PairCheck.reasons` and the
        dataset's ``cross_family_reasons``; empty where they are not known (a study
        table or figure that gathers several runs).

    Returns
    -------
    str
        The warning.
    """
    differ = reasons or "more than instruction tuning"
    return (f"CROSS-FAMILY PAIR: the base and instruct models differ in {differ}. This "
            "contrast confounds instruction tuning with pretraining, architecture and size; "
            "it is NOT the effect of instruction tuning.")


@dataclass(frozen=True)
class ModelInfo:
    """Identity of one GGUF model, from its header.

    Attributes
    ----------
    name
        ``general.name``.
    architecture
        ``general.architecture`` (``llama``, ``gemma3``, ...).
    size_label
        ``general.size_label`` (``270M``), or empty.
    n_parameters
        Total weights.
    n_layers
        ``<arch>.block_count``.
    embedding_length
        ``<arch>.embedding_length``.
    tokenizer
        ``tokenizer.ggml.model``.
    vocab_size
        Number of tokens.
    vocab_sha256
        Hash of the token list.
    chat_template
        ``tokenizer.chat_template``, or empty.

    """

    name: str
    architecture: str
    size_label: str
    n_parameters: int
    n_layers: int
    embedding_length: int
    tokenizer: str
    vocab_size: int
    vocab_sha256: str
    chat_template: str


def model_info(header: GGUFHeader) -> ModelInfo:
    """Summarize a parsed header as a :class:`ModelInfo`."""
    arch = str(header.get("general.architecture", ""))
    tokens = header.get("tokenizer.ggml.tokens")
    if isinstance(tokens, GGUFArray):
        vocab_size, vocab_sha = tokens.length, tokens.sha256
    else:
        tokens = list(tokens or [])
        vocab_size = len(tokens)
        vocab_sha = hashlib.sha256(json.dumps(tokens).encode("utf-8")).hexdigest()
    return ModelInfo(
        name=str(header.get("general.name", "")),
        architecture=arch,
        size_label=str(header.get("general.size_label", "")),
        n_parameters=header.n_parameters,
        n_layers=int(header.get(f"{arch}.block_count", 0)),
        embedding_length=int(header.get(f"{arch}.embedding_length", 0)),
        tokenizer=str(header.get("tokenizer.ggml.model", "")),
        vocab_size=vocab_size,
        vocab_sha256=vocab_sha,
        chat_template=str(header.get("tokenizer.chat_template", "")),
    )


def read_model_info(path: Path) -> ModelInfo:
    """Read a GGUF file's header and summarize it."""
    return model_info(read_gguf_header(path))


@dataclass(frozen=True)
class AdapterInfo:
    """Identity of one LoRA adapter GGUF, from its header.

    Attributes
    ----------
    name
        ``general.name``, or the file name.
    architecture
        ``general.architecture``: the model family it was trained for.
    alpha
        ``adapter.lora.alpha`` (0 when absent: llama.cpp then scales by the scale alone).
    rank
        The LoRA rank ``r`` (of its first ``lora_a`` tensor).
    n_tensors
        Base weights it changes.
    sha256
        The file's hash.
    scale
        How strongly it is applied.

    """

    name: str
    architecture: str
    alpha: float
    rank: int
    n_tensors: int
    sha256: str
    scale: float


def check_adapter(path: Path, model: GGUFHeader, *, sha256: str, scale: float,
                  arm: str = "instruct") -> AdapterInfo:
    """Check that ``path`` is a LoRA adapter for ``model``, and describe it.

    Parameters
    ----------
    path
        The adapter GGUF.
    model
        The header of the model file it is applied to.
    sha256, scale
        The adapter's hash (computed when it was resolved) and scale.
    arm
        The arm, for messages.

    Returns
    -------
    AdapterInfo
        The adapter's identity.

    Raises
    ------
    BayesEffectError
        One line: not an adapter GGUF (``general.type``), not a LoRA (``adapter.type``),
        trained for another architecture than the model's, or a tensor that matches no
        weight of the model, or not its shape.
    """
    header = read_gguf_header(path)
    kind = header.get("general.type")
    if kind != "adapter":
        raise BayesEffectError(
            f"{arm} LoRA adapter {path} is not an adapter GGUF (general.type is {kind!r}, not "
            "'adapter'); give the adapter file llama.cpp's convert_lora_to_gguf.py writes")
    lora = header.get("adapter.type")
    if lora != "lora":
        raise BayesEffectError(f"{arm} LoRA adapter {path} is a {lora!r} adapter, not a LoRA "
                               "(adapter.type must be 'lora')")
    arch = str(header.get("general.architecture", ""))
    base_arch = str(model.get("general.architecture", ""))
    if arch != base_arch:
        raise BayesEffectError(f"{arm} LoRA adapter {path} is for architecture {arch!r}, but "
                               f"the model it is applied to is {base_arch!r}; use an adapter "
                               "trained on this base model")
    rank = 0
    for name, shape in header.tensor_shapes.items():
        target = name.removesuffix(".lora_a").removesuffix(".lora_b")
        weight = model.tensor_shapes.get(target)
        # ne order: lora_a is [in, r], lora_b is [r, out] for a weight of [in, out].
        fits = (weight is not None and len(shape) == 2 and len(weight) == 2
                and name.endswith((".lora_a", ".lora_b"))
                and (shape[0] == weight[0] if name.endswith(".lora_a")
                     else shape[1] == weight[1]))
        if not fits:
            raise BayesEffectError(
                f"{arm} LoRA adapter {path}: its tensor {name} {list(shape)} matches no weight "
                f"of the model" + (f" (that weight is {list(weight)})" if weight else "")
                + "; use an adapter trained on this base model")
        if name.endswith(".lora_a") and not rank:
            rank = shape[1]
    return AdapterInfo(name=str(header.get("general.name", "")) or path.name,
                       architecture=arch, alpha=float(header.get("adapter.lora.alpha", 0.0)),
                       rank=rank, n_tensors=len(header.tensor_shapes) // 2, sha256=sha256,
                       scale=scale)


#: How a pair check's result says that the treatment is the base file plus an adapter.
BY_CONSTRUCTION = "same base file + LoRA adapter"


@dataclass(frozen=True)
class PairCheck:
    """The verdict of the pair check.

    Attributes
    ----------
    cross_family
        True when the models differ in architecture, tokenizer or size.
    reasons
        Each difference found, in words.
    base
        The base model's identity.
    instruct
        The instruct model's identity.
    matched_by
        ``""`` when the verdict comes from comparing the headers; :data:`BY_CONSTRUCTION`
        when both arms are the same file and the treatment adds a LoRA adapter.
    adapters
        Arm -> the LoRA adapter it applies (arms without one are absent).

    """

    cross_family: bool
    reasons: tuple[str, ...]
    base: ModelInfo
    instruct: ModelInfo
    matched_by: str = ""
    adapters: Mapping[str, AdapterInfo] = field(default_factory=dict)

    @property
    def note(self) -> str:
        """One line saying how the pair is matched when it is so by construction, else empty."""
        if not self.matched_by:
            return ""
        described = "; ".join(f"{arm}: {a.name} (rank {a.rank}, alpha {a.alpha:g}, scale "
                              f"{a.scale:g}, {a.n_tensors} weights)"
                              for arm, a in self.adapters.items())
        return (f"Matched by construction ({self.matched_by}): both arms run the same base "
                f"file, and the treatment adds the LoRA adapter ({described}); the contrast "
                "measures what the adapter does.")

    @property
    def warning(self) -> str:
        """The warning every report of a cross-family run carries; empty when matched."""
        if not self.cross_family:
            return ""
        return cross_family_warning("; ".join(self.reasons))

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (chat templates omitted)."""
        info = {arm: {k: v for k, v in asdict(m).items() if k != "chat_template"}
                for arm, m in (("base", self.base), ("instruct", self.instruct))}
        out: dict[str, object] = {"cross_family": self.cross_family,
                                  "reasons": list(self.reasons), **info}
        # Only with an adapter: a run without one keeps the manifest it always had.
        if self.adapters:
            out["matched_by"] = self.matched_by
            out["adapters"] = {arm: asdict(a) for arm, a in self.adapters.items()}
        return out


def check_pair(base: ModelInfo, instruct: ModelInfo, *, same_file: bool = False,
               adapters: Mapping[str, AdapterInfo] | None = None) -> PairCheck:
    """Compare two models and decide whether they form a matched pair.

    Parameters
    ----------
    base, instruct
        The two models' identities.
    same_file
        Whether both arms run the very same file (equal sha256).
    adapters
        Arm -> the LoRA adapter it applies (checked by :func:`check_adapter`).

    Returns
    -------
    PairCheck
        ``cross_family`` with the reasons; matched by construction when both arms are
        the same file and only adapters tell them apart.

    """
    adapters = dict(adapters or {})
    if same_file and adapters:
        return PairCheck(cross_family=False, reasons=(), base=base, instruct=instruct,
                         matched_by=BY_CONSTRUCTION, adapters=adapters)
    reasons = []
    if base.architecture != instruct.architecture:
        reasons.append(f"architecture ({base.architecture} vs {instruct.architecture})")
    if base.tokenizer != instruct.tokenizer or base.vocab_size != instruct.vocab_size:
        reasons.append(f"tokenizer ({base.tokenizer}, {base.vocab_size} tokens vs "
                       f"{instruct.tokenizer}, {instruct.vocab_size} tokens)")
    elif base.vocab_sha256 != instruct.vocab_sha256:
        reasons.append("tokenizer (same size, different token lists)")
    largest = max(base.n_parameters, instruct.n_parameters, 1)
    if (abs(base.n_parameters - instruct.n_parameters) / largest > SIZE_TOLERANCE
            or (base.n_layers, base.embedding_length)
            != (instruct.n_layers, instruct.embedding_length)):
        reasons.append(f"size ({base.n_parameters / 1e6:.0f}M vs "
                       f"{instruct.n_parameters / 1e6:.0f}M parameters)")
    return PairCheck(cross_family=bool(reasons), reasons=tuple(reasons), base=base,
                     instruct=instruct, adapters=adapters)
