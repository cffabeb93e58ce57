"""Records that cross module boundaries or land on disk.

Every record is a pydantic model with a `schema_version`, so a transcript written today can be
read back (and refused with a clear message) by a later version of the harness.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# 2: transcripts hold every model call (`calls`), the models' descriptions (`models`) and the
# judge's views as read (`Verdict.views`); version-1 transcripts still load, without them.
# 3: a panel judge's verdict holds its members' verdicts (`Verdict.members`).
SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


class Record(BaseModel):
    """Base for records on disk: unknown fields are refused so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION


def names_answer(text: str, answer: str) -> bool:
    """Whether `text` names `answer` as a word of its own, or its plural: "likes to eat bananas"
    names "banana" (passages state answers in sentences, not as bare labels). Short answers get
    no plural: "it" is not named by "its", nor "a" by "as"."""
    plural = "(?:e?s)?" if len(answer) >= 3 else ""
    return re.search(rf"\b{re.escape(answer)}{plural}\b", text, re.I) is not None


class Item(Record):
    """One question. `context` is the hidden passage the debaters read and the judge does not."""

    id: str
    question: str
    answers: list[str]
    correct: int
    context: str = ""
    deciding: list[str] = Field(default_factory=list, description="sentences that settle it")
    metadata: dict = Field(default_factory=dict)

    @field_validator("answers")
    @classmethod
    def _two_or_more(cls, v: list[str]) -> list[str]:
        if len(v) < 2:
            raise ValueError("an item needs at least two answers")
        return v

    def model_post_init(self, _ctx: object) -> None:
        if not 0 <= self.correct < len(self.answers):
            raise ValueError(f"item {self.id}: correct index {self.correct} is out of range")


class Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 64


class QuoteCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str  # the debater's quote, as written
    verified: bool
    # share of the quote's words that are exactly the passage's (the rest are forgiven typos;
    # see debate.evidence); 0 when the quote matched no span of the passage
    similarity: float = Field(description="share of words matching exactly, 0..1 (1 = exact)")
    passage_text: str = ""  # what others read of a verified quote: the passage's own text
    # where a verified quote is in the passage (character offsets: its words, and the whole
    # sentences that hold them); None in records written before quotes had places
    start: int | None = None
    end: int | None = None
    sentence_start: int | None = None
    sentence_end: int | None = None


class SpanChoice(BaseModel):
    """A debater's chosen passage span (`speech: choose`): what it chose from, how, and with what
    probability, so the choice can be audited and trained on."""

    model_config = ConfigDict(extra="forbid")
    by: str  # "self", "judge" or "blind" (AgentConfig.choose_by)
    spans: list[str]
    scores: list[float]  # one per span; the choice is sampled from softmax(scores / temperature)
    temperature: float
    probs: list[float]
    index: int
    logprob: float  # log probs[index]
    seen: int  # how many earlier turns the speaker read (its prompt can be rebuilt from them)


class Candidate(BaseModel):
    """One of the speeches a best-of-N debater sampled, and how the preference judge rated it."""

    model_config = ConfigDict(extra="forbid")
    text: str
    # the preference judge's probability for the speaker's answer with this speech appended;
    # None when the speech stands for no answer
    score: float | None


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speaker: str  # role in the protocol: "A", "B", "consultant", "judge", ...
    agent: str  # the debater's name in the run config
    side: int | None  # index of the answer argued, None for neutral speakers
    round: int
    text: str  # what the model produced, cut to the speech budget
    shown: str  # what the judge sees: sanitised, quotes marked verified or unverified
    quotes: list[QuoteCheck] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    truncated_from: int | None = None  # the speech's length before the cut to the budget
    choice: SpanChoice | None = None  # set when the speech was built around a chosen span
    # best-of-N: every candidate sampled (in seed order) and the index of the one spoken
    candidates: list[Candidate] = Field(default_factory=list)
    chosen: int | None = None


class ModelCall(BaseModel):
    """One request to a model, as sent and as answered: what a replay, an export or an RL
    trainer needs of an episode. `prompt` is the request's own prompt (chat messages or text);
    `sent` the exact text a local model continued (its chat template applied, the prefill
    appended), empty for an API, which is sent `prompt` as it stands."""

    model_config = ConfigDict(extra="forbid")
    role: str  # who called: a speaker role ("A", "consultant"), "judge", ...
    model: str  # the model spec (`Transcript.models` describes it)
    kind: str  # "generate", "score" or "next_token"
    prompt: list[dict] | str
    prefill: str = ""
    continuation: str = ""  # score: the text whose log-probability was asked
    sent: str = ""
    sampling: Sampling | None = None
    seed: int | None = None
    reply: str = ""  # generate: the text; next_token: empty
    logprob: float | None = None  # score: log p(continuation | prompt)
    top_logprobs: dict[str, float] = Field(default_factory=dict)  # next_token
    # generate, where the backend gives them: the sampled token ids, and each one's
    # log-probability under the distribution it was sampled from (softmax(logits / T))
    token_ids: list[int] | None = None
    token_logprobs: list[float] | None = None


class JudgeView(BaseModel):
    """One reading of the judge: the answers in the order it was shown them (`swapped`: the
    other way round), the speeches in order or last to first (`reversed`), and the text of the
    view it read (several for a judge that reads each quote apart)."""

    model_config = ConfigDict(extra="forbid")
    swapped: bool = False
    reversed: bool = False
    sample: int = 0
    answers: list[str]
    texts: list[str]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    probs: list[float]  # one per answer, sums to 1
    judge: str
    parsed: bool = True  # False when a free-text verdict could not be read
    raw: str = ""  # the judge's free text, where it wrote any
    calls: int = 1  # model calls the verdict took (for compute-matched baselines)
    # with both answer orders judged: probs under each order (in the original answer order)
    order_probs: list[list[float]] = Field(default_factory=list)
    wall_s: float = 0.0
    views: list[JudgeView] = Field(default_factory=list)  # what the judge read, as it read it
    # a panel judge: each member's own verdict (with its views), in the panel's order
    members: list[Verdict] = Field(default_factory=list)

    @property
    def choice(self) -> int | None:
        """The answer picked: the strictly likeliest. None for a tie or an unread verdict, so
        an unparsed verdict is never taken as a pick of the first answer."""
        if not self.parsed or not self.probs:
            return None
        best = max(self.probs)
        top = [i for i, p in enumerate(self.probs) if p == best]
        return top[0] if len(top) == 1 else None


class Provenance(BaseModel):
    """What produced a transcript, so a result can be traced to its exact settings."""

    model_config = ConfigDict(extra="forbid")
    package_version: str
    protocol: dict
    agents: dict[str, dict]  # name -> {"model": spec, "prompt_style": ..., "sampling": {...}}
    judge: dict
    seed: int


class SideChoice(BaseModel):
    """How a debater of open debate or open consultancy came to argue its answer."""

    model_config = ConfigDict(extra="forbid")
    role: str
    side: int
    # "probs": its own likelihood of each answer; "ask": the answer it stated when asked;
    # "remaining": the one answer left by the others' choices
    method: str
    probs: list[float] = Field(default_factory=list)  # "probs": one per answer
    text: str = ""  # "ask": what it said
    # "ask": False when no answer could be read from what it said (the side was then drawn
    # from the match's seed)
    parsed: bool = True


class Transcript(Record):
    match_id: str
    item: Item
    protocol: str
    assignment: dict[str, int]  # speaker role -> answer index it argues
    agents: dict[str, str]  # speaker role -> agent name
    turns: list[Turn] = Field(default_factory=list)
    verdict: Verdict | None = None
    provenance: Provenance
    seed: int
    wall_s: float = 0.0
    error: str = ""  # why the match failed (a model call that failed for good); "" when it ended
    # open protocols: each speaker's choice of answer, in the order made (`assignment` holds
    # the result, so every statistic reads it as it reads assigned sides)
    choices: list[SideChoice] = Field(default_factory=list)
    calls: list[ModelCall] = Field(default_factory=list)  # every model call, in the order made
    models: dict[str, dict] = Field(default_factory=dict)  # spec -> the model's own description

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: object) -> object:
        # `status` (always "done") was written by 0.1; `error` says the same now
        if isinstance(data, dict) and "status" in data:
            data = {k: v for k, v in data.items() if k != "status"}
        return data

    @property
    def judge_correct(self) -> bool:
        return self.verdict is not None and self.verdict.choice == self.item.correct

    @property
    def p_correct(self) -> float:
        return self.verdict.probs[self.item.correct] if self.verdict else float("nan")

    def winner(self) -> str | None:
        """The speaker whose answer the judge favoured, or None without two opposed sides."""
        if self.verdict is None:
            return None
        for role, side in self.assignment.items():
            if side == self.verdict.choice:
                return role
        return None
