"""`debate export-model CKPT OUT`: a training checkpoint as a plain `transformers` model folder.

A LoRA checkpoint is merged into its base model (`peft`'s `merge_and_unload`); a full fine-tuning
checkpoint is saved again as it is. The folder holds the weights (safetensors), the config and
the tokenizer: `AutoModelForCausalLM.from_pretrained(OUT)` loads it with neither this harness nor
peft installed. A base named by a spec (`smollm2`, `gguf:FILE`) is the GGUF file dequantised as
the harness trains on it (`debate.models.hf.convert_gguf`), so the export is the model the
checkpoint was trained as, in float32.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from debate.config import ConfigError

# the weight files a saved checkpoint holds (peft's adapter, or a whole transformers model)
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")  # fmt: skip


def checkpoint_folder(ckpt: str) -> Path:
    """A checkpoint folder, given as a path or as the `peft:DIR` / `hf:DIR` spec training
    records name it by."""
    scheme, colon, rest = ckpt.partition(":")
    path = Path(rest if colon and scheme in ("peft", "hf") else ckpt).expanduser()
    path = Path(str(path).split("?", 1)[0])
    if not path.is_dir():
        raise ConfigError(f"no checkpoint folder at {path}")
    if not (path / "adapter_config.json").exists() and not (path / "config.json").exists():
        raise ConfigError(
            f"{path} is not a checkpoint (no adapter_config.json or config.json in it)"
        )
    adapter = (path / "adapter_config.json").exists()
    weights = ADAPTER_WEIGHTS if adapter else MODEL_WEIGHTS
    if not any((path / w).exists() for w in weights):  # a save that was cut short
        raise ConfigError(f"{path} is not a complete checkpoint (no {weights[0]} in it)")
    return path


def export_model(ckpt: str, out: Path) -> Path:
    """Write the merged model of checkpoint `ckpt` to the new folder `out`; returns `out`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from debate.models import ModelError
    from debate.models.hf import adapter_base

    folder = checkpoint_folder(ckpt)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} already exists and is not an empty folder; name a new one")
    adapter = (folder / "adapter_config.json").exists()
    try:
        base = adapter_base(folder) if adapter else str(folder)
    except ModelError as e:
        raise ConfigError(str(e)) from None
    try:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    except (OSError, ValueError) as e:  # ValueError: a config.json transformers cannot read
        raise ConfigError(f"cannot load the base model {base}: {str(e).splitlines()[0]}") from None
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    tokenizer_source = folder if (folder / "tokenizer_config.json").exists() else base
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source))
    # written beside the target and renamed into place: a failed export leaves no half folder
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        if out.exists():
            out.rmdir()  # empty: checked above
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


__all__ = ["export_model"]
