"""The prompt-set data types shared by every generator."""

import hashlib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bayeseffect.errors import BayesEffectError


@dataclass(frozen=True)
class PromptItem:
    """One prompt: the question both arms see, its known answer and its design factors.

    Attributes
    ----------
    prompt_id
        Stable identifier, unique within the set (``logic-0007``).
    question
        The text both arms receive, ending in the answer cue.
    expected
        The correct answer, as the scorer reports it (``"yes"`` or ``"no"``).
    family
        The surface template family; the fit gives each family its own arm slope.
    factors
        Prompt-level design factors (name -> value), stored as dataset coordinates.

    """

    prompt_id: str
    question: str
    expected: str
    family: str
    factors: dict[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptSet:
    """A generated prompt set with what is needed to regenerate it exactly.

    Attributes
    ----------
    name
        Prompt-set name (``logic``).
    version
        Version of the prompt-set definition; bumped whenever its data file changes.
    seed
        Seed the items were generated with.
    items
        The items, in generation order.
    factor_names
        Names of the design factors every item carries, in a fixed order.
    crossed_factor
        The factor crossed with the families (each of its levels asked in several
        families), which the fit gives its own random effects; ``""`` for none.

    """

    name: str
    version: str
    seed: int
    items: tuple[PromptItem, ...]
    factor_names: tuple[str, ...]
    crossed_factor: str = ""

    @property
    def sha256(self) -> str:
        """Hash of the items' canonical JSON: equal hashes mean byte-identical prompts."""
        payload = json.dumps([asdict(item) for item in self.items], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_jsonl(self) -> str:
        """Return the items as JSON lines, one item per line, for inspection and archiving."""
        return "".join(json.dumps(asdict(item), sort_keys=True) + "\n" for item in self.items)


def read_definition(path: Path, *, required: tuple[str, ...]) -> dict[str, Any]:
    """Read a prompt-set definition TOML; errors name an unreadable file or a missing key.

    Parameters
    ----------
    path
        The definition file.
    required
        Top-level keys the file must have.

    Returns
    -------
    dict
        The parsed definition.
    """
    try:
        definition = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BayesEffectError(f"cannot read prompt-set definition {path}: {exc}") from exc
    for key in required:
        if key not in definition:
            raise BayesEffectError(f"prompt-set definition {path} lacks the key {key!r}")
    return definition


def require_prompts(n_prompts: int) -> None:
    """Refuse an empty prompt set with a one-line error."""
    if n_prompts < 1:
        raise BayesEffectError(
            f"the prompt set would be empty (--prompts {n_prompts}); ask for at least 1 prompt"
        )


def cycled_pick[T](values: Sequence[T], *, seed: int, stream: int, index: int) -> T:
    """Return the ``index``-th pick of ``values``, balanced over passes.

    Each pass of ``len(values)`` picks uses every value once, in an order drawn from
    ``(seed, stream, pass)``.

    Parameters
    ----------
    values
        The values to balance.
    seed, stream
        The prompt set's seed and a stream number distinct for each factor.
    index
        The pick's position.

    Returns
    -------
    T
        The value picked.
    """
    n = len(values)
    order = np.random.default_rng([seed, stream, index // n]).permutation(n)
    return values[int(order[index % n])]
