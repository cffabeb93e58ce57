"""What every judge shares: the case it decides (`Case`: the item and the speeches it may read,
taken from the record, never from a live match), the view it reads, and the `decide` call that
returns a `Verdict`. Every view a judge builds is kept on its case, so the verdict can record
what the judge read as it read it."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from pydantic import BaseModel

from debate.config import JudgeConfig, Strict, parse_options
from debate.evidence import sanitize, sentences
from debate.evidence import words as passage_words
from debate.match.prompts import LABELS, render_history
from debate.models import Message
from debate.registry import get, interface
from debate.schema import Item, QuoteCheck, Turn, Verdict


@dataclass
class Case:
    """What a judge decides: the item (answers in the order the judge is shown them), the
    speeches it may read, whether it reads the passage (the expert baseline), and the seed of a
    judge that samples. `views` gathers every view built for it, as read."""

    item: Item
    turns: list[Turn]
    sees_context: bool = False
    seed: int = 0
    views: list[str] = field(default_factory=list)


EVIDENCE_NOTE = (
    "Quotes marked <v_quote> were checked and hold the passage's own words (… marks where a "
    "sentence goes on). Quotes marked <u_quote> were not found in the passage and may be "
    "invented."
)
EVIDENCE_HEADER = (
    "Evidence from the passage (the passage's own words, one quote a line; … marks where a "
    "sentence goes on):"
)


def attributed_evidence(turns, answers: list[str]) -> str:
    """Each verified quote once, under the answer of the side that first quoted it."""
    by_side: dict[str, list[str]] = {}
    unread = set(verified_quotes(turns))  # each once, fragments of another quote left out
    for t in turns:
        for q in (verified_text(q) for q in t.quotes if q.verified):
            if q not in unread:
                continue
            unread.discard(q)
            who = f'the side arguing "{answers[t.side]}"' if t.side is not None else "a speaker"
            by_side.setdefault(who, []).append(q)
    if not by_side:
        return f"{EVIDENCE_HEADER}\nnone was quoted."
    # each quote on a line of its own, in quotes: never read as one statement with its neighbour
    return "\n".join(f"Evidence from the passage quoted by {who}:\n" + "\n".join(f'"{q}"' for q in qs)
                     for who, qs in by_side.items())  # fmt: skip


def judge_view(
    case: Case,
    *,
    labelled: bool,
    reads: str,
    attribute: bool = False,
    evidence: list[str] | None = None,
) -> str:
    """The judge's whole world: question, answers, speeches as shown (never the raw text).
    `evidence` replaces the transcript's verified quotes (a judge that reads them one by one).
    The view is kept on the case (`Case.views`)."""
    item = case.item
    parts = []
    if case.sees_context:
        parts.append(f"Passage: {item.context}")
    parts.append(f"Question: {item.question}")
    if labelled:
        parts.append("\n".join(f"{LABELS[i]}: {a}" for i, a in enumerate(item.answers)))
    # Unlabelled (cloze) views list no options: a small model scores whichever option it read
    # last as likelier, which measured as chance accuracy even with the deciding sentence shown.
    turns = case.turns
    if turns and reads == "evidence" and attribute and evidence is None:
        parts.append(attributed_evidence(turns, item.answers))
    elif (turns and reads == "evidence") or evidence is not None:
        quotes = verified_quotes(turns) if evidence is None else evidence
        lines = "\n".join(f'"{q}"' for q in quotes) or "none was quoted."
        parts.append(f"{EVIDENCE_HEADER}\n{lines}")
    elif turns:
        parts.append(EVIDENCE_NOTE)
        parts.append(render_history(turns, item))
    view = "\n\n".join(parts)
    case.views.append(view)
    return view


def verified_quotes(turns) -> list[str]:
    """The passage's text of every verified quote, sentence by sentence, each once, in the order
    first quoted. A quote whose words stand, in order, inside another quote is left out: it tells
    the judge nothing that quote does not, and read alone it can mislead (a sentence cut just
    before its answer, "Tomas works as a…", makes "What does Tomas work as?" likely and answers
    it with the judge's prior: the apart judge gave it 0.83 of the weight against the sentence
    it was cut from)."""
    # a quote of several whole sentences is read as those sentences: one long quote must not
    # hold, and so hide, the sentence the other side quoted
    quotes = list(dict.fromkeys(s for t in turns for q in t.quotes if q.verified
                                for s in sentences(verified_text(q))))  # fmt: skip
    words = [[w.key for w in passage_words(q)] for q in quotes]
    return [q for i, q in enumerate(quotes)
            if not any(j != i and inside(words[i], words[j]) and (words[i] != words[j] or j < i)
                       for j in range(len(quotes)))]  # fmt: skip


def inside(part: list[str], whole: list[str]) -> bool:
    """Whether `part` is a run of consecutive words of `whole`."""
    n = len(part)
    return any(whole[k : k + n] == part for k in range(len(whole) - n + 1))


def verified_text(q: QuoteCheck) -> str:
    """The passage's text of a verified quote (records from before it was kept: the quote)."""
    return q.passage_text or " ".join(sanitize(q.text).split())


def softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


class NoOptions(Strict):
    """A judge kind with no options of its own."""


class Judge(ABC):
    options: type[BaseModel] = NoOptions  # its own settings, given as `judge.params`
    # what it reads off its model besides text ('top_logprobs', 'prompt_logprobs'): checked
    # before a run, so a server that gives none fails it at once
    needs: str | None = None

    def __init__(self, cfg: JudgeConfig):
        self.cfg = cfg
        self.opts = parse_options(f"judge {cfg.kind!r}", "judge.params", self.options, cfg.params)

    @property
    def name(self) -> str:
        return f"{self.cfg.kind}:{self.cfg.model}"

    def describe(self) -> dict:
        return self.cfg.model_dump()

    def models(self) -> set[str]:
        """The model specs this judge calls (loaded before a run starts)."""
        return {self.cfg.model}

    def view(self, case: Case, *, labelled: bool) -> str:
        return judge_view(case, labelled=labelled, reads=self.cfg.reads,
                          attribute=self.cfg.attribute)  # fmt: skip

    def as_prompt(self, view: str, instruction: str) -> list[Message] | str:
        if self.cfg.prompt_format == "plain":
            return f"{view}\n\n{instruction}"
        return [Message(role="user", content=f"{view}\n\n{instruction}")]

    @abstractmethod
    async def decide(self, case: Case) -> Verdict: ...


interface("judge", lambda obj: isinstance(obj, type) and issubclass(obj, Judge), "a Judge subclass")


def make_judge(cfg: JudgeConfig) -> Judge:
    return get("judge", cfg.kind)(cfg)
