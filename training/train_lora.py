"""Train bayeseffect's instruction-tuning LoRA for gemma-3-270m, in resumable chunks.

Run in the ``train`` environment (torch, transformers, peft, gguf; see training/README.md)::

    python training/train_lora.py train --minutes 10     # repeat until it says "done"
    python training/train_lora.py export                 # the adapter GGUF + reference logits
    python training/train_lora.py check                  # the manipulation check

Every invocation of ``train`` resumes from the newest checkpoint in ``--work`` and stops at a
step boundary after ``--minutes``, so a killed run loses at most one chunk. The checkpoints
at ``STAGES`` steps are kept: they are the training stages and doses of later designs.
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.instructions import (
    USER_TURN,
    Conversation,
    load_instructions,
    render_segments,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORK = ROOT / "training" / "runs" / "sft-v1"
ADAPTER_DIR = ROOT / "models" / "adapters"
ADAPTER_NAME = "gemma-3-270m-bayeseffect-sft-v1"

#: llama.cpp's tensor names for the modules the LoRA adapts.
GGUF_NAMES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v",
              "o_proj": "attn_output", "gate_proj": "ffn_gate", "up_proj": "ffn_up",
              "down_proj": "ffn_down"}


@dataclass(frozen=True)
class Recipe:
    """Every setting that shapes the adapter; recorded in its GGUF and in models/."""

    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.0
    learning_rate: float = 2e-4
    warmup_steps: int = 10
    epochs: int = 2
    batch_conversations: int = 8
    max_tokens: int = 512
    seed: int = 0
    stages: tuple[int, ...] = (10, 25, 50, 100)


def base_gguf() -> Path:
    """Return the shipped gemma-3-270m base GGUF (assembled from its PyPI package)."""
    try:
        from bayeseffect.pairs.catalog import load_pair, resolve_pair

        return resolve_pair(load_pair("offline-default"))["base"].path
    except Exception as error:  # the train environment may lack the model packages
        raise SystemExit(f"error: cannot find the base GGUF ({error}); pass --base FILE "
                         "(`uv run python training/base_path.py` prints it)") from error


def load_base(path: Path, *, threads: int, cache: Path | None = None):
    """Load gemma-3-270m from its GGUF with transformers, dequantized to dense float32.

    transformers would otherwise keep the Q4_K blocks packed and dequantize them in every
    matmul (14 tokens/s of training here). Dense bf16 was slower than float32 on this CPU
    (10-13 against 25-29 tokens/s on a loaded 2-core machine: the profile was dominated by
    casts between the bf16 base and the fp32 adapter). Converting the GGUF takes minutes,
    so the dense copy is saved in ``cache`` (with the GGUF's sha256) and later chunks load
    that.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    torch.set_num_threads(threads)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if cache is not None and (cache / "gguf.sha256").is_file() and (
            cache / "gguf.sha256").read_text().strip() == f"{sha} float32":
        tokenizer = AutoTokenizer.from_pretrained(str(cache))
        model = AutoModelForCausalLM.from_pretrained(str(cache), dtype=torch.float32)
        return tokenizer, model
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32,
        quantization_config=GgufConfig(gguf_file=path.name, dequantize=True))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(cache))
        tokenizer.save_pretrained(str(cache))
        (cache / "gguf.sha256").write_text(f"{sha} float32\n")
    return tokenizer, model


def encode(conversation: Conversation, tokenizer, *, max_tokens: int
           ) -> tuple[list[int], list[bool]]:
    """Token ids of a conversation and, per id, whether the loss is computed on it."""
    ids = [tokenizer.bos_token_id]
    trained = [False]
    for text, on in render_segments(conversation):
        piece = tokenizer(text, add_special_tokens=False).input_ids
        ids += piece
        trained += [on] * len(piece)
    return ids[:max_tokens], trained[:max_tokens]


def response_loss(model, ids: torch.Tensor, trained: torch.Tensor,
                  mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean next-token NLL over trained positions; logits only where they are needed.

    gemma-3's vocabulary has 262k entries: projecting every position would cost more than
    the rest of the model, so the hidden states of the positions that predict a trained
    token are projected alone.
    """
    hidden = model.base_model.model.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = trained[:, 1:]
    chosen = hidden[:, :-1][targets]
    logits = model.base_model.model.lm_head(chosen).float()
    softcap = getattr(model.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    labels = ids[:, 1:][targets]
    return torch.nn.functional.cross_entropy(logits, labels, reduction="sum"), int(labels.numel())


def batches(items: list, *, size: int, seed: int, epoch: int) -> list[list]:
    """Return the epoch's shuffled batches (the same per seed and epoch, so resumes repeat them)."""
    order = list(range(len(items)))
    random.Random(f"{seed}-{epoch}").shuffle(order)
    return [[items[i] for i in order[k:k + size]] for k in range(0, len(order), size)]


def collate(encoded: list[tuple[list[int], list[bool]]], *, pad: int):
    """Right-padded tensors of ids, trained-position flags and the attention mask."""
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    trained = torch.zeros((len(encoded), width), dtype=torch.bool)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (i, t) in enumerate(encoded):
        ids[row, :len(i)] = torch.tensor(i)
        trained[row, :len(t)] = torch.tensor(t)
        mask[row, :len(i)] = 1
    return ids, trained, mask


def lr_at(step: int, *, total: int, recipe: Recipe) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < recipe.warmup_steps:
        return recipe.learning_rate * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
    return recipe.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def peft_model(model, recipe: Recipe):
    """Wrap the base with a LoRA on every attention and MLP projection (fp32 adapter)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=recipe.rank, lora_alpha=recipe.alpha, lora_dropout=recipe.dropout,
                        target_modules=list(GGUF_NAMES), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _checkpoint_state(work: Path) -> dict | None:
    latest = work / "latest.json"
    return json.loads(latest.read_text()) if latest.exists() else None


def _save_checkpoint(work: Path, model, optimizer, *, step: int, log: list[dict],
                     recipe: Recipe, data_sha256: str) -> None:
    folder = work / f"step-{step:05d}"
    tmp = work / f".tmp-step-{step:05d}"
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    torch.save({"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()},
               tmp / "trainer.pt")
    (tmp / "trainer.json").write_text(json.dumps({
        "step": step, "log": log, "recipe": asdict(recipe), "data_sha256": data_sha256}))
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    tmp.rename(folder)
    previous = _checkpoint_state(work)
    (work / "latest.json.new").write_text(json.dumps({"step": step, "folder": folder.name}))
    (work / "latest.json.new").rename(work / "latest.json")
    # Keep the stage checkpoints and the newest one; drop the others.
    if previous and previous["step"] not in recipe.stages and previous["step"] != step:
        import shutil
        shutil.rmtree(work / previous["folder"], ignore_errors=True)


def train(args: argparse.Namespace) -> int:
    """Train for at most ``--minutes``, resuming from the newest checkpoint."""
    from peft import PeftModel

    recipe = Recipe()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    data = load_instructions()
    train_items, held = data.split()
    random.seed(recipe.seed)
    np.random.seed(recipe.seed)
    torch.manual_seed(recipe.seed)
    tokenizer, base = load_base(args.base, threads=args.threads, cache=args.work / "base-dense")
    encoded = [encode(c, tokenizer, max_tokens=recipe.max_tokens) for c in train_items]
    per_epoch = math.ceil(len(encoded) / recipe.batch_conversations)
    total = per_epoch * recipe.epochs
    state = _checkpoint_state(work)
    if state is None:
        model = peft_model(base, recipe)
        step, log = 0, []
    else:
        folder = work / state["folder"]
        meta = json.loads((folder / "trainer.json").read_text())
        if meta["data_sha256"] != data.sha256 or meta["recipe"] != json.loads(
                json.dumps(asdict(recipe))):
            print(f"error: {folder} was trained on other data or settings; start a new --work "
                  "folder", file=sys.stderr)
            return 2
        model = PeftModel.from_pretrained(base, str(folder), is_trainable=True)
        step, log = meta["step"], meta["log"]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=recipe.learning_rate, weight_decay=0.0)
    if state is not None:
        saved = torch.load(work / state["folder"] / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["torch_rng"])
    print(f"data {data.sha256[:12]}: {len(train_items)} training, {len(held)} held-out items; "
          f"{total} steps ({per_epoch} per epoch); resuming at step {step}", flush=True)
    model.train()
    started = time.monotonic()
    while step < total:
        epoch, index = divmod(step, per_epoch)
        batch = batches(encoded, size=recipe.batch_conversations, seed=recipe.seed,
                        epoch=epoch)[index]
        ids, trained, mask = collate(batch, pad=tokenizer.pad_token_id or 0)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, total=total, recipe=recipe)
        tick = time.monotonic()
        loss_sum, n = response_loss(model, ids, trained, mask)
        (loss_sum / n).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        seconds = time.monotonic() - tick
        log.append({"step": step, "loss": round(loss_sum.item() / n, 5), "tokens": int(mask.sum()),
                    "seconds": round(seconds, 2)})
        print(f"step {step}/{total} loss {loss_sum.item() / n:.4f} "
              f"{int(mask.sum()) / seconds:.0f} tok/s", flush=True)
        chunk_over = time.monotonic() - started > args.minutes * 60
        if step in recipe.stages or step == total or chunk_over or step % 10 == 0:
            _save_checkpoint(work, model, optimizer, step=step, log=log, recipe=recipe,
                             data_sha256=data.sha256)
        if chunk_over and step < total:
            print(f"chunk over at step {step}; run the same command to go on", flush=True)
            return 0
    print(f"done: {total} steps", flush=True)
    return 0


def _final_folder(work: Path) -> tuple[Path, dict]:
    state = _checkpoint_state(work)
    if state is None:
        raise SystemExit(f"error: no checkpoint in {work}; run `train` first")
    folder = work / state["folder"]
    return folder, json.loads((folder / "trainer.json").read_text())


def export_gguf(folder: Path, out: Path, *, meta: dict, base_sha256: str) -> None:
    """Write a PEFT checkpoint as a llama.cpp LoRA adapter GGUF (F16 tensors)."""
    import gguf
    from safetensors.torch import load_file

    weights = load_file(str(folder / "adapter_model.safetensors"))
    writer = gguf.GGUFWriter(str(out), arch="gemma3")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(meta["recipe"]["alpha"]))
    writer.add_name(ADAPTER_NAME)
    writer.add_string("bayeseffect.recipe", json.dumps(meta["recipe"], sort_keys=True))
    writer.add_string("bayeseffect.data_sha256", meta["data_sha256"])
    writer.add_string("bayeseffect.base_sha256", base_sha256)
    writer.add_uint32("bayeseffect.steps", int(meta["step"]))
    writer.add_float32("bayeseffect.final_loss", float(np.mean(
        [entry["loss"] for entry in meta["log"][-10:]])))
    writer.add_string("general.license", "Gemma Terms of Use")
    for key in sorted(weights):
        # base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight
        parts = key.split(".")
        layer = int(parts[parts.index("layers") + 1])
        module = next(p for p in parts if p in GGUF_NAMES)
        which = "lora_a" if "lora_A" in parts else "lora_b"
        name = f"blk.{layer}.{GGUF_NAMES[module]}.weight.{which}"
        writer.add_tensor(name, weights[key].to(torch.float16).numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def reference_logits(model, tokenizer, prompts: list[str], *, continuation_tokens: int = 8
                     ) -> list[dict]:
    """Greedy continuations of each prompt and, per position, the top-64 log-probabilities.

    The parity test replays the same tokens through llama.cpp with the adapter and
    compares its distributions with these.
    """
    out = []
    model.eval()
    with torch.no_grad():
        for prompt in prompts:
            ids = [tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False).input_ids]
            positions = []
            for _ in range(continuation_tokens):
                logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
                logp = torch.log_softmax(logits, dim=-1)
                top = torch.topk(logp, 64)
                positions.append({"ids": top.indices.tolist(),
                                  "logprobs": [round(v, 5) for v in top.values.tolist()]})
                ids.append(int(top.indices[0]))
            out.append({"prompt": prompt, "tokens": ids, "positions": positions})
    return out


def export(args: argparse.Namespace) -> int:
    """Write the final adapter GGUF and the reference logits the CI parity test reads."""
    from peft import PeftModel

    folder, meta = _final_folder(args.work)
    ADAPTER_DIR.mkdir(parents=True, exist_ok=True)
    base_sha = hashlib.sha256(args.base.read_bytes()).hexdigest()
    gguf_path = ADAPTER_DIR / f"{ADAPTER_NAME}.gguf"
    export_gguf(folder, gguf_path, meta=meta, base_sha256=base_sha)
    tokenizer, base = load_base(args.base, threads=args.threads, cache=args.work / "base-dense")
    model = PeftModel.from_pretrained(base, str(folder))
    _, held = load_instructions().split()
    prompts = [USER_TURN.format(text=c.turns[0].user) for c in held[:6]]
    reference = {"adapter_sha256": hashlib.sha256(gguf_path.read_bytes()).hexdigest(),
                 "base_sha256": base_sha, "prompts": reference_logits(model, tokenizer, prompts)}
    (ADAPTER_DIR / f"{ADAPTER_NAME}.reference.json").write_text(json.dumps(reference) + "\n")
    print(f"wrote {gguf_path} ({gguf_path.stat().st_size / 1e6:.1f} MB) and its reference logits")
    return 0


def check(args: argparse.Namespace) -> int:
    """Run the manipulation check on held-out items: turn endings and NLL, base vs adapter."""
    from peft import PeftModel

    folder, meta = _final_folder(args.work)
    tokenizer, base = load_base(args.base, threads=args.threads, cache=args.work / "base-dense")
    _, held = load_instructions().split()
    end = tokenizer.convert_tokens_to_ids("<end_of_turn>")
    results = {}
    model = PeftModel.from_pretrained(base, str(folder))
    model.eval()
    for label, context in (("base", model.disable_adapter), ("adapter", None)):
        nll, n, ended = 0.0, 0, 0
        with torch.no_grad(), (context() if context else _null()):
            for conversation in held:
                ids, trained = encode(conversation, tokenizer, max_tokens=512)
                t_ids, t_trained, mask = collate([(ids, trained)], pad=0)
                loss_sum, k = response_loss(model, t_ids, t_trained, mask)
                nll, n = nll + loss_sum.item(), n + k
                question = USER_TURN.format(text=conversation.turns[0].user)
                prompt = [tokenizer.bos_token_id,
                          *tokenizer(question, add_special_tokens=False).input_ids]
                generated = model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=96,
                                           do_sample=False, eos_token_id=[end])
                ended += int(end in generated[0, len(prompt):].tolist())
        results[label] = {"held_out_items": len(held), "response_nll_per_token": nll / n,
                          "ended_turn": ended, "ended_turn_share": ended / len(held)}
        print(label, results[label], flush=True)
    (args.work / "manipulation_check.json").write_text(json.dumps(
        {"steps": meta["step"], "max_new_tokens": 96, **results}, indent=2) + "\n")
    return 0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main() -> int:
    """Parse the command line and run one subcommand."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "export", "check"])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="checkpoint folder (resumed when it holds one)")
    parser.add_argument("--base", type=Path, default=None, help="base GGUF (default: shipped)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of one chunk")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    args.base = args.base or base_gguf()
    return {"train": train, "export": export, "check": check}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
