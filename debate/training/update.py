"""The update step, through `trl` and `peft`: DPO on preference pairs, or GRPO with the judge as
the reward. Each generation continues the previous generation's LoRA adapter (or full weights);
the DPO reference is the base model with the adapter switched off, shared rather than copied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from debate.config import ConfigError
from debate.training.config import TrainConfig
from debate.training.monitor import current


def load_policy(cfg: TrainConfig, base: str, previous: Path | None):
    """The trainable policy: the base weights, with the last generation's adapter (or a new one)
    on top; or, for full fine-tuning, the last generation's full weights."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = str(previous) if previous is not None and not cfg.lora.enabled else base
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not cfg.lora.enabled:
        return model, tokenizer
    from peft import LoraConfig, PeftModel, get_peft_model

    if previous is not None:
        peft_model = PeftModel.from_pretrained(model, str(previous), is_trainable=True)
        # the adapter names its base by spec (training/portable.py); peft, saving, would look
        # that name up on the hub: it is the folder loaded here (named by spec again once saved)
        peft_model.peft_config["default"].base_model_name_or_path = base
        return peft_model, tokenizer
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in cfg.lora.target_modules if m not in present]
    if missing:
        linear = sorted(
            {n.rsplit(".", 1)[-1] for n, mod in model.named_modules()
             if isinstance(mod, torch.nn.Linear)}
        )  # fmt: skip
        raise ConfigError(
            f"lora.target_modules {missing} are not modules of {base}; its linear layers are "
            f"{linear}"
        )
    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora), tokenizer


def per_rank(batch: int) -> int:
    """A rank's part of a global batch: with several processes (debate/training/distributed.py)
    trl's trainers take one per rank per step, so the step sees the batch one process would."""
    from debate.training.distributed import ranks

    n = ranks().count
    if batch % n:
        raise ConfigError(f"a batch of {batch} does not split evenly over {n} training processes")
    return batch // n


def common_args(cfg: TrainConfig, out: Path, generation: int) -> dict:
    from debate.seeds import derive_seed

    return {
        "output_dir": str(out / "trainer"),
        "learning_rate": cfg.update.learning_rate,
        "num_train_epochs": cfg.update.epochs,
        "per_device_train_batch_size": per_rank(cfg.update.batch_size),
        "gradient_accumulation_steps": 1,
        "beta": cfg.update.beta,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": not torch.cuda.is_available(),
        "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "seed": derive_seed(cfg.seed, "update", generation) % 2**31,
        # the command's own progress bar (debate/training/monitor.py) replaces trl's
        "disable_tqdm": current().shows_progress,
    }


def dpo_update(
    cfg: TrainConfig,
    base: str,
    previous: Path | None,
    pairs: list[dict],
    out: Path,
    generation: int,
) -> dict:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    model, tokenizer = load_policy(cfg, base, previous)
    ref = None
    if not cfg.lora.enabled:  # full fine-tuning needs its own frozen copy of the reference
        from transformers import AutoModelForCausalLM

        ref = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    args = DPOConfig(**common_args(cfg, out, generation), max_length=1024)
    trainer = DPOTrainer(
        model=model,
        ref_model=ref,
        args=args,
        train_dataset=Dataset.from_list(pairs),
        processing_class=tokenizer,
        callbacks=[current().trainer_callback(generation)],
    )
    return train_and_save(trainer, tokenizer, out)


def grpo_update(
    cfg: TrainConfig,
    base: str,
    previous: Path | None,
    rows: list[dict],
    reward: Callable[..., list[float]],
    out: Path,
    generation: int,
) -> dict:
    from datasets import Dataset
    from trl import GRPOTrainer

    model, tokenizer = load_policy(cfg, base, previous)
    args = grpo_config(cfg, out, generation)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[current().trainer_callback(generation)],
    )
    return train_and_save(trainer, tokenizer, out)


def grpo_config(cfg: TrainConfig, out: Path, generation: int):
    from trl import GRPOConfig

    from debate.training.vllm_server import vllm_args

    g = cfg.update.group_size
    # one group (a prompt's g completions) per optimiser step: the group mean is the baseline
    return GRPOConfig(
        **{**common_args(cfg, out, generation), "per_device_train_batch_size": per_rank(g)},
        num_generations=g,
        max_completion_length=cfg.protocol.speech_tokens,
        temperature=cfg.policy.temperature,
        **vllm_args(cfg),
    )


def train_and_save(trainer, tokenizer, out: Path) -> dict:
    result = trainer.train()
    if trainer.accelerator.is_main_process:  # every rank holds the same weights: one writes
        out.mkdir(parents=True, exist_ok=True)
        trainer.model.save_pretrained(str(out))  # a PEFT model saves only its adapter
        tokenizer.save_pretrained(str(out))
    trainer.accelerator.wait_for_everyone()
    return {"train_loss": result.training_loss, "steps": result.global_step,
            "log": trainer.state.log_history}  # fmt: skip
