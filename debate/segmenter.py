"""Where a passage's sentences begin and end, as character spans of the passage.

The sentence is the unit the judge reads (`debate.evidence`), so a boundary found where there is
none lets a piece of a sentence pass as a whole one. The segmenter is pysbd, a rule-based port
of the Pragmatic Segmenter built against its "Golden Rules" (abbreviations, initials, numbers,
quotations, lists): pure Python, no model to download, deterministic. Two rules on top of it
only ever join its segments, never split them, because a sentence shown with its neighbour is
safe and a sentence shown in two halves is not:

- a line break is not a sentence end unless the line ends a sentence (pysbd ends a segment at
  every line break, which cuts hard-wrapped prose) or a blank line follows it (a paragraph,
  a heading);
- a lead-in that ends with a colon is one sentence with what it introduces, the items of a list
  included: "None of these is true: 1. ... 2. ..." is read whole;
- a segment does not end a sentence when it ends with an initial or an abbreviation that is
  mostly followed by a name or a number ("Ft. Worth", "Vol. II", "approx. 4"), or when the next
  one goes on in lower case, with a digit or with punctuation ("9 yrs. in Denver"): pysbd's
  list misses some, and a sentence starts with neither.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import pysbd

# a segment that ends like a sentence: terminal punctuation, then closing quotes or brackets
ENDS_SENTENCE_RE = re.compile(r"[.!?…][\"'”’»)\]]*\s*$")
LEAD_IN_RE = re.compile(r":\s*$")
LIST_ITEM_RE = re.compile(r"\s*(?:[-*•–]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s")
PARAGRAPH_END_RE = re.compile(r"\n[ \t]*\n\s*$")
# abbreviations that mostly come before a name or a number, and initials
BEFORE_NAME_RE = re.compile(
    r"(?<![^\W\d_])(?:(?i:mr|mrs|ms|dr|prof|rev|gen|col|lt|sgt|capt|cmdr|gov|sen|rep|pres|st|mt"
    r"|ft|no|nos|vol|ch|art|fig|figs|p|pp|ca|est|approx|vs|cf)|[A-Z])"
    r"\.[\"'”’)\]]*\s*$"
)


_local = threading.local()


def _pysbd() -> pysbd.Segmenter:
    # one per thread: a Segmenter keeps the text it is segmenting on itself, so two runs at
    # once (two `debate.arun` gathered) would mix their passages' sentences
    if not hasattr(_local, "segmenter"):
        _local.segmenter = pysbd.Segmenter(language="en", clean=False)
    return _local.segmenter


def _pieces(text: str) -> list[tuple[int, int]]:
    """pysbd's segments as spans of `text` (whitespace between them goes to the one before)."""
    spans, pos = [], 0
    for seg in _pysbd().segment(text):
        core = seg.strip()
        if not core:
            continue
        at = text.find(core, pos)
        if at < 0:  # pysbd changed the text: nothing below is safe to trust, keep one piece
            return [(0, len(text))]
        if spans:
            spans[-1] = (spans[-1][0], at)
        spans.append((at, at + len(core)))
        pos = at + len(core)
    if spans:
        spans[-1] = (spans[-1][0], len(text))
    return spans


@lru_cache(maxsize=512)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The text's sentences as (start, end) character spans, in order, with no surrounding
    whitespace; between them only whitespace."""
    out: list[tuple[int, int]] = []
    joining = listing = False
    for a, b in _pieces(text):
        piece = text[a:b]
        if out and (joining or (listing and LIST_ITEM_RE.match(piece)) or goes_on(piece)):
            out[-1] = (out[-1][0], b)
        else:
            listing = False
            out.append((a, b))
        listing = listing or bool(LEAD_IN_RE.search(piece))
        joining = not PARAGRAPH_END_RE.search(piece) and (
            not ENDS_SENTENCE_RE.search(piece) or bool(BEFORE_NAME_RE.search(piece))
        )
        joining = joining or bool(LEAD_IN_RE.search(piece))
    return tuple(_trim(text, a, b) for a, b in out if text[a:b].strip())


def goes_on(piece: str) -> bool:
    """Whether a segment starts as no sentence does: lower case, a digit, punctuation."""
    head = piece.lstrip()[:1]
    return bool(head) and (head.islower() or head.isdigit() or head in ",;:)]%")


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    piece = text[a:b]
    return a + len(piece) - len(piece.lstrip()), b - (len(piece) - len(piece.rstrip()))
