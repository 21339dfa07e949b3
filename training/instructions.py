"""The instruction data we wrote for our LoRA (``training/data/*.toml``): read, check, hash, split.

Standard library only, so CI checks the data (format, size, no 8-gram shared with any prompt
set) without installing torch.
"""

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Gemma's turn format (the base GGUF has no chat template, so the recipe and the catalog
#: entry of the adapter arm both spell it out).
USER_TURN = "<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"
MODEL_END = "<end_of_turn>\n"

#: One item in twenty is held out of training, for the manipulation check.
HELD_OUT_EVERY = 20


@dataclass(frozen=True)
class Turn:
    """One user message and the response the adapter learns to give."""

    user: str
    assistant: str


@dataclass(frozen=True)
class Conversation:
    """One item: an id, a category and one or more turns."""

    item_id: str
    category: str
    turns: tuple[Turn, ...]

    @property
    def held_out(self) -> bool:
        """Whether the item is kept out of training (chosen by a hash of its id)."""
        digest = hashlib.sha256(self.item_id.encode()).digest()
        return int.from_bytes(digest[:4], "big") % HELD_OUT_EVERY == 0


@dataclass(frozen=True)
class InstructionData:
    """Every part of the data, with its version and the hash of its content."""

    version: int
    license: str
    conversations: tuple[Conversation, ...]
    sha256: str

    def split(self) -> tuple[tuple[Conversation, ...], tuple[Conversation, ...]]:
        """Return (training items, held-out items)."""
        train = tuple(c for c in self.conversations if not c.held_out)
        held = tuple(c for c in self.conversations if c.held_out)
        return train, held


class InstructionDataError(ValueError):
    """A data file is malformed: the message names the file, the item and the fix."""


def _conversation(item: dict, *, path: Path) -> Conversation:
    item_id = item.get("id")
    turns = item.get("turns")
    if not item_id or not item.get("category") or not turns:
        raise InstructionDataError(f"{path}: item {item_id!r} needs an id, a category and "
                                   "at least one [[items.turns]]")
    parsed = []
    for turn in turns:
        user, assistant = str(turn.get("user", "")).strip(), str(turn.get("assistant", "")).strip()
        if not user or not assistant or set(turn) != {"user", "assistant"}:
            raise InstructionDataError(f"{path}: item {item_id!r} has a turn without exactly "
                                       "a user and an assistant text")
        parsed.append(Turn(user=user, assistant=assistant))
    return Conversation(item_id=str(item_id), category=str(item["category"]),
                        turns=tuple(parsed))


def load_instructions(data_dir: Path = DATA_DIR) -> InstructionData:
    """Read every ``*.toml`` part in ``data_dir`` (sorted by name) and check it.

    Parameters
    ----------
    data_dir
        Folder of the parts.

    Returns
    -------
    InstructionData
        All conversations, in file then item order, with a hash of their content (the
        parsed items, so a comment or whitespace edit keeps the hash).

    Raises
    ------
    InstructionDataError
        A part without its header keys, with a bad item, a duplicate id, or parts that
        disagree on version or license.
    """
    parts = sorted(data_dir.glob("*.toml"))
    if not parts:
        raise InstructionDataError(f"no instruction data (*.toml) in {data_dir}")
    conversations: list[Conversation] = []
    versions, licenses, seen = set(), set(), set()
    for path in parts:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        missing = [k for k in ("name", "part", "version", "license", "items") if k not in data]
        if missing:
            raise InstructionDataError(f"{path}: missing top-level keys {', '.join(missing)}")
        versions.add(int(data["version"]))
        licenses.add(str(data["license"]))
        for item in data["items"]:
            conversation = _conversation(item, path=path)
            if conversation.item_id in seen:
                raise InstructionDataError(f"{path}: duplicate item id "
                                           f"{conversation.item_id!r}")
            seen.add(conversation.item_id)
            conversations.append(conversation)
    if len(versions) != 1 or len(licenses) != 1:
        raise InstructionDataError(f"the parts in {data_dir} disagree on version or license: "
                                   f"{sorted(versions)} / {sorted(licenses)}")
    canonical = json.dumps([[c.item_id, c.category, [[t.user, t.assistant] for t in c.turns]]
                            for c in conversations], ensure_ascii=False)
    return InstructionData(version=versions.pop(), license=licenses.pop(),
                           conversations=tuple(conversations),
                           sha256=hashlib.sha256(canonical.encode()).hexdigest())


def render_segments(conversation: Conversation) -> list[tuple[str, bool]]:
    """Return the conversation in Gemma's turn format as ``(text, trained_on)`` segments.

    The loss is on the model's responses and their ``<end_of_turn>`` only: the user's turns
    (and the BOS token the tokenizer adds) are context.
    """
    segments: list[tuple[str, bool]] = []
    for turn in conversation.turns:
        segments.append((USER_TURN.format(text=turn.user), False))
        segments.append((turn.assistant + "<end_of_turn>", True))
        segments.append(("\n", False))
    return segments
