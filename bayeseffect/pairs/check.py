"""The pair check: a matched base/instruct pair, or two different model families.

A contrast between models that differ in architecture, tokenizer or size measures
instruction tuning *and* pretraining together. Such runs are marked cross-family, and
every effect reported from them says so.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

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

    """

    cross_family: bool
    reasons: tuple[str, ...]
    base: ModelInfo
    instruct: ModelInfo

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
        return {"cross_family": self.cross_family, "reasons": list(self.reasons), **info}


def check_pair(base: ModelInfo, instruct: ModelInfo) -> PairCheck:
    """Compare two models and decide whether they form a matched pair.

    Parameters
    ----------
    base, instruct
        The two models' identities.

    Returns
    -------
    PairCheck
        ``cross_family`` with the reasons.

    """
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
                     instruct=instruct)
