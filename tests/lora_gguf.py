"""Write small LoRA adapter GGUF files the way llama.cpp's convert_lora_to_gguf.py does.

PEFT keeps ``lora_A`` as ``(r, in_features)`` and ``lora_B`` as ``(out_features, r)``;
the converter writes those numpy arrays as they are, so llama.cpp sees ``a`` with
``ne = [in, r]`` and ``b`` with ``ne = [r, out]`` against a base weight of
``ne = [in, out]``.
"""

from pathlib import Path

import numpy as np

#: gemma-3-270m's projection shapes, (in_features, out_features) as PEFT sees them
#: (hidden 640, 4 query heads and 1 key/value head of 256, feed-forward 2048).
GEMMA3_270M_SHAPES = {
    "attn_q": (640, 1024),
    "attn_k": (640, 256),
    "attn_v": (640, 256),
    "attn_output": (1024, 640),
    "ffn_gate": (640, 2048),
    "ffn_up": (640, 2048),
    "ffn_down": (2048, 640),
}
GEMMA3_270M_BLOCKS = 18


def write_lora_gguf(path: Path, *, arch: str = "gemma3", rank: int = 4, alpha: float = 32.0,
                    blocks: range | None = None, targets: tuple[str, ...] = ("attn_q", "attn_v"),
                    seed: int = 0, std: float = 0.05, dtype: type = np.float32,
                    file_type: str = "adapter", lora_type: str = "lora",
                    weights: dict[str, tuple[int, int]] | None = None,
                    b_factor: float = 1.0) -> Path:
    """Write a random LoRA adapter and return its path.

    By default for gemma-3-270m: ``targets`` in every block (or ``blocks``); ``weights``
    names the adapted weights and their ``(in_features, out_features)`` instead.
    ``b_factor`` multiplies every ``lora_b`` after drawing (the same draws otherwise).
    """
    import gguf

    if weights is None:
        weights = {f"blk.{block}.{target}.weight": GEMMA3_270M_SHAPES[target]
                   for block in (blocks if blocks is not None else range(GEMMA3_270M_BLOCKS))
                   for target in targets}
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_type(file_type)
    writer.add_string(gguf.Keys.Adapter.TYPE, lora_type)
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for name, (n_in, n_out) in weights.items():
        lora_a = rng.normal(0.0, std, (rank, n_in))
        lora_b = rng.normal(0.0, std, (n_out, rank)) * b_factor
        writer.add_tensor(f"{name}.lora_a", lora_a.astype(dtype))
        writer.add_tensor(f"{name}.lora_b", lora_b.astype(dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
