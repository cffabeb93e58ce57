"""What every judge shares: the case it decides (`Case`: the item and the speeches it may read,
taken from the record, never from a live match), the view it reads, and the `decide` call that
returns a `Verdict`. Every view a judge builds is kept on its case, so the verdict can record
what the judge read as it read it."""

from __future__ import annotations

import functools
import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from debate.config import ConfigError, JudgeConfig, Strict, one_line, parse_options
from debate.match.prompts import LABELS, render_history
from debate.models import Message
from debate.quoted import quoted
from debate.registry import get, interface, names
from debate.schema import Item, Turn, Verdict


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
    fragments: str = "sentence"  # how a quoted piece is shown (`evidence.fragments`)
    # a re-judged case (`debate rejudge`): the view its first judge read, as recorded; a judge
    # reads it in place of one built from the speeches (labelled or not, as it needs)
    recorded: str | None = None


EVIDENCE_NOTE = (
    "Quotes marked <v_quote> were checked and hold the passage's own sentences (⟦ ⟧ marks the "
    "words quoted, where only part of a sentence was). Quotes marked <u_quote> were not found in the passage and may be "
    "invented."
)
EVIDENCE_HEADER = (
    "Evidence from the passage (the passage's own sentences, one a line; ⟦ ⟧ marks the words "
    "quoted, where only part of a sentence was):"
)


def attributed_evidence(
    turns, answers: list[str], passage: str, fragments: str = "sentence"
) -> str:
    """Each quoted sentence once, under the answers of the sides that quoted from it."""
    by_sides: dict[tuple, list[str]] = {}
    for r in quoted(turns, passage, fragments):
        by_sides.setdefault(tuple(r.sides), []).append(r.text)
    if not by_sides:
        return f"{EVIDENCE_HEADER}\nnone was quoted."
    # each quote on a line of its own, in quotes: never read as one statement with its neighbour
    return "\n".join(f"Evidence from the passage quoted by {quoters(sides, answers)}:\n"
                     + "\n".join(f'"{q}"' for q in qs) for sides, qs in by_sides.items())  # fmt: skip


def quoters(sides: tuple, answers: list[str]) -> str:
    named = [f'"{answers[s]}"' for s in sides if s is not None]
    if not named:
        return "a speaker"
    if len(named) == 1:
        return f"the side arguing {named[0]}"
    return f"the sides arguing {', '.join(named[:-1])} and {named[-1]}"


def judge_view(
    case: Case,
    *,
    labelled: bool,
    reads: str,
    attribute: bool = False,
    evidence: list[str] | None = None,
    fragments: str | None = None,
) -> str:
    """The judge's whole world: question, answers, speeches as shown (never the raw text).
    `evidence` replaces the transcript's verified quotes (a judge that reads them one by one).
    The view is kept on the case (`Case.views`)."""
    item, fragments = case.item, fragments or case.fragments
    if case.recorded is not None and evidence is None:
        view = relabelled(case.recorded, item, labelled)
        case.views.append(view)
        return view
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
        parts.append(attributed_evidence(turns, item.answers, item.context, fragments))
    elif (turns and reads == "evidence") or evidence is not None:
        quotes = verified_quotes(turns, item.context, fragments) if evidence is None else evidence
        lines = "\n".join(f'"{q}"' for q in quotes) or "none was quoted."
        parts.append(f"{EVIDENCE_HEADER}\n{lines}")
    elif turns:
        parts.append(EVIDENCE_NOTE)
        parts.append(render_history(turns, item))
    view = "\n\n".join(parts)
    case.views.append(view)
    return view


def relabelled(view: str, item: Item, labelled: bool) -> str:
    """A recorded view with the answers' labelled list ("A: ...") put in or taken out, as the
    judge reading it needs: the list is the one part a labelled and an unlabelled view of the
    same case differ by (`judge_view`)."""
    block = "\n".join(f"{LABELS[i]}: {a}" for i, a in enumerate(item.answers))
    parts = view.split("\n\n")
    if labelled and block not in parts:
        at = next((k + 1 for k, p in enumerate(parts) if p.startswith("Question: ")), 0)
        parts.insert(at, block)
    elif not labelled and block in parts:
        parts.remove(block)
    return "\n\n".join(parts)


def verified_quotes(turns, passage: str, fragments: str = "sentence") -> list[str]:
    """What the judge reads of every verified quote: each quoted sentence once, in the order
    first quoted, the quoted words marked (`debate.quoted`)."""
    return [r.text for r in quoted(turns, passage, fragments)]


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


@functools.cache
def _models_of(described: str) -> str:
    spec = json.loads(described)
    try:
        models = make_judge(judge_config(spec)).models()
    except ValueError:  # ConfigError, UnknownName: a judge this install cannot make now
        return str(spec.get("model", ""))
    return ", ".join(sorted(models)) or "none"


def judge_models(described: dict) -> str:
    """The models a recorded judge (`Provenance.judge`) called: a panel's members', "none" for
    a judge that calls none (the oracle), never the unused default `model` key."""
    return _models_of(json.dumps(described, sort_keys=True, default=str))


# what a judge named on the command line or in a panel takes from the config around it
READING_KEYS = ("prompt_format", "reads", "attribute", "temperature")


def judge_config(spec: str | dict, base: JudgeConfig | None = None) -> JudgeConfig:
    """A judge named in one string or mapping: `KIND:MODEL` (`letter:smollm2`,
    `verdict:openai/gpt-4o`), a bare `KIND` (the model is smollm2), or a mapping of judge keys
    (`{kind: panel, params: {...}}`). Reading settings it does not give are the base's."""
    inherited = {k: getattr(base, k) for k in READING_KEYS} if base is not None else {}
    if isinstance(spec, dict):
        data = {**inherited, **spec}
    elif isinstance(spec, str) and spec.strip():
        kind, _, model = spec.strip().partition(":")
        data = {**inherited, "kind": kind, **({"model": model} if model else {})}
    else:
        raise ConfigError(f"a judge is KIND:MODEL or a mapping of judge keys, not {spec!r}")
    if data.get("kind", "cloze") not in names("judge"):
        raise ConfigError(
            f"unknown judge kind {data.get('kind')!r} in {spec!r}; choose from: "
            f"{', '.join(names('judge'))}"
        )
    try:
        return JudgeConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"judge {spec!r}: {one_line(e)}") from None
