"""Hugging Face `transformers` causal LMs: hub id, local folder, or GGUF file (converted once).

Sampling is done per request with its own seeded generator, so in fp32 a request produces the
same text whichever batch the engine happens to put it in (tested). In bf16 that is not
promised: how the kernels round a row's sums depends on the batch's shape and padding, and a
token that nearly ties its rival can flip; on a CPU with native bf16 (AMX), 2 of 8 seeded
requests run alone matched the same requests inside a batch of 32 (issue 27). Use
`?dtype=fp32` (or DEBATE_HARNESS_DTYPE=fp32) where a run must not depend on its batching.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from pathlib import Path

import torch

from debate import usage
from debate.models import shared_scoring
from debate.models.base import (
    Generation,
    GenerationRequest,
    LanguageModel,
    ModelError,
    Prompt,
    Score,
    ScoreRequest,
    render_plain,
)
from debate.models.decoding import PerRowSampler, decode
from debate.models.hardware import DTYPE_NAMES, configure_threads, resolve_dtype
from debate.models.worker import BatchWorker

# Token budget of one scoring forward pass (batch x padded length); bounds peak memory.
SCORE_TOKENS_PER_BATCH = 8192
# Scores are pure functions of (weights, tokens): identical requests are scored once. A judge
# scoring both answer orders of an evidence-only view, or a deterministic judge asked k times,
# sends exact repeats. Entries are 16-byte keys and two numbers, so the cap is a few MB.
SCORE_CACHE_SIZE = 200_000


def cache_dir() -> Path:
    return Path(os.environ.get("DEBATE_HARNESS_CACHE", Path.home() / ".cache" / "debate-harness"))


def converted_gguf_dir(gguf_path: Path) -> Path:
    st = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return cache_dir() / "gguf" / f"{gguf_path.stem}-{key.hexdigest()[:12]}"


def convert_gguf(gguf_path: Path) -> Path:
    """Dequantise a GGUF file once into a safetensors folder; later loads take well under 5 s."""
    target = converted_gguf_dir(gguf_path)
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except (ImportError, ValueError) as e:  # transformers signals missing extras either way
        raise ModelError(f"cannot read {gguf_path}: {str(e).splitlines()[0]}") from e
    # A model loaded from GGUF refuses save_pretrained; rebuild it without the quantization entry.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict(), strict=False)
    model.tie_weights()
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _chunks(items: list, rows, width) -> list[list]:
    """Consecutive runs of `items`, sorted by `width`, each within the scoring token budget:
    a run costs its total `rows` times its last (widest) item's `width`, a padded batch."""
    runs: list[list] = []
    total = 0
    for item in items:
        if runs and (total + rows(item)) * width(item) <= SCORE_TOKENS_PER_BATCH:
            runs[-1].append(item)
            total += rows(item)
        else:
            runs.append([item])
            total = rows(item)
    return runs


def adapter_base(adapter: Path) -> str:
    import json

    from debate.files import read_text

    config = adapter / "adapter_config.json"
    if not config.exists():
        raise ModelError(f"no LoRA adapter at {adapter} (adapter_config.json missing)")
    try:
        base = json.loads(read_text(config, "adapter config", ModelError))[
            "base_model_name_or_path"
        ]
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{config} names no base model (base_model_name_or_path)") from None
    from debate.config import is_embedded
    from debate.models import trainable_path

    # a training checkpoint names its base by the policy's spec (`smollm2`, `gguf:FILE`), so
    # that it does not depend on where this machine keeps the converted weights
    if isinstance(base, str) and (is_embedded(base) or base.startswith(("gguf:", "hf:"))):
        return trainable_path(base)
    return base


def score_key(context: list[int], continuation: list[int]) -> bytes:
    data = ",".join(map(str, context)) + "|" + ",".join(map(str, continuation))
    return hashlib.blake2b(data.encode(), digest_size=16).digest()


class HFModel(LanguageModel):
    def __init__(
        self,
        spec: str,
        path: str,
        *,
        gguf_file: Path | None = None,
        adapter: Path | None = None,
        device: str = "",
        dtype: str = "auto",
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.spec = spec
        if adapter is not None:
            path = adapter_base(adapter)
        if gguf_file is not None:
            if not gguf_file.exists():
                raise ModelError(f"GGUF file not found: {gguf_file}")
            if gguf_file.is_dir():
                raise ModelError(f"{gguf_file} is a folder; gguf: takes a .gguf file")
            if not gguf_file.is_file():
                raise ModelError(f"{gguf_file} is not a regular file; gguf: takes a .gguf file")
            path = str(convert_gguf(gguf_file))
        else:
            local = Path(path).expanduser()
            if path.startswith(("/", ".", "~")) and not local.exists():
                raise ModelError(f"model folder not found: {path}")
            if local.exists() and not local.is_dir():
                raise ModelError(f"{path} is a file; hf: takes a model folder or a hub id")
            if local.is_dir() and not (local / "config.json").exists():
                raise ModelError(f"{path} holds no model (no config.json in that folder)")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = resolve_dtype(dtype, self.device)  # type: ignore[assignment]
        configure_threads()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device)
        except OSError as e:
            raise ModelError(f"cannot load {spec!r}: {str(e).splitlines()[0]}") from e
        if adapter is not None:
            from peft import PeftModel

            # merged into this instance: plays and scores at the base model's speed
            self.model = PeftModel.from_pretrained(self.model, str(adapter)).merge_and_unload()
            # merging leaves every weight frozen; a model loaded any other way is not. Frozen,
            # the same scoring batch peaked at 12 instead of 2.3 GiB on the CPU (192 requests):
            # the hidden states that `logits_to_keep` slices are not contiguous, and torch's
            # matmul then picks a batched path that copies the bf16 lm_head weight (54 MiB) once
            # per row when the weight has requires_grad False (it asks the flag, not grad mode)
            self.model.requires_grad_(True)
        self.model.eval()
        self.path, self.adapter, self.gguf_file = str(path), adapter, gguf_file
        self._score_cache: dict[bytes, tuple[float, int]] = {}
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._lock = threading.Lock()  # one forward pass at a time per model
        # Switches for the reference paths (today's engine), kept for benchmarks and the
        # equivalence tests: shared-prompt scoring, and the own decoding loop that drops rows
        # as they finish instead of transformers' `generate`.
        self.share_prefix = True
        self.drop_finished_rows = True
        # Concurrent callers' requests are batched here; scoring chunks by token budget itself.
        self.generate_worker = BatchWorker(self._generate_sync, self.max_batch)
        self.score_worker = BatchWorker(self._score_sync, 4 * self.max_batch)
        self.next_token_worker = BatchWorker(self._next_token_batch, self.max_batch)

    def describe(self) -> dict:
        dtype = DTYPE_NAMES.get(self.model.dtype, str(self.model.dtype))
        described = {"model": self.spec, "backend": "hf", "path": self.path, "dtype": dtype,
                     "device": str(self.device)}  # fmt: skip
        if self.adapter is not None:
            described["adapter"] = str(self.adapter)
        if self.gguf_file is not None:
            described["gguf_file"] = str(self.gguf_file)
        return described

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        if self.tokenizer.chat_template:
            msgs = [m.model_dump() for m in prompt]
            return self.tokenizer.apply_chat_template(
                msgs, tokenize=False, add_generation_prompt=True
            )
        return render_plain(prompt)

    # -- generation ---------------------------------------------------------------------------
    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        started = time.monotonic()
        out = await self.generate_worker.submit(requests)
        for r, g in zip(requests, out):  # billed from the caller's side: its run and role
            usage.record(self.spec, r.meta, tokens_in=g.tokens_in, tokens_out=g.tokens_out,
                         started=started)  # fmt: skip
        return out

    def _generate_sync(self, requests: list[GenerationRequest]) -> list[Generation]:
        configure_threads()
        out: list[Generation | None] = [None] * len(requests)
        # One decoding run per length budget, so that no row is decoded past its own budget.
        by_budget: dict[int, list[int]] = {}
        for i, r in enumerate(requests):
            by_budget.setdefault(r.sampling.max_new_tokens, []).append(i)
        for budget, idxs in by_budget.items():
            for i, g in zip(idxs, self._generate_group([requests[i] for i in idxs], budget)):
                out[i] = g
        return out  # type: ignore[return-value]

    @torch.inference_mode()
    def _generate_group(self, requests: list[GenerationRequest], budget: int) -> list[Generation]:
        tok = self.tokenizer
        texts = [self.render(r.prompt) + r.prefill for r in requests]
        enc = self._left_padded(texts)
        with self._lock:
            if self.drop_finished_rows:
                rows, logprobs = self._decode(enc["input_ids"], enc["attention_mask"], requests,
                                              budget)  # fmt: skip
            else:  # the reference path gives no sampling log-probabilities
                rows, logprobs = self._decode_with_generate(enc, requests, budget), None
        results = []
        for k, (r, row, mask) in enumerate(zip(requests, rows, enc["attention_mask"])):
            n_out = sum(t != tok.pad_token_id for t in row)
            text = tok.decode(row, skip_special_tokens=True)
            results.append(
                Generation(text=r.prefill + text, tokens_in=int(mask.sum()), tokens_out=n_out,
                           token_ids=row, logprobs=logprobs[k] if logprobs else None)
            )  # fmt: skip
        return results

    def _left_padded(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Texts as one left-padded batch. Padded here, not by the tokenizer: a fast tokenizer
        keeps its padding setting in state that every thread shares, so a padded call racing an
        unpadded one (the score worker, the speech cut) came back ragged ("Unable to create
        tensor"; 24 of 320 matches of the default tournament failed)."""
        rows = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        ids, mask = shared_scoring.left_pad(rows, self.tokenizer.pad_token_id)
        return {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device)}

    def _eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id or self.tokenizer.eos_token_id
        return set(eos) if isinstance(eos, list) else {eos}

    def _decode(
        self, ids: torch.Tensor, mask: torch.Tensor, requests: list[GenerationRequest], budget: int
    ) -> tuple[list[list[int]], list[list[float]]]:
        sampler = PerRowSampler(requests)
        pad = self.tokenizer.pad_token_id
        return decode(self.model, ids, mask, sampler, self._eos_ids(), pad, budget,
                      self.generate_worker.interrupted)  # fmt: skip

    def _decode_with_generate(self, enc, requests: list[GenerationRequest], budget: int):
        """The reference path: transformers' `generate`, which decodes every row until the
        last one ends."""
        from transformers import GenerationConfig, LogitsProcessorList

        config = GenerationConfig(
            max_new_tokens=budget,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=list(self._eos_ids()),
        )
        ids = self.model.generate(
            **enc,
            generation_config=config,
            logits_processor=LogitsProcessorList([PerRowSampler(requests)]),
        )
        new = ids[:, enc["input_ids"].shape[1] :].tolist()
        # `generate` pads rows that ended early; keep each row up to and including its end
        eos = self._eos_ids()
        return [
            row[: next((i + 1 for i, t in enumerate(row) if t in eos), len(row))] for row in new
        ]

    # -- scoring ------------------------------------------------------------------------------
    async def score(self, requests: list[ScoreRequest]) -> list[Score]:
        return await self.score_worker.submit(requests)

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _score_sync(self, requests: list[ScoreRequest]) -> list[Score]:
        configure_threads()
        pairs = []
        for r in requests:
            ctx, cont = shared_scoring.split_continuation(self.render(r.prompt), r.continuation)
            pairs.append((self._encode(ctx), self._encode(cont)))
        keys = [score_key(c, x) for c, x in pairs]
        todo = {k: p for k, p in zip(keys, pairs) if k not in self._score_cache}
        for k, s in zip(todo, self._score_pairs(list(todo.values()))):
            if len(self._score_cache) >= SCORE_CACHE_SIZE:
                self._score_cache.pop(next(iter(self._score_cache)))  # oldest first
            self._score_cache[k] = s
        return [
            Score(logprob=self._score_cache[k][0], n_tokens=self._score_cache[k][1],
                  n_chars=len(r.continuation))
            for k, r in zip(keys, requests)
        ]  # fmt: skip

    def clear_score_cache(self) -> None:
        """Call after changing the weights in place (training)."""
        self._score_cache.clear()

    def _score_pairs(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, int]]:
        out: list[tuple[float, int] | None] = [None] * len(pairs)
        # Prompts that share their beginning (a judge's answers, a question's choices, a judge's
        # view per candidate quote) compute it once (`shared_scoring`); the rest one by one.
        groups, alone = (
            shared_scoring.plan(pairs) if self.share_prefix else ([], list(range(len(pairs))))
        )
        lengths = [len(c) + len(x) for c, x in pairs]
        alone.sort(key=lengths.__getitem__)
        for chunk in _chunks(alone, lambda i: 1, lengths.__getitem__):
            for i, s in zip(chunk, self._score_batch([pairs[i] for i in chunk])):
                out[i] = s
        groups.sort(key=lambda g: g.width)
        for chunk in _chunks(groups, lambda g: len(g.rows), lambda g: g.width):
            with self._lock:
                scored = shared_scoring.score_clusters(
                    self.model, self.tokenizer.pad_token_id, self.device, chunk
                )
            for i, s in scored:
                out[i] = s
        return out  # type: ignore[return-value]

    @torch.inference_mode()
    def _score_batch(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, int]]:
        # left padding: every continuation ends at the last column
        ids, mask = shared_scoring.left_pad([c + x for c, x in pairs], self.tokenizer.pad_token_id)
        keep = max(len(x) for _, x in pairs) + 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with self._lock:
            logits = self.model(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                position_ids=positions.to(self.device),
                logits_to_keep=keep,
                use_cache=False,  # nothing is decoded after a score: a KV cache is waste
            ).logits.float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        results = []
        for i, (_, cont) in enumerate(pairs):
            n = len(cont)
            # logits at window index j predict the token at absolute column width - keep + j + 1
            rows = logp[i, keep - n - 1 : keep - 1]
            total = rows.gather(1, torch.tensor(cont).unsqueeze(1)).sum().item()
            results.append((total, n))
        return results

    # -- next-token distribution -------------------------------------------------------------
    async def next_token_logprobs(
        self, prompts: list[Prompt], top_k: int = 20
    ) -> list[dict[str, float]]:
        # batched with every other caller waiting on this model, like generate and score
        return await self.next_token_worker.submit([(p, top_k) for p in prompts])

    def _next_token_batch(self, asks: list[tuple[Prompt, int]]) -> list[dict[str, float]]:
        k = max(top_k for _, top_k in asks)
        dists = self._next_token_sync([p for p, _ in asks], k)
        return [
            dict(sorted(d.items(), key=lambda kv: -kv[1])[:n]) for d, (_, n) in zip(dists, asks)
        ]

    @torch.inference_mode()
    def _next_token_sync(self, prompts: list[Prompt], top_k: int) -> list[dict[str, float]]:
        """The first reply token's top-k log-probabilities, as an API's `top_logprobs` gives
        them: one forward pass per batch, the last position only."""
        tok = self.tokenizer
        enc = self._left_padded([self.render(p) for p in prompts])
        mask = enc["attention_mask"]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with self._lock:
            logits = (
                self.model(
                    input_ids=enc["input_ids"].to(self.device),
                    attention_mask=mask.to(self.device),
                    position_ids=positions.to(self.device),
                    logits_to_keep=1,
                    use_cache=False,
                )
                .logits[:, -1]
                .float()
            )
        values, ids = torch.log_softmax(logits, dim=-1).topk(min(top_k, logits.shape[-1]))
        out = []
        for row_v, row_i in zip(values.cpu().tolist(), ids.cpu().tolist()):
            dist: dict[str, float] = {}
            for v, i in zip(row_v, row_i):
                text = tok.decode([i])
                # distinct ids can decode to the same text; their probabilities add
                dist[text] = (
                    float(torch.logaddexp(torch.tensor(dist[text]), torch.tensor(v)))
                    if text in dist
                    else v
                )
            out.append(dist)
        return out

    @property
    def max_batch(self) -> int:
        return 64
