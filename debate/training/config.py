"""`debate train` configuration: who is trained, against whom, judged by what, updated how."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from debate.config import (
    MAX_BEST_OF,
    MAX_ITEMS,
    AgentConfig,
    JudgeConfig,
    OutFolder,
    ProtocolConfig,
    RunName,
    Strict,
    TaskConfig,
)


class LoraSettings(Strict):
    enabled: bool = True  # False = full fine-tuning
    r: int = Field(8, ge=1, le=1024)
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )


class UpdateSettings(Strict):
    # "choice": REINFORCE on chosen evidence spans (debate/training/reinforce.py; the policy
    # must have speech: choose, choose_by: self); "dpo"/"grpo": free-text speeches through trl
    method: Literal["choice", "dpo", "grpo"] = "choice"
    learning_rate: float = 2e-4  # LoRA: higher than full fine-tuning would take
    # choice: the step size of the REINFORCE update (its gradient is a few sentences' scores;
    # 3e-4 barely moved the embedded model's choices in 60 steps, 1e-3 did)
    choice_learning_rate: float = 1e-3
    epochs: float = 1.0
    batch_size: int = Field(4, ge=1, le=4096)
    beta: float = 0.1  # DPO: strength of the pull towards the reference; GRPO: KL weight
    # DPO: candidate speeches sampled at each branch point; a pair needs this reward gap
    branches: int = Field(2, ge=2, le=MAX_BEST_OF)
    min_margin: float = 0.05
    # GRPO: completions per prompt; choice: forks of each match (the leave-one-out baseline)
    group_size: int = Field(4, ge=2, le=1024)
    # GRPO: completions from a `trl vllm-serve` server at this URL (debate/training/vllm_server.py)
    vllm_server: str | None = Field(None, pattern=r"^https?://")
    # GRPO: completions from vLLM inside each training process, sharing its GPU
    vllm_colocate: bool = False


class LeagueSettings(Strict):
    # opponents: "latest" (the current policy: pure self-play), "uniform" over the league, or
    # "prioritized" by how often each past checkpoint beat the current policy
    opponents: Literal["latest", "uniform", "prioritized"] = "uniform"
    # fixed anchors every generation is rated against, so ratings compare across generations
    anchors: list[AgentConfig] = Field(
        default_factory=lambda: [
            AgentConfig(name="honest-quoter", model="scripted:honest"),
            AgentConfig(name="random-quoter", model="scripted:random"),
        ]
    )
    anchor_items: int = Field(8, ge=1, le=MAX_ITEMS)
    # an OpenAI-compatible server (vLLM with --lora-modules) that plays the league's opponents,
    # each checkpoint by its league name (gen-0, gen-1, ...): debate/training/served.py
    server: str | None = Field(None, pattern=r"^https?://")
    # server options appended to each opponent's spec, e.g. "prefill=continue"
    server_options: str = ""
    # hand each new checkpoint to the server as it joins the league (vLLM's runtime LoRA loading)
    load_adapters: bool = False


class PolicyConfig(AgentConfig):
    """The trained debater. `share: false` trains a learner per side (debate/training/sides.py):
    one LoRA adapter for whichever seat argues the true answer, one for the other, each updated
    only from its own side's choices; true (the default) trains one set of weights on both."""

    share: bool = True


def as_debater(policy: AgentConfig) -> AgentConfig:
    """The policy as it plays a match: a plain debater (`share` is training's alone)."""
    return AgentConfig.model_validate(policy.model_dump(exclude={"share"}))


class TrainConfig(Strict):
    name: RunName = "train"
    out: OutFolder = "runs"
    seed: int = 0
    max_live: int = Field(32, ge=1, le=100_000)
    # the embedded default chooses its quote by its own likelihood, sampled at T = 1: a choice
    # the policy owns (so training can move it) with enough spread for groups to differ
    policy: PolicyConfig = Field(
        default_factory=lambda: PolicyConfig(
            name="policy",
            model="smollm2",
            speech="choose",
            choose_by="self",
            choice_temperature=1.0,
        )
    )
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    protocol: ProtocolConfig = Field(default_factory=lambda: ProtocolConfig(speech_tokens=40))
    # training items and held-out items come from one task with disjoint offsets
    # per generation: each item is played in both roles on both answers, forked group_size times
    task: TaskConfig = Field(default_factory=lambda: TaskConfig(n_items=8))
    eval_items: int = Field(100, ge=1, le=MAX_ITEMS)  # fewer cannot show a change of 10 points
    eval_offset: int = 100_000
    # the task seed of the held-out items; None: task.seed + 1, a seed training never draws
    # from (the offset keeps the items apart too where a task ignores its seed)
    eval_seed: int | None = None
    generations: int = Field(3, ge=1, le=10_000)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    update: UpdateSettings = Field(default_factory=UpdateSettings)
    league: LeagueSettings = Field(default_factory=LeagueSettings)
    truthfulqa_path: str | None = None  # a local TruthfulQA file checked every generation

    @field_validator("policy", mode="before")
    @classmethod
    def _policy_named(cls, v: object) -> object:
        """`--policy SPEC` (policy.model alone) trains a debater called "policy"; a plain
        AgentConfig is a policy that shares its weights."""
        if isinstance(v, AgentConfig) and not isinstance(v, PolicyConfig):
            v = v.model_dump(exclude_unset=True)
        return {"name": "policy", **v} if isinstance(v, dict) else v

    @property
    def held_out_seed(self) -> int:
        return self.task.seed + 1 if self.eval_seed is None else self.eval_seed

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / self.name
