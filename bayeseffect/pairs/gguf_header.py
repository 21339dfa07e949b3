"""Read a GGUF file's metadata and tensor shapes without loading weights.

A small reader of the GGUF header (key/value metadata, then tensor infos), written
because ``gguf.GGUFReader`` materializes every vocabulary entry and takes seconds on a
262k-token vocabulary. Large arrays are skipped and hashed in place, not decoded.
"""

import hashlib
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayeseffect.errors import BayesEffectError

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
#: Arrays longer than this are summarized (length and hash), not decoded.
_DECODE_LIMIT = 64


@dataclass(frozen=True)
class GGUFArray:
    """A summarized metadata array: its length and a hash of its raw bytes."""

    length: int
    sha256: str


@dataclass(frozen=True)
class GGUFHeader:
    """What a GGUF file says about itself.

    Attributes
    ----------
    version
        GGUF format version.
    metadata
        Key -> value; long arrays appear as :class:`GGUFArray`.
    n_parameters
        Total number of weights over all tensors.
    tensor_shapes
        Tensor name -> its dimensions in GGUF order (``ne``: the row length first).

    """

    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    n_parameters: int = 0
    tensor_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a metadata value, or ``default`` when absent."""
        return self.metadata.get(key, default)


class _Cursor:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer = buffer
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.buffer, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        raw = self.buffer[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.pos += 8 + struct.unpack_from("<Q", self.buffer, self.pos)[0]

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            return self.array()
        raise ValueError(f"unknown GGUF value type {vtype}")

    def array(self) -> Any:
        etype = self.unpack("<I")
        count = self.unpack("<Q")
        if count <= _DECODE_LIMIT:
            return [self.value(etype) for _ in range(count)]
        start = self.pos
        if etype == _STRING:
            for _ in range(count):
                self.skip_string()
        elif etype in _SCALARS:
            self.pos += count * struct.calcsize(_SCALARS[etype])
        else:
            for _ in range(count):
                self.value(etype)
        digest = hashlib.sha256(self.buffer[start : self.pos]).hexdigest()
        return GGUFArray(length=count, sha256=digest)


def read_gguf_header(path: Path) -> GGUFHeader:
    """Parse the header of a GGUF file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    GGUFHeader
        Its metadata, parameter count and tensor shapes.

    """
    try:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0,
                                                 access=mmap.ACCESS_READ) as buffer:
            if buffer[:4] != b"GGUF":
                raise BayesEffectError(f"{path} is not a GGUF file")
            cursor = _Cursor(buffer)
            cursor.pos = 4
            version = cursor.unpack("<I")
            n_tensors = cursor.unpack("<Q")
            n_kv = cursor.unpack("<Q")
            metadata = {}
            for _ in range(n_kv):
                key = cursor.string()
                metadata[key] = cursor.value(cursor.unpack("<I"))
            n_parameters = 0
            shapes = {}
            for _ in range(n_tensors):
                name = cursor.string()
                n_dims = cursor.unpack("<I")
                shape = tuple(cursor.unpack("<Q") for _ in range(n_dims))
                cursor.pos += 4 + 8
                count = 1
                for n in shape:
                    count *= n
                n_parameters += count
                shapes[name] = shape
    except (struct.error, ValueError, OSError) as exc:
        raise BayesEffectError(f"{path} has a damaged GGUF header ({exc}); "
                               "re-download or re-convert the file") from exc
    return GGUFHeader(version=version, metadata=metadata, n_parameters=n_parameters,
                      tensor_shapes=shapes)
