"""A passage read once for checking quotes: its words under one normalisation, its sentences
(`debate.segmenter`), which sentence each word is in, and how a run of its words is shown.

One normalisation (`words`) for matching and display: Unicode compatibility forms (NFKC), case,
whitespace, punctuation between words (typographic quotes and dashes included), apostrophes
and hyphens inside a word; a number with separators ("3,000", "1.5", "9:30") is one word, so no
quote can cut a number in two. A typo (`typo_of`) is one edit between words of 5 or more
letters with no digit, never a word of the item itself (see `debate.evidence`).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from debate.segmenter import sentence_spans

WORD_RE = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:['’ʼ\-‐‑][^\W_]+)*")
INNER_MARKS = str.maketrans("", "", "'’ʼ-‐‑")
# the marks around a quoted run inside its sentence; the passage's own are shown as brackets
MARK_OPEN, MARK_CLOSE = "⟦", "⟧"
NO_MARKS = str.maketrans({MARK_OPEN: "[", MARK_CLOSE: "]"})
TYPO_MIN_LETTERS = 5


# -- one normalisation -------------------------------------------------------------------------
@dataclass(frozen=True)
class Word:
    key: str  # what matching compares
    start: int  # where the word is in the text it came from
    end: int


def word_key(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).casefold().translate(INNER_MARKS)


def words(text: str) -> list[Word]:
    """The words of a text, normalised, with their places."""
    return [Word(word_key(m.group()), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def sentences(text: str) -> list[str]:
    """The text's sentences in order (`debate.segmenter`): the one splitter of the harness."""
    return [text[a:b] for a, b in sentence_spans(text)]


def one_edit(a: str, b: str) -> bool:
    """True when b is a, one letter added, dropped, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )  # fmt: skip
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]


def typo_of(said: str, passage_word: str, vocabulary: frozenset[str]) -> bool:
    return (
        said not in vocabulary
        and min(len(said), len(passage_word)) >= TYPO_MIN_LETTERS
        and not any(c.isdigit() for c in said + passage_word)
        and one_edit(said, passage_word)
    )


# -- the passage -------------------------------------------------------------------------------
class Passage:
    """A passage read once: its words, its sentences (character spans) and which sentence each
    word is in, for checking many quotes and showing them. `read_passage` keeps the last few."""

    def __init__(self, text: str):
        self.text = text
        self.spans = sentence_spans(text)
        self.words = words(text)
        ends = [b for _, b in self.spans]
        self.sentence_of = [bisect.bisect_right(ends, w.start) for w in self.words]
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.at: dict[str, list[int]] = {}
        for i, (w, s) in enumerate(zip(self.words, self.sentence_of)):
            self.first.setdefault(s, i)
            self.last[s] = i
            self.at.setdefault(w.key, []).append(i)
        self.vocabulary = frozenset(self.at)
        self.starts = [w.start for w in self.words]

    def find(
        self, quote: list[str], typos_allowed: int, vocabulary: frozenset[str]
    ) -> range | None:
        """The run of passage words the quote matches (word indices), else None: the first that
        is whole sentences, else the first (a quote of a sentence that also stands inside a
        longer one is placed at the sentence itself)."""
        n, pw = len(quote), self.words
        # with no typo forgiven the first word is exact: only its places need trying
        starts = self.at.get(quote[0], []) if typos_allowed == 0 else range(len(pw) - n + 1)
        found = None
        for start in starts:
            if start + n > len(pw):
                break
            typos = 0
            for k, said in enumerate(quote):
                key = pw[start + k].key
                if said != key:
                    typos += 1
                    if typos > typos_allowed or not typo_of(said, key, vocabulary):
                        break
            else:
                run = range(start, start + n)
                if not self.allowed(start, start + n):
                    continue
                if self.whole(run, self.sentence_of[start]) and self.whole(
                    run, self.sentence_of[start + n - 1]
                ):
                    return run
                found = found or run
        return found

    def allowed(self, a: int, b: int) -> bool:
        """Inside one sentence, or whole sentences: a quote never starts in one sentence and
        stops in the middle of another."""
        s, e = self.sentence_of[a], self.sentence_of[b - 1]
        return s == e or (a == self.first[s] and b - 1 == self.last[e])

    def word_range(self, start: int, end: int) -> range:
        """The passage words inside a character span."""
        return range(bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end))

    def sentences_of(self, run: range) -> range:
        """The sentences a run of words touches (indices into `spans`)."""
        return range(self.sentence_of[run[0]], self.sentence_of[run[-1]] + 1)

    def whole(self, run: range, sentence: int) -> bool:
        return run[0] <= self.first[sentence] and self.last[sentence] <= run[-1]

    def chars(self, run: range) -> tuple[int, int]:
        return self.words[run[0]].start, self.words[run[-1]].end

    def shown(self, runs: Iterable[range], sentences: range) -> str:
        """Whole sentences with the quoted runs marked ⟦…⟧ (no mark where a run covers a
        sentence whole), in the passage's own characters, whitespace collapsed."""
        a, b = self.spans[sentences[0]][0], self.spans[sentences[-1]][1]
        cuts = []
        for s in sentences:
            inside = sorted({i for r in runs for i in r if self.sentence_of[i] == s})
            if not inside or self.whole(range(inside[0], inside[-1] + 1), s):
                continue
            for run in _runs(inside):
                cuts += [
                    (self.words[run[0]].start, MARK_OPEN),
                    (self.words[run[-1]].end, MARK_CLOSE),
                ]
        out, pos = [], a
        for at, mark in sorted(cuts):
            out += [self.text[pos:at].translate(NO_MARKS), mark]
            pos = at
        out.append(self.text[pos:b].translate(NO_MARKS))
        return " ".join("".join(out).split())

    def shown_bare(self, run: range) -> str:
        """A run of one sentence's words alone, `…` where the sentence is cut (the option
        `evidence.fragments: bare`, for experiments only)."""
        s = self.sentence_of[run[0]]
        start, end = self.chars(run)
        if run[0] == self.first[s]:  # keep the sentence's opening quote mark or bracket
            start = self.spans[s][0]
        if run[-1] == self.last[self.sentence_of[run[-1]]]:  # keep the closing punctuation
            end = self.spans[self.sentence_of[run[-1]]][1]
        text = " ".join(self.text[start:end].translate(NO_MARKS).split())
        text = text if run[0] == self.first[s] else "…" + text
        return text if run[-1] == self.last[self.sentence_of[run[-1]]] else text + "…"


def _runs(indices: list[int]) -> list[range]:
    """Consecutive word indices grouped into runs."""
    out: list[range] = []
    for i in indices:
        if out and out[-1][-1] == i - 1:
            out[-1] = range(out[-1][0], i + 1)
        else:
            out.append(range(i, i + 1))
    return out


@lru_cache(maxsize=64)
def read_passage(text: str) -> Passage:
    return Passage(text)
