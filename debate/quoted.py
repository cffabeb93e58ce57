"""What the judge reads of a debate's verified quotes: each quoted sentence once, by place.

Every rule here compares places in the passage, never words: a sentence is read once however
many quotes touch it, in the order first quoted, with every quoted run marked inside it, and
named with every side that quoted from it (so a side that quotes the other's sentence first does
not take it over). A quote of several whole sentences is read sentence by
sentence, so one long quote cannot hold, and so hide, the sentence the other side quoted. Words
that merely repeat elsewhere in the passage never take a quote out of the judge's view.

With `evidence.fragments: bare` the unit is the quoted run itself (cut at sentence ends); a run
that lies inside another one read already adds nothing and is left out, since read alone it
can mislead (a sentence cut just before its answer, "Tomas works as a…", makes "What does Tomas
work as?" likely and answers it with the judge's prior).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from debate.evidence import (
    ELLIPSIS_RE,
    MARK_CLOSE,
    MARK_OPEN,
    Passage,
    check_quote,
    read_passage,
    sanitize,
)
from debate.schema import QuoteCheck


@dataclass
class Read:
    """One unit the judge reads: a sentence (or, bare, a run of words) and who quoted it."""

    sentence: int  # index into the passage's sentences
    sides: list[int | None] = field(default_factory=list)  # who quoted from it, in order
    runs: list[range] = field(default_factory=list)  # the quoted runs of words inside it
    text: str = ""


def located(q: QuoteCheck, p: Passage) -> range | None:
    """A verified quote's passage words. A record written before quotes had places is found
    again from its passage text, which verifies exactly against its own passage."""
    if q.start is not None and q.end is not None:
        run = p.word_range(q.start, q.end)
        return run if len(run) else None
    if not q.verified:
        return None
    text = (q.passage_text or q.text).replace(MARK_OPEN, "").replace(MARK_CLOSE, "")
    check = check_quote(ELLIPSIS_RE.sub(" ", text), p)
    return p.word_range(check.start, check.end) if check.verified else None


def quoted(turns, passage: str, fragments: str = "sentence") -> list[Read]:
    """The units the judge reads, in the order first quoted (see the module doc)."""
    p = read_passage(passage)
    reads: dict[object, Read] = {}
    for t in turns:
        for q in t.quotes:
            run = located(q, p) if q.verified else None
            if run is None:
                continue
            for s in p.sentences_of(run):
                part = range(max(run[0], p.first[s]), min(run[-1], p.last[s]) + 1)
                key = (part[0], part[-1]) if fragments == "bare" else s
                read = reads.setdefault(key, Read(sentence=s))
                read.runs.append(part)
                if t.side not in read.sides:
                    read.sides.append(t.side)
    if fragments == "bare":
        units = list(reads.values())
        kept = [u for u in units if not any(inside(u.runs[0], v.runs[0]) for v in units)]
        for u in units:  # a piece left out was quoted, as part of the run that holds it
            for v in kept:
                if inside(u.runs[0], v.runs[0]):
                    v.sides += [s for s in u.sides if s not in v.sides]
        for u in kept:
            u.text = sanitize(p.shown_bare(u.runs[0]))
        return kept
    for u in reads.values():
        u.text = sanitize(p.shown(u.runs, range(u.sentence, u.sentence + 1)))
    return list(reads.values())


def inside(part: range, whole: range) -> bool:
    """Whether the run `part` lies within `whole` and is not the same run."""
    return whole[0] <= part[0] and part[-1] <= whole[-1] and part != whole
