"""The one interface every model source implements: batched `generate` and `score`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from debate import calls
from debate.schema import Sampling


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["system", "user", "assistant"]
    content: str


# A prompt is either chat messages (rendered with the model's chat template) or raw text.
Prompt = list[Message] | str


class GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: Prompt
    sampling: Sampling = Field(default_factory=Sampling)
    seed: int = 0  # per-request: the same text whatever the batch (in fp32; see models/hf.py)
    # Free-text prefix of the assistant reply, e.g. "<quote>" to steer a small model.
    prefill: str = ""
    # Structured view of the task (question, answers, side, passage) for scripted agents and the
    # human terminal; language models ignore it and read only the prompt.
    meta: dict = Field(default_factory=dict)
    # False for a sampled call that must be drawn afresh each time (no seed stands behind it):
    # never served from the response cache. Temperature-0 calls are cached regardless.
    cache: bool = True


class Generation(BaseModel):
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    # where the backend gives them: the sampled token ids, and each one's log-probability under
    # the distribution it was sampled from (what an RL trainer needs of an episode)
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None


class ScoreRequest(BaseModel):
    """Log-probability of `continuation` after `prompt` (the prompt is not scored)."""

    model_config = ConfigDict(extra="forbid")
    prompt: Prompt
    continuation: str


class Score(BaseModel):
    logprob: float
    n_tokens: int
    n_chars: int


RECORDED = {"generate": "generate", "score": "score", "next_token_logprobs": "next_token"}


class ModelError(RuntimeError):
    """A model could not be loaded or called; the message is meant for the user as is."""


class LanguageModel(ABC):
    """A model source. Each model schedules its own calls: a caller awaits `generate` or
    `score` where it needs the result, and the backend decides how to run what is waiting on
    it (an API model sends each request as soon as a slot is free; a local model batches
    concurrent callers). Nothing bound to an event loop may be kept between calls, so one
    model object serves any number of consecutive runs in a process."""

    spec: str = ""
    # reads the task as structured data (`GenerationRequest.meta`, the truth included) instead
    # of the prompt: scripted agents do; a language model must never be handed the answer
    reads_task: bool = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        # every backend's calls go on the record (debate.calls), without each one saying so
        super().__init_subclass__(**kwargs)
        for name, kind in RECORDED.items():
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__recorded__", False):
                setattr(cls, name, calls.recorded(kind, method))

    @abstractmethod
    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]: ...

    async def score(self, requests: list[ScoreRequest]) -> list[Score]:
        raise ModelError(f"model {self.spec!r} cannot score continuations (no log-probabilities)")

    async def next_token_logprobs(
        self, prompts: list[Prompt], top_k: int = 20
    ) -> list[dict[str, float]]:
        """For each prompt, the log-probabilities of the `top_k` likeliest first tokens of the
        reply, keyed by token text (what the letter judge reads)."""
        raise ModelError(
            f"model {self.spec!r} gives no next-token log-probabilities; the letter and cloze "
            "judges need them, the verdict judge does not"
        )

    async def check_gives(self, need: str) -> None:
        """Raise a one-line ModelError if this model cannot give `need` ('top_logprobs' or
        'prompt_logprobs', what a judge reads); a backend that may not asks its server.
        Local models compute both."""
        return None

    def describe(self) -> dict:
        return {"model": self.spec}


def render_plain(prompt: Prompt) -> str:
    """A template-free rendering, for models without a chat template and for scripted agents."""
    if isinstance(prompt, str):
        return prompt
    parts = [f"{m.role.capitalize()}: {m.content}" for m in prompt]
    return "\n\n".join(parts) + "\n\nAssistant:"
