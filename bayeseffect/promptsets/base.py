"""The prompt-set data types shared by every generator."""

import hashlib
import json
from dataclasses import asdict, dataclass, field


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

    """

    name: str
    version: str
    seed: int
    items: tuple[PromptItem, ...]
    factor_names: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """Hash of the items' canonical JSON: equal hashes mean byte-identical prompts."""
        payload = json.dumps([asdict(item) for item in self.items], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_jsonl(self) -> str:
        """Return the items as JSON lines, one item per line, for inspection and archiving."""
        return "".join(json.dumps(asdict(item), sort_keys=True) + "\n" for item in self.items)
